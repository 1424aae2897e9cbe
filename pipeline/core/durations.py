"""Durations in settings: ``7d``, ``36h``, ``90m``, ``45s``, ``2w`` (or plain seconds).

    >>> seconds("7d"), seconds("36h"), seconds("1.5h"), seconds("90"), seconds("off")
    (604800.0, 129600.0, 5400.0, 90.0, 0.0)
    >>> seconds("soon")
    Traceback (most recent call last):
    ...
    pipeline.core.errors.ConfigError: 'soon' is no duration: use e.g. 7d, 36h, 90m, 45s (or 0/off)
"""

from __future__ import annotations

import re

from pipeline.core.errors import ConfigError

UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
NONE = frozenset({"", "0", "off", "none", "unbounded", "forever"})


def seconds(text: str) -> float:
    """Seconds of a duration; 0.0 for ``0``/``off``/``none`` (no bound)."""
    if text.strip().lower() in NONE:
        return 0.0
    m = DURATION.match(text)
    if not m:
        raise ConfigError(f"{text!r} is no duration: use e.g. 7d, 36h, 90m, 45s (or 0/off)")
    return float(m.group(1)) * UNITS[(m.group(2) or "s").lower()]


def text(value: float) -> str:
    """A duration for people: ``7d``, ``36h``, ``unbounded``.

    >>> text(604800), text(129600), text(0)
    ('7d', '36h', 'unbounded')
    """
    if not value:
        return "unbounded"
    for unit in ("w", "d", "h", "m"):
        if unit != "w" and value % UNITS[unit] == 0:
            return f"{value / UNITS[unit]:g}{unit}"
    return f"{value:g}s"

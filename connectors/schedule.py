"""When a source is polled again, and how long the runner remembers what it sent.

    >>> SeenPolicy().max_age / 86400
    90.0
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SeenPolicy:
    """How long the articles sent are remembered (the ``seen`` table): at most
    ``max_age`` seconds since last sent and ``max_rows`` rows (None: no bound), pruned
    every ``every`` seconds, after a pass."""

    max_age: float | None = 90 * 86400.0
    max_rows: int | None = 2_000_000
    every: float = 600.0


def next_interval(interval: float, *, failures: int, asked: float | None) -> float:
    """Seconds until a source's next pass: its interval, doubled per consecutive failure
    (capped at an hour), or the longer poll interval its feed asks for (ttl, sy:updatePeriod).

    >>> next_interval(300, failures=0, asked=None), next_interval(300, failures=0, asked=1800)
    (300.0, 1800.0)
    >>> next_interval(300, failures=2, asked=1800), next_interval(300, failures=9, asked=None)
    (1200.0, 3600.0)
    """
    if failures:
        return float(min(3600, interval * 2 ** failures))
    return max(float(interval), float(asked or 0))

"""A feed that stopped collecting: no new item for N times its usual gap.

After each pass the runner notes when the source last gave a new item and the gaps
between the passes that gave some (the last 20); the usual gap is their median, known
once there are 3. The source is *stopped* when it has been silent longer than
``max(alarm_gaps * usual gap, alarm_floor, its interval)``::

    sources:
      - name: bbc-world
        type: rss.v1
        url: https://feeds.bbci.co.uk/news/world/rss.xml
        alarm_gaps: 4        # default 4
        alarm_floor: 3600    # seconds; never sooner than this (default 1 h)

    >>> h = Health("feed")
    >>> for t in (0, 600, 1200, 1800):
    ...     note_pass(h, new=2, interval=300, gaps=4, floor=600, now=t)
    >>> h.usual_gap, h.alarm_after, stopped(h, now=1800 + 2400), stopped(h, now=1800 + 2401)
    (600.0, 2400.0, False, True)

The state is kept in the source's health (``newsflow status`` shows it) and published as
``newsflow_source_stopped`` and ``newsflow_source_seconds_since_new_item``.
"""

from __future__ import annotations

import time
from statistics import median

from connectors.state import Health
from pipeline.core import metrics

HISTORY = 20   # gaps kept per source
MIN_GAPS = 3   # gaps needed before the usual gap is known


def note_pass(h: Health, *, new: int, interval: float, gaps: float, floor: float,
              now: float | None = None) -> None:
    """Record a pass of ``h``'s source that gave ``new`` new items; update its alarm."""
    now = time.time() if now is None else now
    if new > 0:
        if h.last_new_at is not None and now > h.last_new_at:
            h.new_gaps = [*h.new_gaps, round(now - h.last_new_at, 1)][-HISTORY:]
        h.last_new_at = now
    h.usual_gap = float(median(h.new_gaps)) if len(h.new_gaps) >= MIN_GAPS else None
    h.alarm_after = (round(max(gaps * h.usual_gap, floor, interval), 1)
                     if h.usual_gap is not None else None)
    publish(h, now=now)


def silent_for(h: Health, *, now: float | None = None) -> float | None:
    """Seconds since the source's last new item (None: it never gave one)."""
    if h.last_new_at is None:
        return None
    return max(0.0, (time.time() if now is None else now) - h.last_new_at)


def stopped(h: Health, *, now: float | None = None) -> bool:
    """Has the source been silent longer than its alarm threshold?"""
    silent = silent_for(h, now=now)
    return silent is not None and h.alarm_after is not None and silent > h.alarm_after


def publish(h: Health, *, now: float | None = None) -> None:
    """Set the source's alarm metrics."""
    silent = silent_for(h, now=now)
    metrics.SOURCE_STOPPED.labels(h.source).set(1 if stopped(h, now=now) else 0)
    if silent is not None:
        metrics.SOURCE_SILENT.labels(h.source).set(round(silent, 1))

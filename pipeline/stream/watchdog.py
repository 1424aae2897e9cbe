"""The stall watchdog: a worker that has work but makes no progress exits, to be restarted.

A Faust consumer can stay stuck after a broker outage: it rejoins the group, seeks to the
committed offsets and then fetches nothing (faust-streaming issues #175 and #523). The
worker looks alive while its partitions fall behind. The watchdog asks the broker, every
``NEWSFLOW_STALL_CHECK`` seconds, how far the worker's partitions are behind what it has
committed; when they are behind and no batch has finished (nor waited on a service, see
:class:`~pipeline.stream.batches.Batches`) for ``NEWSFLOW_STALL_TIMEOUT`` seconds, it
logs why and exits with :data:`STALLED` (75, ``EX_TEMPFAIL``). ``newsflow worker``
restarts a worker that exits so (Docker's ``restart: unless-stopped`` too); the new
process resumes from the committed offsets: nothing is lost (offsets are committed after
the writes) and replays are idempotent.

    >>> clock = Progress(timeout=60.0, now=0.0)
    >>> [clock.stalled(lag=lag, now=t) for lag, t in ((5, 30.0), (5, 61.0), (0, 99.0))]
    [False, True, False]
    >>> clock.made(now=100.0); clock.stalled(lag=5, now=150.0)
    False
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import faust

log = logging.getLogger("newsflow.watchdog")
STALLED = 75  # EX_TEMPFAIL: the supervisor starts the worker again


@dataclass
class Progress:
    """When the worker last made progress, and whether it is stalled."""

    timeout: float
    now: float | None = None  # the start (monotonic clock) when not now

    def __post_init__(self) -> None:
        self.last = time.monotonic() if self.now is None else self.now

    def made(self, *, now: float | None = None) -> None:
        """A batch finished, or a batch is waiting on a service (it is not stuck)."""
        self.last = time.monotonic() if now is None else now

    def stalled(self, *, lag: int, now: float | None = None) -> bool:
        """Behind (``lag`` messages not committed) and no progress for ``timeout`` s.
        Not behind counts as progress: an idle worker is not stalled."""
        now = time.monotonic() if now is None else now
        if lag <= 0:
            self.last = now
            return False
        return now - self.last > self.timeout


def lag_of(ends: Mapping[Any, int], committed: Mapping[Any, int | None]) -> int:
    """Messages behind, summed over partitions: end offset minus committed offset.

    >>> lag_of({"a": 10, "b": 4}, {"a": 7, "b": None})
    7
    """
    return sum(max(0, end - (committed.get(tp) or 0)) for tp, end in ends.items())


async def current_lag(app: faust.App, topics: frozenset[str]) -> int | None:
    """How far the worker's assigned partitions of ``topics`` are behind its commits
    (None: unknown, e.g. the broker is away or nothing is assigned)."""
    consumer = app.consumer
    assigned = sorted(tp for tp in consumer.assignment() if tp.topic in topics)
    if not assigned:
        return None
    try:  # asks the broker, not the fetcher
        ends = await asyncio.wait_for(consumer.highwaters(*assigned), timeout=30)
    except Exception as exc:  # noqa: BLE001 - the broker may be away: no verdict
        log.debug("watchdog: end offsets unavailable (%s)", exc)
        return None
    # Faust's record of the offsets it committed for this worker's partitions
    committed: Mapping[Any, int | None] = getattr(consumer, "_committed_offset", {})
    return lag_of(ends, {tp: committed.get(tp) for tp in assigned})


def add_watchdog(app: faust.App, progress: Progress, *, topics: frozenset[str],
                 every: float) -> None:
    """A Faust timer that exits the worker with :data:`STALLED` when it is stuck."""

    @app.timer(interval=every)
    async def watchdog() -> None:
        lag = await current_lag(app, topics)
        if lag is None or not progress.stalled(lag=lag):
            return
        log.error("worker stalled: %d message(s) behind on its partitions and no batch "
                  "finished for %.0f s; exiting with code %d so that it is restarted "
                  "(NEWSFLOW_STALL_TIMEOUT sets the limit)", lag, progress.timeout, STALLED)
        logging.shutdown()
        os._exit(STALLED)  # no clean shutdown: a stuck consumer may block it; offsets are safe

"""The watchdog: a worker that has work but makes no progress, or that lost its Kafka
broker, exits to be restarted.

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

A broker that crashes may come back without the last messages it had appended: the ones
a consumer may already have read and acknowledged. The new messages then take the same
offsets, and a consumer that goes on from its position skips them (Java clients detect
this through leader epochs, KIP-320; aiokafka does not). So when the worker's group
coordinator is lost (the broker went away), the worker exits at once with
:data:`STALLED`, before it can commit what it read just before the crash; the restarted
worker waits for Kafka and reads again from the last commit.

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


def coordinator_of(app: faust.App) -> int | None:
    """The node id of the worker's group coordinator as aiokafka knows it (None: none)."""
    thread = getattr(app.consumer, "_thread", None)
    consumer = getattr(thread, "_consumer", None)
    coordinator = getattr(consumer, "_coordinator", None)
    node = getattr(coordinator, "coordinator_id", None)
    return node if isinstance(node, int) else None


@dataclass
class BrokerWatch:
    """Whether a coordinator once known has been lost.

    >>> w = BrokerWatch()
    >>> [w.lost(node) for node in (None, 1, 1, None)]
    [False, False, False, True]
    """

    known: bool = False

    def lost(self, node: int | None) -> bool:
        if node is not None:
            self.known = True
            return False
        return self.known


def _exit(message: str, *args: Any) -> None:
    log.error(message, *args)
    logging.shutdown()
    os._exit(STALLED)  # no clean shutdown: no commit, and a stuck consumer may block it


def add_watchdog(app: faust.App, progress: Progress, *, topics: frozenset[str],
                 every: float) -> None:
    """Faust timers that exit the worker with :data:`STALLED` when it is stuck (checked
    every ``every`` s) or lost its broker (checked every second)."""
    broker = BrokerWatch()

    @app.timer(interval=1.0)
    async def broker_watch() -> None:
        if broker.lost(coordinator_of(app)):
            _exit("lost the Kafka broker (group coordinator gone): exiting with code %d "
                  "before committing, to read again from the last commit once it is back "
                  "(a crashed broker may have lost messages this worker already read)",
                  STALLED)

    @app.timer(interval=every)
    async def watchdog() -> None:
        lag = await current_lag(app, topics)
        if lag is None or not progress.stalled(lag=lag):
            return
        _exit("worker stalled: %d message(s) behind on its partitions and no batch "
              "finished for %.0f s; exiting with code %d so that it is restarted "
              "(NEWSFLOW_STALL_TIMEOUT sets the limit)", lag, progress.timeout, STALLED)

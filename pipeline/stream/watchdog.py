"""The watchdog: a worker with a partition that has work but makes no progress, or that
lost its Kafka broker for good, exits to be restarted.

A Faust consumer can stay stuck after a broker outage: it rejoins the group, seeks to the
committed offsets and then fetches nothing (faust-streaming issues #175 and #523). The
worker looks alive while its partitions fall behind. An agent can also be stuck alone
(a setup that can never succeed, a step that never returns) while the other agents move.
So liveness is **per partition**: the watchdog asks the broker, every
``NEWSFLOW_STALL_CHECK`` seconds, how far each of the worker's partitions is behind what
it has committed; when one is behind and has had no progress for
``NEWSFLOW_STALL_TIMEOUT`` seconds, it logs which and exits with :data:`STALLED` (75,
``EX_TEMPFAIL``). ``newsflow worker`` restarts a worker that exits so (Docker's
``restart: unless-stopped`` too); the new process resumes from the committed offsets:
nothing is lost (offsets are committed after the writes) and replays are idempotent.

Progress of a partition (:meth:`Progress.made`) is a batch of it finished, a batch of it
waiting on a service (Kafka or Elasticsearch away is not a stall), a transient wait of
the setup of the agent that reads its topic, or a stage recovering its state for it (a
rebuild reports as it goes, so a long takeover is not killed). A partition's idle time
counts from when the worker got it (:meth:`Progress.on_assigned`), not from its start. A
setup step that fails for any other reason is not progress.

The group coordinator: aiokafka clears the consumer's coordinator id on any coordinator
error, including a routine coordinator move in a cluster. A lost coordinator is a
reason to exit only when it stays lost past the stall timeout (the broker is away for
good, or the consumer will never find it again).

    >>> clock = Progress(timeout=60.0, now=0.0)
    >>> [clock.stalled(lag=lag, now=t) for lag, t in ((5, 30.0), (5, 61.0), (0, 99.0))]
    [False, True, False]
    >>> clock.made(now=100.0); clock.stalled(lag=5, now=150.0)
    False
    >>> clock.made(("t", 0), now=200.0)
    >>> clock.stuck({("t", 0): 3, ("t", 1): 4}, now=230.0)
    [(('t', 1), 4, 130.0)]
    >>> clock.made("t", now=231.0); clock.stuck({("t", 1): 4}, now=240.0)
    []
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


Place = Any  # a partition ((topic, partition), or a faust TP), or a topic name


@dataclass
class Progress:
    """When each partition last made progress, and which are stalled."""

    timeout: float
    now: float | None = None  # the start (monotonic clock) when not now

    def __post_init__(self) -> None:
        self.last = time.monotonic() if self.now is None else self.now  # everywhere
        self.places: dict[Place, float] = {}

    def made(self, *places: Place, now: float | None = None) -> None:
        """Progress of these partitions or topics (none given: of every partition).
        Safe to call from a thread (a rebuild running in an executor)."""
        when = time.monotonic() if now is None else now
        if not places:
            self.last = when
        for place in places:
            self.places[_key(place)] = when

    def on_assigned(self, sender: Any, /, *args: Any, signal: Any = None,
                    **kwargs: Any) -> None:
        """Faust signal receiver (``on_partitions_assigned``): a partition this worker
        just got has been idle since then, not since the worker started (one assigned a
        while after the start, already behind, is not stalled at its first check)."""
        assigned = args[0] if args else kwargs.get("assigned", ())
        self.made(*assigned)

    def idle(self, place: Place, now: float) -> float:
        """Seconds since the partition (or its topic, or everything) made progress."""
        tp = _key(place)
        seen = max(self.places.get(tp, self.last), self.places.get((tp[0], None), self.last),
                   self.last)
        return now - seen

    def stuck(self, lags: Mapping[Place, int], now: float | None = None
              ) -> list[tuple[Place, int, float]]:
        """The partitions behind (lag > 0) with no progress for ``timeout`` s, with their
        lag and idle seconds. A partition not behind counts as progress."""
        now = time.monotonic() if now is None else now
        out = []
        for place, lag in lags.items():
            if lag <= 0:
                self.made(place, now=now)
            elif (idle := self.idle(place, now)) > self.timeout:
                out.append((_key(place), lag, idle))
        return out

    def stalled(self, *, lag: int, now: float | None = None) -> bool:
        """Behind (``lag`` messages not committed, all partitions together) and no
        progress anywhere for ``timeout`` s. Not behind counts as progress."""
        now = time.monotonic() if now is None else now
        if lag <= 0:
            self.last = now
            return False
        return now - max([self.last, *self.places.values()]) > self.timeout


def _key(place: Place) -> Any:
    if isinstance(place, str):
        return (place, None)
    return (place[0], place[1])


def lag_of(ends: Mapping[Any, int], committed: Mapping[Any, int | None]) -> int:
    """Messages behind, summed over partitions: end offset minus committed offset.

    >>> lag_of({"a": 10, "b": 4}, {"a": 7, "b": None})
    7
    """
    return sum(max(0, end - (committed.get(tp) or 0)) for tp, end in ends.items())


async def current_lags(app: faust.App, topics: frozenset[str]) -> dict[Any, int] | None:
    """How far each of the worker's assigned partitions of ``topics`` is behind its
    commits (None: unknown, e.g. the broker is away or nothing is assigned)."""
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
    return {tp: max(0, end - (committed.get(tp) or 0)) for tp, end in ends.items()}


async def current_lag(app: faust.App, topics: frozenset[str]) -> int | None:
    """The lags of :func:`current_lags`, summed."""
    lags = await current_lags(app, topics)
    return None if lags is None else sum(lags.values())


def coordinator_of(app: faust.App) -> int | None:
    """The node id of the worker's group coordinator as aiokafka knows it (None: none)."""
    thread = getattr(app.consumer, "_thread", None)
    consumer = getattr(thread, "_consumer", None)
    coordinator = getattr(consumer, "_coordinator", None)
    node = getattr(coordinator, "coordinator_id", None)
    return node if isinstance(node, int) else None


@dataclass
class BrokerWatch:
    """Whether a coordinator once known has stayed lost for longer than ``grace`` s.

    >>> w = BrokerWatch(grace=30.0)
    >>> [w.lost(node, now=t) for node, t in ((None, 0), (1, 1), (None, 2), (None, 31),
    ...                                      (2, 33), (None, 40), (None, 71))]
    [False, False, False, False, False, False, True]
    """

    grace: float = 0.0
    known: bool = False
    since: float | None = None  # when the coordinator was last seen lost

    def lost(self, node: int | None, *, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if node is not None:
            self.known, self.since = True, None
            return False
        if not self.known:
            return False
        if self.since is None:
            self.since = now
        return now - self.since >= self.grace


def _exit(message: str, *args: Any) -> None:
    log.error(message, *args)
    logging.shutdown()
    os._exit(STALLED)  # no clean shutdown: no commit, and a stuck consumer may block it


def add_watchdog(app: faust.App, progress: Progress, *, topics: frozenset[str],
                 every: float) -> None:
    """Faust timers that exit the worker with :data:`STALLED` when one of its partitions
    is stuck (checked every ``every`` s) or it lost its broker for longer than the stall
    timeout (checked every second)."""
    broker = BrokerWatch(grace=progress.timeout)

    @app.timer(interval=1.0)
    async def broker_watch() -> None:
        if broker.lost(coordinator_of(app)):
            _exit("lost the Kafka broker (no group coordinator for %.0f s): exiting with "
                  "code %d before committing, to read again from the last commit once it "
                  "is back", progress.timeout, STALLED)

    @app.timer(interval=every)
    async def watchdog() -> None:
        lags = await current_lags(app, topics)
        if lags is None:
            return
        stuck = progress.stuck(lags)
        if not stuck:
            return
        where = ", ".join(f"{tp[0]}[{tp[1]}] {lag} behind, idle {idle:.0f} s"
                          for tp, lag, idle in stuck)
        _exit("worker stalled: %s (no batch finished nor waited on a service for more "
              "than %.0f s); exiting with code %d so that it is restarted "
              "(NEWSFLOW_STALL_TIMEOUT sets the limit)", where, progress.timeout, STALLED)

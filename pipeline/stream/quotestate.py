"""The quote groups' state at a glance, and its retention: the gauges of the ``group``
agent, the report ``newsflow status`` shows, and the deletion of groups whose last report
is older than ``NEWSFLOW_QUOTES_RETENTION`` (event time).

The durable state is the quote groups' index itself (one document per group, with its
``last_event``: the event time of its latest report, epoch milliseconds); the hot state
is what the agent holds in memory (:class:`~pipeline.group.window.HotWindow`). After each
batch the agent calls :meth:`QuoteUpkeep.after_batch`: the hot gauges are set from memory
(no request), the durable ones from one count-and-aggregation query every
``count_every`` seconds, and every ``prune_every`` quotes the groups older than the
retention are deleted (a scan and versioned bulk deletes, like the story state's prune)::

    >>> from pipeline.core.settings import Settings
    >>> keep = QuoteUpkeep(Settings.from_env({"NEWSFLOW_QUOTES_RETENTION": "365d"}))
    >>> keep.cutoff(clock=400 * 86400.0) / 86400, keep.cutoff(clock=float("-inf"))
    (35.0, None)

A deleted group is forgotten by memory too; a quote of its words arriving later founds
a new group. Documents without ``last_event`` (an earlier form) are never deleted.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from elasticsearch import Elasticsearch, helpers
from prometheus_client import Counter, Gauge

from pipeline.core.durations import text as duration
from pipeline.core.settings import Settings
from pipeline.group.quotes import MemoryStore
from pipeline.group.window import HotWindow
from pipeline.index.mapping import client
from pipeline.stream.watchdog import Progress

log = logging.getLogger("newsflow.worker")

HOT_GROUPS = Gauge("newsflow_quote_hot_groups", "Quote groups held in memory (hot window)")
HOT_BYTES = Gauge("newsflow_quote_hot_bytes", "Approximate bytes of the quote groups held "
                  "in memory (reports held x HOT_BYTES_PER_REPORT)")
DURABLE = Gauge("newsflow_quote_durable_groups", "Quote groups in the durable state (the "
                "quote groups' index)")
OLDEST = Gauge("newsflow_quote_oldest_event_seconds", "Event time (epoch s) of the latest "
               "report of the least recently reported group in memory")
DURABLE_AGE = Gauge("newsflow_quote_durable_age_seconds", "Event time between the newest "
                    "report seen and the oldest group's last report in the durable state "
                    "(bounded by NEWSFLOW_QUOTES_RETENTION)")
PRUNED = Counter("newsflow_quote_groups_pruned_total", "Quote groups deleted: last report "
                 "older than NEWSFLOW_QUOTES_RETENTION")
COLD_LOOKUPS = Counter("newsflow_quote_cold_lookups_total", "Batches of quotes and their "
                       "lookup of cold groups in the index: looked_up, or skipped (the index "
                       "held no group memory did not)", ["outcome"])
HOT_BYTES_PER_REPORT = 4600  # RSS per report held (bench/results/takeover.json: 1,206 MiB
# for 140,001 hot groups of ~2 reports each)
GROUPS: dict[str, Any] = {"exists": {"field": "group"}}


class GroupStage(Protocol):
    """What the upkeep reads of the ``group`` agent's stage
    (:class:`pipeline.stream.quotes.GroupStage`)."""

    settings: Settings
    store: MemoryStore
    window: HotWindow | None
    progress: Progress | None


class Summary(NamedTuple):
    """The durable quote groups at a glance (event times in epoch seconds)."""

    groups: int
    oldest: float | None  # the oldest group's last report
    newest: float | None  # the newest report


def summary(settings: Settings, es: Elasticsearch | None = None, *,
            refresh: bool = False) -> Summary | None:
    """Groups in the index and the span of their ``last_event`` (None: no index)."""
    own = es is None
    es = es or client(settings)
    alias = settings.quotes_index_alias
    try:
        if not es.indices.exists(index=alias):
            return None
        if refresh:
            es.indices.refresh(index=alias)
        resp = es.search(index=alias, size=0, track_total_hits=True, query=GROUPS,
                         aggs={"oldest": {"min": {"field": "last_event"}},
                               "newest": {"max": {"field": "last_event"}}})
    finally:
        if own:
            es.close()
    aggs = resp["aggregations"]

    def sec(v: float | None) -> float | None:
        return None if v is None else float(v) / 1000.0

    return Summary(int(resp["hits"]["total"]["value"]), sec(aggs["oldest"]["value"]),
                   sec(aggs["newest"]["value"]))


def prune_groups(settings: Settings, *, before: float, es: Elasticsearch | None = None,
                 tick: Callable[[], None] | None = None) -> list[str]:
    """Delete the groups whose last report is of event time before ``before`` (epoch s);
    the ids deleted. Each delete carries the group's stored ``seq`` (``external_gte``): a
    group written again since the scan is kept, and a later write of it (a higher seq)
    is accepted. ``tick`` is called every 2,000 deletes (a long pass is progress)."""
    own = es is None
    es = es or client(settings)
    alias = settings.quotes_index_alias
    try:
        if not es.indices.exists(index=alias):
            return []
        es.indices.refresh(index=alias)
        old = {"range": {"last_event": {"lt": int(before * 1000), "format": "epoch_millis"}}}
        hits = helpers.scan(es, index=alias, size=2000, _source=["seq"],
                            query={"query": {"bool": {"filter": [GROUPS, old]}}})
        actions = ({"_op_type": "delete", "_index": alias, "_id": h["_id"],
                    "version": int(h["_source"].get("seq") or 0),
                    "version_type": "external_gte"} for h in hits)
        gone: list[str] = []
        for n, (ok, item) in enumerate(helpers.streaming_bulk(
                es, actions, chunk_size=2000, raise_on_error=False, raise_on_exception=True)):
            if ok:
                gone.append(item["delete"]["_id"])
            if tick is not None and n % 2000 == 0:
                tick()
        if gone:
            es.indices.refresh(index=alias)
        return gone
    finally:
        if own:
            es.close()


@dataclass
class QuoteUpkeep:
    """The ``group`` agent's gauges and retention (see the module doc)."""

    settings: Settings
    prune_every: int = 10_000  # quotes between two retention passes
    count_every: float = 30.0  # seconds between two durable counts
    durable: int | None = None  # groups in the index, as last counted
    oldest_durable: float | None = None
    _since_prune: int = 0
    _counted: float = field(default=-math.inf)

    def cutoff(self, *, clock: float) -> float | None:
        """Groups last reported before this event time are past the retention."""
        keep = self.settings.quotes_retention
        return clock - keep if keep and math.isfinite(clock) else None

    def after_batch(self, stage: GroupStage, quotes: int) -> None:
        """After a batch was written: retention when due, then the gauges (blocking: the
        agent runs it in a thread). Never raises: a failed pass is logged and tried again
        at the next batch. A stage whose state was not loaded from the index (no window)
        asks the index nothing."""
        window = stage.window
        self._since_prune += quotes
        before = self.cutoff(clock=window.high) if window is not None else None
        if before is not None and self._since_prune >= self.prune_every:
            try:
                self.prune(stage, before=before)
                self._since_prune = 0
            except Exception as exc:  # noqa: BLE001 - retention waits for the next batch
                log.warning("quote groups: the retention pass failed (tried again): %s", exc)
        if window is not None and time.monotonic() - self._counted >= self.count_every:
            self.count()
        self.gauges(stage)

    def prune(self, stage: GroupStage, *, before: float) -> int:
        """Delete the groups past the retention, in the index and in memory; how many."""
        progress, topic = stage.progress, stage.settings.quotes_topic
        gone = prune_groups(self.settings, before=before,
                            tick=None if progress is None else lambda: progress.made(topic))
        if gone and stage.window is not None:
            stage.window.evict(gone)
            for gid in gone:
                stage.window.forget(gid)
        if gone:
            PRUNED.inc(len(gone))
            log.info("quote groups: %d groups older than the retention (%s) deleted",
                     len(gone), duration(self.settings.quotes_retention))
            self._counted = -math.inf  # count again now
        return len(gone)

    def count(self) -> None:
        """The durable size and age, from the index (one query)."""
        self._counted = time.monotonic()
        try:
            found = summary(self.settings)
        except Exception as exc:  # noqa: BLE001 - a gauge never stops the stage
            log.warning("quote groups: the durable count failed: %s", exc)
            return
        if found is not None:
            self.durable, self.oldest_durable = found.groups, found.oldest

    def gauges(self, stage: GroupStage) -> None:
        """Set the gauges from memory and the last count."""
        HOT_GROUPS.set(len(stage.store))
        HOT_BYTES.set(hot_bytes(stage))
        window = stage.window
        oldest = window.oldest() if window is not None else None
        if oldest is not None:
            OLDEST.set(oldest)
        if self.durable is not None:
            DURABLE.set(self.durable)
        if self.oldest_durable is not None and window is not None \
                and math.isfinite(window.high):
            DURABLE_AGE.set(max(0.0, window.high - self.oldest_durable))


def hot_bytes(stage: GroupStage) -> int:
    """Approximate bytes of the groups in memory: the reports they hold, times
    :data:`HOT_BYTES_PER_REPORT` (a group keeps at most its first and latest members)."""
    return len(stage.store._quotes) * HOT_BYTES_PER_REPORT


def report(settings: Settings) -> dict[str, Any]:
    """The quote groups' state for ``newsflow status``: durable groups, the event-time span
    of their last reports and its age, the hot window a worker keeps of it (groups and
    approximate bytes), and the retention."""
    es = client(settings)
    try:
        s = summary(settings, es, refresh=True)
        if s is None:
            return {"index": settings.quotes_index_alias, "exists": False}
        window = settings.hot_window
        hot, reports = s.groups, None
        if s.newest is not None:
            query: dict[str, Any] = GROUPS
            if window:
                query = {"bool": {"filter": [GROUPS, {"range": {"last_event": {
                    "gte": int((s.newest - window) * 1000), "format": "epoch_millis"}}}]}}
            resp = es.search(index=settings.quotes_index_alias, size=0, query=query,
                             track_total_hits=True, aggs={"r": {"sum": {"field": "reports"}}})
            hot, reports = int(resp["hits"]["total"]["value"]), resp["aggregations"]["r"]["value"]
    finally:
        es.close()
    age = s.newest - s.oldest if s.newest is not None and s.oldest is not None else None
    return {"index": settings.quotes_index_alias, "exists": True, "durable_groups": s.groups,
            "oldest_event": _when(s.oldest), "newest_event": _when(s.newest),
            "age_seconds": age, "age": None if age is None else _span(age),
            "hot_window": duration(window), "retention": duration(settings.quotes_retention),
            "hot_groups": hot, "hot_bytes_estimate": int(reports or 0) * HOT_BYTES_PER_REPORT}


def _when(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat()


def _span(seconds: float) -> str:
    """``12.5d``, ``3.0h``, ``40s``: an age for people."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"

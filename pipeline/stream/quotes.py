"""The batch steps of the ``quotes`` and ``group`` agents.

* ``quotes`` (enriched topic, like ``index``): one :class:`~pipeline.core.contracts.Quote`
  per attribution of each article, produced to the quotes topic, offsets acknowledged after
  delivery. A message ``index`` cannot decode is dead-lettered there, not twice.
* ``group`` (quotes topic, ONE partition, concurrency 1): every quote is grouped in topic
  order, whichever worker owns the partition, so one worker or several give the same
  groups. The grouping state lives in Elasticsearch, in the quote groups' index itself:
  each group document carries the members and variants it is rebuilt from. After a batch
  the groups it changed are written whole, at external version ``seq`` (quotes topic
  offset + 1 of the last quote that changed the group), groups merged away are deleted,
  and only then are the offsets acknowledged.

  The in-memory state (groups + LSH) is trusted only while the batches follow one another
  (a batch's first offset is the previous batch's last + 1). On the first batch, and after
  anything else (a restart, a rebalance that moved the partition away and back, a replay),
  the state is reloaded from the index before grouping (:meth:`GroupStage.reload`: the
  fields the groups are rebuilt from, their LSH from the rows each document stores).
  Because grouping is deterministic and a quote already seen returns its group, a replay
  from the last acknowledged offset rebuilds exactly the state a run without the
  interruption would have had; a stale worker's late write of an older state is refused
  by the version check.

  Memory holds the groups of the hot window (``NEWSFLOW_HOT_WINDOW``, event time;
  :mod:`pipeline.group.window`): after a successful write the groups that fell out of it
  are let go, and before a batch is grouped the cold groups its quotes may join are read
  back from the index (one multi-search on their LSH band keys). A group Elasticsearch
  rejects dead-letters the quotes of the batch that went to it, alone; the state is then
  reloaded. A reload reports progress to the watchdog as it goes.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import faust
from elasticsearch import Elasticsearch
from faust.types import EventT

from pipeline.core import metrics
from pipeline.core.contracts import EnrichedArticle, Quote
from pipeline.core.errors import ContractError
from pipeline.core.settings import Settings
from pipeline.group.bounded import QuoteGroup
from pipeline.group.quotes import (
    KEYS_HEADER,
    PARAMS,
    MemoryStore,
    QuoteGroups,
    QuoteKeys,
    quote_keys,
)
from pipeline.group.records import quotes_of
from pipeline.group.window import HotWindow, epoch, event_time, unpack_rows
from pipeline.index.mapping import client
from pipeline.index.quotes_mapping import (
    REBUILD_SOURCE,
    QuoteIndexWriter,
    find_cold,
    load_groups,
)
from pipeline.index.readiness import quotes_ready
from pipeline.stream.batches import Batches
from pipeline.stream.failures import too_large
from pipeline.stream.quotestate import COLD_LOOKUPS, QuoteUpkeep, summary
from pipeline.stream.timing import timed
from pipeline.stream.watchdog import Progress

log = logging.getLogger("newsflow.worker")


async def produce_quotes(batches: Batches, topic: faust.TopicT, events: list[EventT]) -> None:
    """Quote records of a batch of enriched articles, delivered before the acks (a retry
    sends only those of the articles not yet delivered)."""
    events = batches.pending(events)
    metrics.MESSAGES_IN.labels("quotes").inc(len(events))
    loop = asyncio.get_running_loop()
    with timed("work"):  # off the event loop: decoding, records, their keys
        made = await loop.run_in_executor(None, lambda: [records(e.value) for e in events])
    sent: list[tuple[EventT, str, list[Awaitable[Any]]]] = []
    for event, out in zip(events, made, strict=True):
        if out is None:
            batches.finish(event)  # the index agent dead-letters it
            continue
        article_id, messages = out
        futures = [await topic.send(key=article_id.encode(), value=value,
                                    headers=[(KEYS_HEADER, keys)])
                   for value, keys in messages]
        sent.append((event, article_id, futures))
    failed: BaseException | None = None
    for event, article_id, futures in sent:
        try:
            for fut in futures:
                await fut
        except Exception as exc:  # noqa: BLE001 - sorted: too large, or raised below
            if too_large(exc):
                await batches.dead_letter("quotes", exc, event, article_id)
            else:
                failed = failed or exc
            continue
        batches.finish(event)
        metrics.MESSAGES_OUT.labels("quotes").inc(len(futures))
    if failed is not None:
        raise failed


def records(value: bytes) -> tuple[str, list[tuple[bytes, bytes]]] | None:
    """An enriched article's id and its quotes as messages (value, keys header), or
    None for a value that is not an enriched article.

        >>> records(b"not json") is None
        True
    """
    try:
        article = EnrichedArticle.from_bytes(value)
    except ContractError:
        return None
    return article.id, [(q.to_bytes(), quote_keys(q.content).encode())
                        for q in quotes_of(article)]


@dataclass
class GroupStage:
    """The ``group`` agent's state: the groups in memory, backed by the quotes index."""

    settings: Settings
    store: MemoryStore = field(default_factory=MemoryStore)
    groups: QuoteGroups | None = None
    next_offset: int | None = None  # the offset that must come next for the state to hold
    progress: Progress | None = None  # told as a rebuild goes
    window: HotWindow | None = None  # which groups memory holds (NEWSFLOW_HOT_WINDOW)
    evicted: int = 0  # groups let go since the index was last refreshed
    cold: bool = True  # the index may hold groups memory does not (else no lookup)
    upkeep: QuoteUpkeep | None = None  # gauges and retention (pipeline/stream/quotestate.py)
    _writer: QuoteIndexWriter | None = None
    _es: Elasticsearch | None = None
    _docs: dict[str, QuoteGroup] = field(default_factory=dict)  # written at the batch's end
    _removed: dict[str, int] = field(default_factory=dict)
    resume: tuple[int, int | None] = (0, None)  # the partition and offset a reload is for

    def writer(self) -> QuoteIndexWriter:
        if self._writer is None:
            self._writer = QuoteIndexWriter(self.settings)
        return self._writer

    async def close(self) -> None:
        """Close the writer's and the cold lookups' clients (the worker's shutdown)."""
        writer, es, self._writer, self._es = self._writer, self._es, None, None
        if es is not None:
            es.close()
        if writer is not None:
            await writer.close()

    async def ready(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, quotes_ready, self.settings)

    def reload(self) -> QuoteGroups:
        """Rebuild the state from the index: the groups of the hot window, their LSH from
        the rows stored with them (:func:`~pipeline.group.window.unpack_rows`; computed
        for a document without). Progress is reported as it goes (a takeover of a big
        state is recovery, not a stall). Logs ``recovering group partition P (committed
        C)`` and, once done, ``recovered group partition P in S s``."""
        t0 = time.perf_counter()
        partition, offset = self.resume
        log.info("recovering group partition %d (committed %s): loading the quote groups "
                 "of the hot window from %s", partition, offset,
                 self.settings.quotes_index_alias)
        topic, p = self.settings.quotes_topic, PARAMS
        store = MemoryStore()
        groups = QuoteGroups(store, p)
        window = HotWindow(groups, seconds=self.settings.hot_window)
        # before the scan: what it may leave out (without a window, it leaves out nothing)
        found = summary(self.settings, refresh=True) if window.seconds > 0 else None
        stored = found.groups if found is not None else 0
        with paused_gc():  # millions of new objects, no garbage: no collection passes
            for n, doc in enumerate(load_groups(self.settings, window=self.settings.hot_window,
                                                source=REBUILD_SOURCE)):
                if self.progress is not None and n % 1000 == 0:
                    self.progress.made(topic)
                group = QuoteGroup.from_doc(doc)
                store.adopt(group)
                groups.seq = max(groups.seq, group.seq)
                groups.index_rows(group, unpack_rows(doc, p))
                if doc.get("last_event") is not None:
                    window.touch(group.id, epoch(doc["last_event"]))
        if self.progress is not None:
            self.progress.made(topic)
        log.info("recovered group partition %d in %.1f s: %d quote groups reloaded from %s",
                 partition, time.perf_counter() - t0, len(store),
                 self.settings.quotes_index_alias)
        self.store, self.groups, self.window = store, groups, window
        self.cold = stored > len(store)
        return groups

    def apply(self, quotes: list[tuple[int, Quote]],
              keys: dict[int, QuoteKeys] | None = None) -> None:
        """Group the quotes (offset, quote) of a batch in memory (a thread: the event loop
        keeps heart-beating); what to write is then in :meth:`pending`."""
        groups = self.groups if self.groups is not None else self.reload()
        window = self.window or HotWindow(groups, seconds=0)
        self._bring_back(window, [q for _, q in quotes],
                         [(keys or {}).get(offset) for offset, _ in quotes])
        for offset, quote in quotes:
            gid = groups.add(quote, seq=offset + 1, keys=(keys or {}).get(offset))
            window.touch(gid, event_time(quote))
            group = self.store.get(gid)
            if group is not None:  # also on a retry, when nothing is dirty any more
                self._docs[gid] = group
        changed, removed = self.store.take_changes()
        for group in changed:
            self._docs[group.id] = group
        for gid in removed:
            self._removed[gid] = groups.seq
            self._docs.pop(gid, None)
            window.forget(gid)

    def pending(self) -> tuple[list[dict[str, Any]], list[tuple[str, int]]]:
        """The documents to write (oldest group first) and the merged-away groups to delete
        (id, seq) since the last :meth:`written`."""
        docs = [self.document(g) for g in sorted(self._docs.values(), key=lambda g: g.founded)]
        return docs, sorted(self._removed.items())

    def written(self, *, ok: bool = True) -> None:
        """After the write of :meth:`pending`: forget it, and (``ok``: it succeeded) let go
        of the groups that left the hot window."""
        if ok:
            self.evict()
        self._docs.clear()
        self._removed.clear()

    def _bring_back(self, window: HotWindow, quotes: list[Quote],
                    keys: list[QuoteKeys | None]) -> None:
        """The cold groups (out of the hot window, in the index only) the batch's quotes
        may join, read back into memory first. No lookup while the index holds no group
        memory does not (nothing evicted, nothing left out by the last reload)."""
        if window.seconds <= 0 or not quotes or window.high == float("-inf"):
            return
        if not self.cold:
            COLD_LOOKUPS.labels("skipped").inc()
            return
        COLD_LOOKUPS.labels("looked_up").inc()
        if self.evicted:  # their last writes must be searchable
            self.search_client().indices.refresh(index=self.settings.quotes_index_alias)
            self.evicted = 0
        docs = find_cold(self.settings, window.query_terms(quotes, keys),
                         before=window.cutoff(), es=self.search_client())
        n = window.bring_back(docs)
        if n:
            log.info("quote groups: %d cold groups read back for a batch", n)

    def document(self, group: QuoteGroup) -> dict[str, Any]:
        """The group's document, with its band keys, latest event time and LSH rows."""
        doc = group.to_doc()
        if self.window is not None:
            doc["bands"] = self.window.band_terms(group)
            doc["state"]["lsh"] = self.window.packed_rows(group)
            when = self.window.last.get(group.id)
            if when is not None:
                doc["last_event"] = int(when * 1000)
        return doc

    def evict(self) -> None:
        """After a successful write: let go of the groups that left the hot window."""
        if self.window is not None and self.window.seconds > 0:
            n = self.window.evict(self.window.expired())
            self.evicted += n
            self.cold = self.cold or n > 0

    def search_client(self) -> Elasticsearch:
        """The client cold lookups share (made on first use)."""
        if self._es is None:
            self._es = client(self.settings)
        return self._es

    async def handle(self, batches: Batches, events: list[EventT]) -> None:
        """Group a batch of quote messages and write the groups it changed."""
        metrics.MESSAGES_IN.labels("group").inc(len(events))
        first = events[0].message.offset
        if first != self.next_offset:
            self.groups = None  # reloaded in apply, from what the index holds now
            self.resume = (events[0].message.partition, first)
            self._docs.clear()
            self._removed.clear()
        # a retry decodes only what is not finished: poison is dead-lettered once
        good = await batches.decode(batches.pending(events), Quote.from_bytes)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.apply,
                                   [(ev.message.offset, q) for ev, q in good],
                                   {ev.message.offset: k for ev, _ in good
                                    if (k := keys_of(ev)) is not None})
        with timed("write"):
            rejected = await self.writer().write(*self.pending())
        if rejected:
            await self._rejected(batches, good, dict(rejected))
        self.written(ok=not rejected)
        self.next_offset = events[-1].message.offset + 1
        if self.groups is None:  # a group was rejected: the next batch reloads
            self.resume = (events[-1].message.partition, self.next_offset)
        for event in events:
            batches.finish(event)
        metrics.MESSAGES_OUT.labels("group").inc(len(good))
        if self.upkeep is None:
            self.upkeep = QuoteUpkeep(self.settings)
        await loop.run_in_executor(None, self.upkeep.after_batch, self, len(good))


    async def _rejected(self, batches: Batches, good: list[tuple[EventT, Quote]],
                        rejected: dict[str, Exception]) -> None:
        """Dead-letter the quotes of this batch that went to a group Elasticsearch
        rejected (that group alone: the other groups are written); the state is then
        reloaded from the index before the next batch, so memory holds what is stored."""
        for event, quote in good:
            gid = self.store.group_of(quote.id)
            if gid in rejected:
                await batches.dead_letter("group", rejected[gid], event, quote.article.id)
        log.error("quote groups rejected by Elasticsearch: %s",
                  "; ".join(f"{g}: {str(e)[:300]}" for g, e in rejected.items()))
        self.groups = None


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside (a rebuild allocates millions of objects that
    all stay alive; each collection pass would scan them again). Reference counting
    still frees everything; the collector's earlier state is restored after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def keys_of(event: EventT) -> QuoteKeys | None:
    """The quote's keys computed by the quotes agent (its header), if it has them."""
    headers: Any = getattr(event.message, "headers", None) or ()
    pairs = headers.items() if isinstance(headers, dict) else headers
    for name, value in pairs:
        if name == KEYS_HEADER and isinstance(value, bytes):
            return QuoteKeys.decode(value)
    return None


def add_quote_agents(app: faust.App, settings: Settings, batches: Batches,
                     topic: dict[str, faust.TopicT]) -> GroupStage:
    """The ``quotes`` agent (enriched -> quotes topic, beside ``index`` on the enriched
    topic: an offset is committed once both acknowledged it) and the ``group`` agent
    (quotes topic -> quote groups in Elasticsearch)."""
    stage = GroupStage(settings)
    quotes_topic = topic[settings.quotes_topic]
    enriched = app.topic(settings.enriched_topic, value_type=bytes, key_type=bytes,
                         partitions=settings.topic_partitions(settings.enriched_topic))

    @app.agent(enriched, concurrency=1, name="quotes")
    async def quotes(stream: faust.StreamT) -> None:
        await batches.consume("quotes", stream, 256,
                              lambda events: produce_quotes(batches, quotes_topic, events),
                              within=settings.quote_batch_within)

    @app.agent(quotes_topic, concurrency=1, name="group")
    async def group(stream: faust.StreamT) -> None:
        stage.progress = batches.progress
        await batches.until_ready("group", stage.ready, places=[settings.quotes_topic])
        await batches.consume("group", stream, 256,
                              lambda events: stage.handle(batches, events),
                              within=settings.quote_batch_within)

    return stage

"""Story assignment in the stream: one order for every article, state that survives kill -9.

::

    raw.v1 (N partitions) --funnel--> stories.v1 (1 partition) --stories--> assigned.v1
                                                                          (N, key = story)
    assigned.v1 --enrich (copies derived from their original)--> enriched.v1 --index--> ES

* ``funnel`` (every worker, the raw topic's N partitions) computes what the decision
  needs that is a pure function of the article (its signature and the wire its text
  credits: :class:`~pipeline.group.prepared.Prepared`) and forwards the raw message, its
  value unchanged, to the one-partition ``stories`` topic with that as a binary header
  (``newsflow-sig``; left out when it would push the message over the topic's size
  limit). A message that is no ``RawArticle`` is dead-lettered there, from the raw topic.
  One partition means one consumer of the group at a time and one order: two worker
  processes assign the same stories as one, and a copy never races its original.
* ``stories`` (on whichever worker holds that partition) places each article in the
  in-memory :class:`~pipeline.group.copies.StoryIndex` (with the header's signature when
  it is there and of this version, else computed here: the same assignment either way),
  writes the entries to Elasticsearch (``<alias>-stories``, one document per article),
  then produces an :class:`~pipeline.core.contracts.AssignedArticle` per article, keyed
  by story (the raw message's bytes spliced in, not re-serialized), and only then
  acknowledges. The serial part is a lookup (about a millisecond); the signatures and
  enrichment stay parallel, and a copy lands on its original's partition, after it, so
  the enrich agent that derives it holds the original.
* The state is in Elasticsearch rather than a Faust table: writes are acknowledged before
  the offsets (a bulk call we await, no changelog flushed behind our back), the state is
  readable by anyone (``GET <alias>-stories/_doc/<id>``), and the worker keeps only the
  compact index in memory (a memory-store table would hold every record twice). When the
  worker gets the partition (start, rebalance, after a kill -9) it compares its index with
  the state (count, last sequence number) and rebuilds the index from it when they differ.
  A replayed article finds its stored entry and gets the same assignment: idempotent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import faust
from faust.types import EventT
from prometheus_client import Counter, Gauge

from pipeline.core import metrics
from pipeline.core.contracts import AssignedArticle, RawArticle
from pipeline.core.durations import text as duration
from pipeline.core.settings import MAX_MESSAGE_BYTES, Settings
from pipeline.group.copies import StoryIndex
from pipeline.group.durable import PRUNE_EVERY, retention_cutoff
from pipeline.group.prepared import HEADER, Prepared, encode, from_headers
from pipeline.group.signature import Assignment
from pipeline.stream.batches import Batches
from pipeline.stream.bounds import HEADROOM, Incoming
from pipeline.stream.storystate import STATE_MAPPING, StateLost, StoryState
from pipeline.stream.timing import observe, timed

__all__ = ["STATE_MAPPING", "StateLost", "Stories", "StoryState", "add_stories",
           "assigned_bytes", "header_of"]

log = logging.getLogger("newsflow.worker")
ASSIGNED = Counter("newsflow_stories_assigned_total", "Articles assigned to a story",
                   ["kind"])
INDEXED = Gauge("newsflow_story_index_articles", "Articles in the in-memory story index")
HOT_BYTES = Gauge("newsflow_story_hot_bytes", "Approximate bytes of the story index's hot "
                  "window")
DURABLE = Gauge("newsflow_story_durable_articles", "Articles in the durable story state")
OLDEST = Gauge("newsflow_story_oldest_event_seconds", "Event time (epoch s) of the oldest "
               "article in the hot window")
COLD_HITS = Counter("newsflow_story_cold_hits_total", "Copies whose original was found in "
                    "the durable state, out of the hot window")
PREPARED = Counter("newsflow_story_prepared_total", "Articles the stories agent placed "
                   "with the funnel's signature header (used) or computed itself",
                   ["header"])


def _value(event: EventT) -> bytes:
    value = event.message.value
    return value if isinstance(value, bytes) else bytes(value or b"")


def header_of(raw: RawArticle, value: bytes) -> list[tuple[str, bytes]] | None:
    """The funnel's headers for a raw message: its :class:`Prepared` signature, or None
    when the header would push the message past the topic's size limit."""
    data = encode(Prepared.of(raw), value)
    if len(value) + len(data) + HEADROOM > MAX_MESSAGE_BYTES:
        return None
    return [(HEADER, data)]


def assigned_bytes(value: bytes, raw: RawArticle, a: Assignment) -> bytes:
    """The :class:`AssignedArticle` message of an article: the raw message's bytes (valid
    ``RawArticle`` JSON) spliced in as ``article``, not parsed and written again::

        >>> raw = RawArticle.new(url="https://example.org/a", text="Hi.", title="A",
        ...                      provenance={"connector": "t", "source": "t"})
        >>> a = Assignment(id=raw.id, story=raw.id)
        >>> back = AssignedArticle.from_bytes(assigned_bytes(raw.to_bytes(), raw, a))
        >>> back == AssignedArticle(article=raw, story=raw.id)
        True
    """
    body = value.strip()
    if not (body.startswith(b"{") and body.endswith(b"}")):  # not plain JSON: write it
        return AssignedArticle(article=raw, story=a.story, copy_of=a.copy_of,
                               similarity=a.similarity, wire=a.wire).to_bytes()
    tail = json.dumps({"story": a.story, "copy_of": a.copy_of, "similarity": a.similarity,
                       "wire": a.wire}, ensure_ascii=False, separators=(",", ":"))
    return b'{"schema_version":1,"article":' + body + b"," + tail[1:].encode("utf-8")

@dataclass
class Stories:
    """The batch steps of the ``funnel`` and ``stories`` agents (on :class:`Batches`'
    retries, dead letters and finished-message bookkeeping)."""

    settings: Settings
    batches: Batches
    stories: faust.TopicT
    assigned: faust.TopicT
    state: StoryState
    index: StoryIndex = field(default=None)  # type: ignore[assignment]  # None: fresh()
    stale: bool = True  # compare with the state before the next batch

    def __post_init__(self) -> None:
        if self.index is None:
            self.index = self.fresh()
        self.offset: int | None = None  # the input offset the in-memory index reflects
        self.durable = 0
        self._since_prune = 0

    def fresh(self) -> StoryIndex:
        """An empty index with the configured hot window, backed by the durable state."""
        return StoryIndex(window=self.settings.hot_window or None, durable=self.state)

    def on_assigned(self, sender: Any, /, *args: Any, signal: Any = None,
                    **kwargs: Any) -> None:
        """Faust signal: partitions (re)assigned; the index may be behind the state."""
        assigned = args[0] if args else kwargs.get("assigned", ())
        if any(tp.topic == self.settings.stories_topic for tp in assigned):
            self.stale = True

    def recover(self, next_offset: int | None = None, *, partition: int = 0) -> str:
        """Make the in-memory index reflect the durable state, and check that state
        against ``next_offset`` (the first input offset to process: the committed one).

        A state whose watermark is behind it (deleted, emptied, older) raises
        :class:`StateLost`; otherwise the hot window is loaded when the index differs.
        Logs ``recovering stories partition P (watermark W, committed C)`` and, once done,
        ``recovered stories partition P in S s: ...``; the rebuild reports progress to
        the watchdog as it reads (a long takeover is recovery, not a stall)."""
        t0 = time.perf_counter()
        self._made()
        self.state.ensure()
        mark = self.state.watermark()
        stored = None if mark is None else int(mark["offset"])
        log.info("recovering stories partition %d (watermark %s, committed %s)", partition,
                 stored, next_offset)
        message = self._recover(next_offset, mark, stored)
        self._made()  # the rebuild's last step (the LSH of the last chunk) included
        log.info("recovered stories partition %d in %.1f s: %s", partition,
                 time.perf_counter() - t0, message)
        return message

    def _made(self) -> None:
        """Progress of the stories topic, for the watchdog (also from a thread)."""
        progress = getattr(self.batches, "progress", None)
        if progress is not None:
            progress.made(self.settings.stories_topic)

    def _reporting(self, records: Iterator[dict[str, Any]], *, every: int = 1000
                   ) -> Iterator[dict[str, Any]]:
        for n, record in enumerate(records):
            if n % every == 0:
                self._made()
            yield record
        self._made()

    def _recover(self, next_offset: int | None, mark: dict[str, Any] | None,
                 stored: int | None) -> str:
        summary = self.state.summary()
        self.durable = summary.records
        DURABLE.set(summary.records)
        if next_offset is not None and next_offset > 0:
            if stored is None and summary.records == 0:
                raise StateLost(
                    f"story state {self.state.name} is empty but the stories topic was "
                    f"consumed up to offset {next_offset}: the state was deleted. Restore it, "
                    f"or replay the stories topic from its start (reset the consumer group's "
                    f"offsets) to rebuild it", retry_after=30.0)
            if stored is not None and stored < next_offset - 1:
                raise StateLost(
                    f"story state {self.state.name} reflects the input up to offset {stored}, "
                    f"but the stories topic was consumed up to {next_offset}: "
                    f"{next_offset - 1 - stored} message(s) of state are missing (an older or "
                    f"partly deleted state). Restore it, or replay the stories topic from "
                    f"offset {stored + 1}", retry_after=30.0)
        if stored is not None and stored == self.offset \
                and summary.last_seq == self.index.next_seq - 1:
            return (f"story index up to date (watermark offset {stored}, "
                    f"{len(self.index)} hot of {summary.records} stored articles)")
        t0 = time.perf_counter()
        index = self.fresh()
        clock = mark.get("clock") if mark else None
        if clock is None:
            clock = summary.newest
        since = index.hot.start(clock - (self.settings.hot_window or math.inf)) \
            if clock is not None else -math.inf
        index.restore(self._reporting(self.state.load(since=since)), since=since)
        index.next_seq = max(index.next_seq, summary.last_seq + 1)
        if clock is not None:
            index.hot.clock = max(index.hot.clock, float(clock))
        self.index, self.offset = index, stored
        self._gauges()
        return (f"story index rebuilt from {len(index)} stored articles of the hot window "
                f"({duration(self.settings.hot_window)}; {summary.records} stored in all, "
                f"watermark offset {stored}) in {time.perf_counter() - t0:.1f}s")

    def _gauges(self) -> None:
        INDEXED.set(len(self.index))
        HOT_BYTES.set(self.index.nbytes())
        DURABLE.set(self.durable)
        oldest = self.index.hot.oldest()
        if oldest is not None:
            OLDEST.set(oldest)

    def _prune(self) -> None:
        """Drop durable records older than the retention (every PRUNE_EVERY articles)."""
        keep = self.settings.stories_retention
        cutoff = retention_cutoff(clock=self.index.hot.clock, keep=keep)
        if cutoff is None or self._since_prune < PRUNE_EVERY:
            return
        self._since_prune = 0
        gone = self.state.prune(before=cutoff)
        if gone:
            self.durable = max(0, self.durable - gone)
            log.info("story state: %d records older than the retention (%s) deleted", gone,
                     duration(keep))

    async def funnel(self, events: list[EventT]) -> None:
        """Forward raw messages, their values unchanged, to the one-partition stories
        topic with their signature header (:func:`header_of`); poison is dead-lettered
        here, with the raw topic's coordinates, and goes no further."""
        loop = asyncio.get_running_loop()
        events = self.batches.pending(events)
        metrics.MESSAGES_IN.labels("funnel").inc(len(events))
        good = await self.batches.decode(events, RawArticle.from_bytes)
        with timed("work"):
            headers = await loop.run_in_executor(None, lambda: [
                header_of(raw, _value(e)) for e, raw in good])
        t0 = time.perf_counter()
        futures = [(e, await self.stories.send(key=e.message.key, value=e.message.value,
                                               headers=h))
                   for (e, _), h in zip(good, headers, strict=True)]
        for event, fut in futures:
            await fut  # delivered before the raw offsets are acknowledged
            self.batches.finish(event)
        observe("produce", time.perf_counter() - t0)
        metrics.MESSAGES_OUT.labels("funnel").inc(len(futures))

    async def assign(self, events: list[EventT]) -> None:
        """Place each article (staged), write the state and its watermark, keep the
        entries in memory, produce the assignments (in that order)."""
        loop = asyncio.get_running_loop()
        events = self.batches.pending(events)
        if not events:
            return
        if self.stale:
            first = min(events, key=lambda e: e.message.offset).message
            await loop.run_in_executor(None, lambda: self.recover(
                first.offset, partition=first.partition))
            self.stale = False
        metrics.MESSAGES_IN.labels("stories").inc(len(events))
        good = await self.batches.decode(events, RawArticle.from_bytes)
        # A replay (offsets committed behind the state's watermark) never moves it back.
        last = max([e.message.offset for e in events]
                   + ([] if self.offset is None else [self.offset]))
        self.index.begin()
        try:
            with timed("work"):
                placed, records = await loop.run_in_executor(None, self._place, good)
            with timed("write"):
                rejected = dict(await self.state.write_async(
                    records, offset=last, clock=self.index.hot.clock))
        except BaseException:
            self.index.rollback()  # memory changes only after the durable write
            if not await self._alias_there():
                self.stale = True  # the state was deleted: recover() says so, loudly
            raise
        hits = self.index.cold_hits
        self.index.commit(drop=rejected)
        self.offset = last
        self.durable += len(records) - len(rejected)
        self._since_prune += len(records)
        COLD_HITS.inc(self.index.cold_hits - hits)
        t0 = time.perf_counter()
        sent: list[tuple[EventT, Incoming, Any]] = []
        for (event, raw), item in zip(good, placed, strict=True):
            if raw.id in rejected:  # its record alone was refused: it alone is lost here
                await self.batches.dead_letter("stories", rejected[raw.id], event, raw.id)
                continue
            value = assigned_bytes(_value(event), raw, item)
            sent.append((event, raw, await self.assigned.send(key=item.story.encode(),
                                                              value=value)))
            ASSIGNED.labels("copy" if item.copy_of else "original").inc()
        await self.batches._delivered("stories", sent)
        observe("produce", time.perf_counter() - t0)
        self._gauges()
        await loop.run_in_executor(None, self._prune)

    async def _alias_there(self) -> bool:
        try:
            return await self.state.alias_exists()
        except Exception:  # noqa: BLE001 - Elasticsearch away: not known to be deleted
            return True

    def _place(self, good: Sequence[tuple[EventT, RawArticle]]
               ) -> tuple[list[Assignment], list[dict[str, Any]]]:
        out, records = [], []
        for event, raw in good:
            prepared = from_headers(event.message.headers, _value(event))
            PREPARED.labels("used" if prepared is not None else "computed").inc()
            out.append(self.index.place(raw, prepared))
            if raw.id in self.index:
                records.append(self.index.record(raw.id))
        return out, records


def add_stories(app: faust.App, settings: Settings, batches: Batches,
                topic: dict[str, faust.TopicT]) -> Stories:
    """The ``funnel`` and ``stories`` agents on ``app`` (``topic``: the app's topics by
    name); the ``enrich`` agent then reads ``stories.assigned`` (:mod:`pipeline.stream.app`)."""
    raw, one = topic[settings.raw_topic], topic[settings.stories_topic]
    assigned = topic[settings.assigned_topic]
    stories = Stories(settings=settings, batches=batches, stories=one, assigned=assigned,
                      state=StoryState(settings))
    app.on_partitions_assigned.connect(stories.on_assigned)

    @app.agent(raw, name="funnel", concurrency=1)
    async def funnel(stream: faust.StreamT) -> None:
        await batches.consume("funnel", stream, settings.batch_size, stories.funnel)

    @app.agent(one, name="stories", concurrency=1)
    async def assign(stream: faust.StreamT) -> None:
        await batches.consume("stories", stream, max(settings.batch_size, 64), stories.assign)

    return stories

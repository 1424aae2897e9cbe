"""Story assignment in the stream: one order for every article, state that survives kill -9.

::

    raw.v1 (N partitions) --funnel--> stories.v1 (1 partition) --stories--> assigned.v1
                                                                          (N, key = story)
    assigned.v1 --enrich (copies derived from their original)--> enriched.v1 --index--> ES

* ``funnel`` forwards raw messages, as they are, to the one-partition ``stories`` topic
  (a message that is no ``RawArticle`` is dead-lettered there, from the raw topic).
  One partition means one consumer of the group at a time and one order: two worker
  processes assign the same stories as one, and a copy never races its original.
* ``stories`` (on whichever worker holds that partition) places each article in the
  in-memory :class:`~pipeline.group.copies.StoryIndex`, writes the entries to
  Elasticsearch (``<alias>-stories``, one document per article), then produces an
  :class:`~pipeline.core.contracts.AssignedArticle` per article, keyed by story, and only
  then acknowledges. Assignment is cheap (milliseconds); enrichment stays parallel over the
  assigned topic's partitions, and a copy lands on its original's partition, after it, so
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
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import faust
from elasticsearch import Elasticsearch, helpers
from faust.types import EventT
from prometheus_client import Counter, Gauge

from pipeline.core import metrics
from pipeline.core.contracts import AssignedArticle, RawArticle
from pipeline.core.settings import Settings
from pipeline.group.copies import StoryIndex
from pipeline.index.mapping import client
from pipeline.stream.batches import Batches, Incoming

log = logging.getLogger("newsflow.worker")
ASSIGNED = Counter("newsflow_stories_assigned_total", "Articles assigned to a story",
                   ["kind"])
INDEXED = Gauge("newsflow_story_index_articles", "Articles in the in-memory story index")

STATE_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"}, "seq": {"type": "long"}, "story": {"type": "keyword"},
        "copy_of": {"type": "keyword"}, "similarity": {"type": "float"},
        "wire": {"type": "keyword"}, "size": {"type": "integer"}, "mod": {"type": "integer"},
        "sample": {"type": "binary"}, "whole": {"type": "binary"}, "lede": {"type": "binary"},
        "names": {"type": "binary"}, "numbers": {"type": "binary"},
        "key_mod": {"type": "integer"},
    },
}


@dataclass
class StoryState:
    """The story index's durable state: one Elasticsearch document per article."""

    settings: Settings
    es: Elasticsearch | None = None

    def client(self) -> Elasticsearch:
        if self.es is None:
            self.es = client(self.settings)
        return self.es

    @property
    def name(self) -> str:
        return self.settings.story_state_index

    def ensure(self) -> None:
        """Create the state index, or add the fields a newer version records."""
        es = self.client()
        if es.indices.exists(index=self.name):
            es.indices.put_mapping(index=self.name, properties=STATE_MAPPING["properties"])
        else:
            try:
                es.indices.create(index=self.name, mappings=STATE_MAPPING, settings={
                    "number_of_shards": 1, "number_of_replicas": 0})
            except Exception as exc:  # another worker created it first: fine
                if "resource_already_exists" not in str(exc):
                    raise

    def write(self, records: list[dict[str, Any]]) -> None:
        """Index the records; raise unless Elasticsearch took every one."""
        if not records:
            return
        actions = ({"_index": self.name, "_id": r["id"], "_source": r} for r in records)
        _, errors = helpers.bulk(self.client(), actions, raise_on_error=False,
                                 refresh=False, chunk_size=500)
        if errors:
            raise RuntimeError(f"story state: record(s) not written: {str(errors)[:300]}")

    def summary(self) -> tuple[int, int]:
        """(records, highest sequence number or -1), after a refresh."""
        es = self.client()
        es.indices.refresh(index=self.name)
        resp = es.search(index=self.name, size=0, track_total_hits=True,
                         aggs={"last": {"max": {"field": "seq"}}})
        last = resp["aggregations"]["last"]["value"]
        return int(resp["hits"]["total"]["value"]), -1 if last is None else int(last)

    def load(self) -> Iterator[dict[str, Any]]:
        return (hit["_source"] for hit in helpers.scan(self.client(), index=self.name,
                                                       size=2000))


@dataclass
class Stories:
    """The batch steps of the ``funnel`` and ``stories`` agents (on :class:`Batches`'
    retries, dead letters and finished-message bookkeeping)."""

    settings: Settings
    batches: Batches
    stories: faust.TopicT
    assigned: faust.TopicT
    state: StoryState
    index: StoryIndex = field(default_factory=StoryIndex)
    stale: bool = True  # compare with the state before the next batch

    def on_assigned(self, sender: Any, /, *args: Any, signal: Any = None,
                    **kwargs: Any) -> None:
        """Faust signal: partitions (re)assigned; the index may be behind the state."""
        assigned = args[0] if args else kwargs.get("assigned", ())
        if any(tp.topic == self.settings.stories_topic for tp in assigned):
            self.stale = True

    def recover(self) -> str:
        """Make the in-memory index equal to the state (rebuilt when they differ)."""
        self.state.ensure()
        count, last = self.state.summary()
        if count == len(self.index) and last == self.index.next_seq - 1:
            return f"story index up to date ({count} articles)"
        t0 = time.perf_counter()
        index = StoryIndex()
        index.restore(self.state.load())
        self.index = index
        INDEXED.set(len(index))
        return (f"story index rebuilt from {len(index)} stored articles in "
                f"{time.perf_counter() - t0:.1f}s")

    async def funnel(self, events: list[EventT]) -> None:
        """Forward raw messages, unchanged, to the one-partition stories topic; poison is
        dead-lettered here, with the raw topic's coordinates, and goes no further."""
        events = self.batches.pending(events)
        metrics.MESSAGES_IN.labels("funnel").inc(len(events))
        good = await self.batches.decode(events, RawArticle.from_bytes)
        futures = [(e, await self.stories.send(key=e.message.key, value=e.message.value))
                   for e, _ in good]
        for event, fut in futures:
            await fut  # delivered before the raw offsets are acknowledged
            self.batches.finish(event)
        metrics.MESSAGES_OUT.labels("funnel").inc(len(futures))

    async def assign(self, events: list[EventT]) -> None:
        """Place each article, write the state, produce the assignments (in that order)."""
        loop = asyncio.get_running_loop()
        if self.stale:
            log.info(await loop.run_in_executor(None, self.recover))
            self.stale = False
        events = self.batches.pending(events)
        metrics.MESSAGES_IN.labels("stories").inc(len(events))
        good = await self.batches.decode(events, RawArticle.from_bytes)
        placed = await loop.run_in_executor(None, self._place, [raw for _, raw in good])
        records = [self.index.record(raw.id) for _, raw in good]
        await loop.run_in_executor(None, self.state.write, records)
        sent: list[tuple[EventT, Incoming, Any]] = []
        for (event, _), item in zip(good, placed, strict=True):
            sent.append((event, item, await self.assigned.send(key=item.story.encode(),
                                                               value=item.to_bytes())))
            ASSIGNED.labels("copy" if item.copy_of else "original").inc()
        await self.batches._delivered("stories", sent)
        INDEXED.set(len(self.index))

    def _place(self, raws: list[RawArticle]) -> list[AssignedArticle]:
        out = []
        for raw in raws:
            a = self.index.place(raw)
            out.append(AssignedArticle(article=raw, story=a.story, copy_of=a.copy_of,
                                       similarity=a.similarity, wire=a.wire))
        return out


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

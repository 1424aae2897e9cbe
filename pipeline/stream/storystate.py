"""The story index's durable state in Elasticsearch: one document per article, and a
watermark.

Each record (:func:`pipeline.group.signature.record_of`) keeps what the index needs to
compare an article again, its event time (``event``) and its LSH band keys as keyword
terms (``bands``), so an article out of the hot window is still found by a ``terms``
query (:meth:`StoryState.candidates`). The document ``~watermark`` holds the input offset
the state reflects (the last stories-topic offset of the last batch written) and the
index's event clock; it is written in the same bulk request as the batch's records, after
them, and says on takeover whether the state is the one the committed offset expects.

The state is an alias (``<alias>-stories``) over a versioned index (``-v1``), written
by the shared :class:`~pipeline.index.bulk.BulkWriter` with ``require_alias`` and the one
failure classifier of every writer: a write that Elasticsearch refuses for a reason of
its own (429 or a write block such as the disk flood stage, 401/403, 404 alias gone,
408, 5xx, unreachable) raises :class:`~pipeline.core.errors.Backpressure` (the batch
waits and retries, nothing is dead-lettered); a record rejected for itself is returned,
for its article alone to be dead-lettered. A state index of an earlier version (a plain
index with the alias's name) is moved behind the alias on :meth:`StoryState.ensure`.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import AsyncElasticsearch, Elasticsearch, helpers

from pipeline.core.errors import Backpressure, IndexingError
from pipeline.core.replication import index_replica_settings
from pipeline.core.settings import Settings
from pipeline.index.bulk import BulkWriter, Op
from pipeline.index.indexer import async_client
from pipeline.index.mapping import claim_alias, client
from pipeline.index.readiness import missing_fields, ready_or_setup

log = logging.getLogger("newsflow.worker")

WATERMARK = "~watermark"
HOT_BYTES_PER_ARTICLE = 6000  # RSS per hot article (bench/results/story_soak.json)
RECORDS: dict[str, Any] = {"exists": {"field": "seq"}}
STATE_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"}, "seq": {"type": "long"}, "story": {"type": "keyword"},
        "copy_of": {"type": "keyword"}, "similarity": {"type": "float"},
        "wire": {"type": "keyword"}, "size": {"type": "integer"}, "mod": {"type": "integer"},
        "sample": {"type": "binary"}, "whole": {"type": "binary"}, "lede": {"type": "binary"},
        "names": {"type": "binary"}, "numbers": {"type": "binary"},
        "key_mod": {"type": "integer"}, "event": {"type": "double"},
        "bands": {"type": "keyword"}, "offset": {"type": "long"}, "clock": {"type": "double"},
    },
}


class StateLost(Backpressure):
    """The durable state is behind the input the consumer acknowledged (deleted,
    emptied, or older): the stage waits, loudly, instead of accepting it."""


class Summary(NamedTuple):
    """The durable state at a glance."""

    records: int
    last_seq: int  # -1 when empty
    oldest: float | None  # event times
    newest: float | None


@dataclass
class StoryState:
    """The story index's durable state (see the module doc)."""

    settings: Settings
    es: Elasticsearch | None = None
    dirty: bool = False  # written since the last refresh (a lookup refreshes first)
    aes: AsyncElasticsearch | None = None  # the writer's client (in the agent's loop)
    item_retries: int = 2  # a document's own retries before Backpressure: the stage's
    # batch loop then waits with its own backoff, and tells the watchdog it waits

    def client(self) -> Elasticsearch:
        if self.es is None:
            self.es = client(self.settings)
        return self.es

    async def close(self) -> None:
        """Close both clients (the worker's shutdown); a later use makes new ones."""
        es, aes, self.es, self.aes = self.es, self.aes, None, None
        if es is not None:
            es.close()
        if aes is not None:
            await aes.close()

    @property
    def name(self) -> str:
        """The alias every read and write goes through."""
        return self.settings.story_state_index

    @property
    def backing(self) -> str:
        """The index behind the alias."""
        return f"{self.name}-v1"

    def ensure(self) -> None:
        """The worker's check: the state alias with every field this version records
        (only reads when ``newsflow setup`` made it; else said, and created)."""
        es = self.client()
        if es.indices.exists_alias(name=self.name):
            fields = missing_fields(es, self.name, STATE_MAPPING["properties"])
            missing = [f"fields {', '.join(fields)} in its mapping"] if fields else []
        elif es.indices.exists(index=self.name):
            missing = [f"the alias {self.name} (a plain index of an earlier version has "
                       f"the name)"]
        else:
            missing = [f"index {self.name}"]
        ready_or_setup(f"the story state index {self.name}", missing, create=self.create)

    def create(self) -> None:
        """Create the state index and its alias, or add the fields a newer version
        records; a plain index of an earlier version is moved behind the alias (setup)."""
        es = self.client()
        if es.indices.exists_alias(name=self.name):
            es.indices.put_mapping(index=self.name, properties=STATE_MAPPING["properties"])
            return
        try:
            es.indices.create(index=self.backing, mappings=STATE_MAPPING, settings={
                "number_of_shards": 1, **index_replica_settings(self.settings.index_replicas)})
        except Exception as exc:  # another worker created it first: fine
            if "resource_already_exists" not in str(exc):
                raise
        if es.indices.exists(index=self.name):
            log.warning("story state: moving the plain index %s behind the alias (into %s)",
                        self.name, self.backing)
        claim_alias(es, self.name, self.backing, repair=True)
        es.indices.put_alias(index=self.backing, name=self.name, is_write_index=True)

    def drop(self) -> None:
        """Delete the state (the indices behind the alias, or a plain one of its name)."""
        es = self.client()
        if es.indices.exists_alias(name=self.name):
            for index in es.indices.get_alias(name=self.name):
                es.indices.delete(index=index, ignore_unavailable=True)
        es.indices.delete(index=self.name, ignore_unavailable=True)

    def writer(self) -> BulkWriter:
        if self.aes is None:
            self.aes = async_client(self.settings)
        return BulkWriter(self.aes, max_bytes=self.settings.max_bulk_bytes,
                          max_item_retries=self.item_retries)

    def ops(self, records: list[dict[str, Any]], *, offset: int | None = None,
            clock: float | None = None) -> list[Op]:
        """The records, then the watermark (``offset``, ``clock``), as bulk ops."""
        ops = [Op.index(self.name, r["id"], r, ref=r["id"]) for r in records]
        if offset is not None:
            ops.append(Op.index(self.name, WATERMARK, {
                "id": WATERMARK, "offset": offset,
                "clock": clock if clock is not None and math.isfinite(clock) else None},
                ref=WATERMARK))
        return ops

    async def write_async(self, records: list[dict[str, Any]], *, offset: int | None = None,
                          clock: float | None = None) -> list[tuple[str, IndexingError]]:
        """Index the records, then the watermark, in one bulk request; return the ids of
        the records Elasticsearch rejected for themselves, with why. Raises
        :class:`Backpressure` when it refuses for its own reasons, and
        :class:`IndexingError` when the watermark itself is rejected."""
        ops = self.ops(records, offset=offset, clock=clock)
        if not ops:
            return []
        self.dirty = True
        rejected = await self.writer().write(ops)
        for ref, error in rejected:
            if ref == WATERMARK:
                raise IndexingError(f"story state: the watermark was not written: {error}")
        return rejected

    async def alias_exists(self) -> bool:
        """Whether the alias is there (a failed write asks: deleted state?)."""
        if self.aes is None:
            self.aes = async_client(self.settings)
        return bool(await self.aes.indices.exists_alias(name=self.name))

    def write(self, records: list[dict[str, Any]], *, offset: int | None = None,
              clock: float | None = None) -> list[tuple[str, IndexingError]]:
        """:meth:`write_async` for callers without an event loop (tools, tests)."""
        async def run() -> list[tuple[str, IndexingError]]:
            self.aes = async_client(self.settings)
            try:
                return await self.write_async(records, offset=offset, clock=clock)
            finally:
                await self.aes.close()
                self.aes = None

        return asyncio.run(run())

    def watermark(self) -> dict[str, Any] | None:
        """The stored watermark ({"offset", "clock"}) or None."""
        resp = self.client().options(ignore_status=404).get(index=self.name, id=WATERMARK)
        return dict(resp["_source"]) if resp.get("found") else None

    def summary(self) -> Summary:
        """Records, highest sequence number, oldest and newest event time (refreshed)."""
        es = self.client()
        es.indices.refresh(index=self.name)
        resp = es.search(index=self.name, size=0, track_total_hits=True, query=RECORDS,
                         aggs={"last": {"max": {"field": "seq"}},
                               "oldest": {"min": {"field": "event"}},
                               "newest": {"max": {"field": "event"}}})
        aggs = resp["aggregations"]
        last = aggs["last"]["value"]
        return Summary(int(resp["hits"]["total"]["value"]),
                       -1 if last is None else int(last), aggs["oldest"]["value"],
                       aggs["newest"]["value"])

    def load(self, *, since: float = -math.inf) -> Iterator[dict[str, Any]]:
        """The records of event time ``since`` on (records without one included)."""
        query: dict[str, Any] = RECORDS
        if since > -math.inf:
            query = {"bool": {"filter": [RECORDS], "should": [
                {"range": {"event": {"gte": since}}},
                {"bool": {"must_not": {"exists": {"field": "event"}}}}],
                "minimum_should_match": 1}}
        return (hit["_source"] for hit in helpers.scan(self.client(), index=self.name,
                                                       query={"query": query}, size=2000))

    def candidates(self, terms: list[str], *, before: float, size: int
                   ) -> list[dict[str, Any]]:
        """Records sharing a band term with event time before ``before``, earliest seq
        first (the durable side of the story index's lookup)."""
        try:
            if self.dirty:  # a fast backfill evicts what it wrote a moment ago
                self.client().indices.refresh(index=self.name)
                self.dirty = False
            resp = self.client().search(
                index=self.name, size=size, sort=[{"seq": "asc"}], query={"bool": {
                    "filter": [{"terms": {"bands": terms}},
                               {"range": {"event": {"lt": before}}}]}})
        except (TransportConnectionError, ConnectionTimeout) as exc:
            raise Backpressure(f"story state: Elasticsearch unreachable ({exc})") from exc
        return [hit["_source"] for hit in resp["hits"]["hits"]]

    def prune(self, *, before: float) -> int:
        """Delete the records of event time before ``before`` (retention); how many.
        (A scan and bulk deletes: the stack's Elasticsearch has no delete-by-query.)"""
        es = self.client()
        es.indices.refresh(index=self.name)
        hits = helpers.scan(es, index=self.name, size=2000, _source=False,
                            query={"query": {"range": {"event": {"lt": before}}}})
        actions = ({"_op_type": "delete", "_index": self.name, "_id": h["_id"]} for h in hits)
        done, _ = helpers.bulk(es, actions, raise_on_error=False, chunk_size=2000,
                               refresh=True)
        return int(done)

def report(settings: Settings) -> dict[str, Any]:
    """The durable story state for ``newsflow status``: records, their event-time span,
    the watermark, and the hot window a worker keeps of it (count, approximate bytes)."""
    from datetime import UTC, datetime

    from pipeline.core.durations import text

    state = StoryState(settings)
    es = state.client()
    if not es.indices.exists(index=state.name):
        return {"index": state.name, "exists": False}
    s = state.summary()
    mark = state.watermark()
    window = settings.hot_window
    hot = s.records
    if window and s.newest is not None:
        hot = int(es.count(index=state.name, query={"range": {
            "event": {"gte": s.newest - window}}})["count"])

    def when(t: float | None) -> str | None:
        return None if t is None else datetime.fromtimestamp(t, UTC).isoformat()

    return {"index": state.name, "exists": True, "durable_articles": s.records,
            "oldest_event": when(s.oldest), "newest_event": when(s.newest),
            "watermark_offset": None if mark is None else mark.get("offset"),
            "hot_window": text(window), "retention": text(settings.stories_retention),
            "hot_articles": hot, "hot_bytes_estimate": hot * HOT_BYTES_PER_ARTICLE}

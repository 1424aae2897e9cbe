"""The story index's durable state in Elasticsearch: one document per article, and a
watermark.

Each record (:func:`pipeline.group.signature.record_of`) keeps what the index needs to
compare an article again, its event time (``event``) and its LSH band keys as keyword
terms (``bands``), so an article out of the hot window is still found by a ``terms``
query (:meth:`StoryState.candidates`). The document ``~watermark`` holds the input offset
the state reflects (the last stories-topic offset of the last batch written) and the
index's event clock; it is written in the same bulk request as the batch's records, after
them, and says on takeover whether the state is the one the committed offset expects.

A write that Elasticsearch refuses for a reason of its own (429 or a write block such as
the disk flood stage, 408, 5xx, unreachable) raises :class:`~pipeline.core.errors.
Backpressure`: the batch waits and retries, nothing is dead-lettered. Any other rejection
raises :class:`~pipeline.core.errors.IndexingError`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch, helpers

from pipeline.core.errors import Backpressure, IndexingError
from pipeline.core.replication import index_replica_settings
from pipeline.core.settings import Settings
from pipeline.index.mapping import client
from pipeline.index.readiness import missing_fields, ready_or_setup

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


def retryable(status: int, error: Any) -> bool:
    """An item or request refused for the service's reasons, not the document's."""
    return status in (408, 429) or status >= 500 or (
        status == 403 and "cluster_block_exception" in str(error))


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

    def client(self) -> Elasticsearch:
        if self.es is None:
            self.es = client(self.settings)
        return self.es

    @property
    def name(self) -> str:
        return self.settings.story_state_index

    def ensure(self) -> None:
        """The worker's check: the state index with every field this version records
        (only reads when ``newsflow setup`` made it; else said, and created)."""
        es = self.client()
        if es.indices.exists(index=self.name):
            fields = missing_fields(es, self.name, STATE_MAPPING["properties"])
            missing = [f"fields {', '.join(fields)} in its mapping"] if fields else []
        else:
            missing = [f"index {self.name}"]
        ready_or_setup(f"the story state index {self.name}", missing, create=self.create)

    def create(self) -> None:
        """Create the state index, or add the fields a newer version records (setup)."""
        es = self.client()
        if es.indices.exists(index=self.name):
            es.indices.put_mapping(index=self.name, properties=STATE_MAPPING["properties"])
            return
        try:
            es.indices.create(index=self.name, mappings=STATE_MAPPING, settings={
                "number_of_shards": 1, **index_replica_settings(self.settings.index_replicas)})
        except Exception as exc:  # another worker created it first: fine
            if "resource_already_exists" not in str(exc):
                raise

    def write(self, records: list[dict[str, Any]], *, offset: int | None = None,
              clock: float | None = None) -> None:
        """Index the records, then the watermark (``offset``, ``clock``); raise unless
        Elasticsearch took every one (Backpressure when it is its own reason)."""
        actions = [{"_index": self.name, "_id": r["id"], "_source": r} for r in records]
        if offset is not None:
            actions.append({"_index": self.name, "_id": WATERMARK, "_source": {
                "id": WATERMARK, "offset": offset,
                "clock": clock if clock is not None and math.isfinite(clock) else None}})
        if not actions:
            return
        self.dirty = True
        try:
            _, errors = helpers.bulk(self.client(), actions, raise_on_error=False,
                                     refresh=False, chunk_size=500)
        except (TransportConnectionError, ConnectionTimeout) as exc:
            raise Backpressure(f"story state: Elasticsearch unreachable ({exc})") from exc
        except ApiError as exc:
            if retryable(exc.meta.status, exc):
                raise Backpressure(f"story state: Elasticsearch refused the write "
                                   f"({exc.meta.status}): {str(exc)[:300]}") from exc
            raise
        if not errors or not isinstance(errors, list):
            return
        items = [next(iter(e.values())) for e in errors if isinstance(e, dict)]
        if items and all(retryable(int(i.get("status", 0)), i.get("error")) for i in items):
            raise Backpressure(f"story state: Elasticsearch refused {len(items)} record(s) "
                               f"for now ({items[0].get('status')}): "
                               f"{str(items[0].get('error'))[:300]}", retry_after=2.0)
        raise IndexingError(f"story state: record(s) not written: {str(errors)[:300]}")

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

"""The quote groups' index: template, versioned index behind an alias, writes and reloads.

``news-quotes`` (alias, ``Settings.quotes_index_alias``) -> ``news-quotes-v1``. One
document per quote group, ``_id`` = the group id, written whole from the grouping state
(``QuoteGroup.to_doc()``: what is searched and shown, plus ``state``, stored but not
indexed, from which the grouping state is rebuilt when a worker takes the quotes
partition over). Writes use external versioning with the group's ``seq`` (the arrival
number of the last quote that changed it, the quotes topic offset + 1 in the agent), so a
replayed or late write of an older state is refused (409) instead of overwriting a newer
one, and a replay of the same state is a no-op::

    >>> action, _ = write_actions("news-quotes", [{"group": "g1", "seq": 7}], [])[:2]
    >>> action["index"]["version"], action["index"]["version_type"]
    (7, 'external')
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from elasticsearch import Elasticsearch, helpers

from pipeline.core.errors import IndexingError
from pipeline.core.replication import index_replica_settings
from pipeline.core.settings import Settings
from pipeline.index.bulk import BulkWriter, Op
from pipeline.index.indexer import async_client
from pipeline.index.mapping import (
    IGNORE_ABOVE,
    analyzer_settings,
    claim_alias,
    client,
    has_analysis_common,
)
from pipeline.index.replicas import refresh_settings

QUOTES_INDEX_VERSION = 1
KW = {"type": "keyword", "ignore_above": IGNORE_ABOVE}
INT = {"type": "integer"}
LONG = {"type": "long"}
DATE = {"type": "date"}


def quotes_mappings() -> dict[str, Any]:
    text = {"type": "text", "analyzer": "nf_text"}
    raw = {"raw": {"type": "keyword", "ignore_above": 1024}}
    return {
        "dynamic": "strict",
        "properties": {
            "group": KW, "content": {**text, "fields": raw}, "texts": text,
            "kind": KW, "kinds": KW,
            "speaker": {"properties": {"text": {**text, "fields": raw}, "canonical": KW,
                                       "key": KW, "type": KW}},
            "speakers": {**KW, "fields": {"text": text}}, "speaker_keys": KW,
            "contested": {"type": "boolean"},
            "reports": INT, "mentions": INT, "publishers": KW, "publisher_count": INT,
            "languages": KW, "cited_via": KW,
            "first_seen": {"properties": {
                "article_id": KW, "quote_id": KW, "url": KW,
                "title": {**text, "fields": raw}, "publisher": KW, "published_at": DATE}},
            "published_at": DATE, "last_published_at": DATE,
            "founded": LONG, "seq": LONG, "merged": KW,
            "bands": {**KW, "doc_values": False}, "last_event": DATE,
            "state": {"type": "object", "enabled": False},
        },
    }


def quotes_index_name(settings: Settings, version: int = QUOTES_INDEX_VERSION) -> str:
    return f"{settings.quotes_index_alias}-v{version}"


def quotes_template_body(settings: Settings, *, english: bool) -> dict[str, Any]:
    return {
        "index_patterns": [f"{settings.quotes_index_alias}-v*"],
        "priority": 200,
        "template": {
            "settings": {"number_of_shards": 1, **index_replica_settings(settings.index_replicas),
                         **refresh_settings(settings),
                         "analysis": analyzer_settings(has_analysis_common=english)},
            "mappings": quotes_mappings(),
        },
        "_meta": {"managed_by": "newsflow", "index_version": QUOTES_INDEX_VERSION},
    }


def ensure_quotes_index(settings: Settings, es: Elasticsearch | None = None, *,
                        repair: bool = False) -> str:
    """Install the template; create the versioned index and its alias when missing (a
    plain index squatting the alias's name: see :func:`claim_alias`)."""
    own = es is None
    es = es or client(settings)
    try:
        alias = settings.quotes_index_alias
        es.indices.put_index_template(
            name=f"{alias}-template",
            **quotes_template_body(settings, english=has_analysis_common(es)))
        name = quotes_index_name(settings)
        claim_alias(es, alias, name, repair=repair)
        if not es.indices.exists_alias(name=alias):
            if not es.indices.exists(index=name):
                es.indices.create(index=name)
            es.indices.put_alias(index=name, name=alias, is_write_index=True)
        else:  # an upgrade's new fields (a changed type needs a new index version)
            es.indices.put_mapping(index=alias, **quotes_mappings())
        return name
    finally:
        if own:
            es.close()


REBUILD_SOURCE = ["group", "founded", "seq", "merged", "state", "last_event"]


def load_groups(settings: Settings, es: Elasticsearch | None = None, *,
                window: float = 0.0, source: list[str] | None = None
                ) -> Iterator[dict[str, Any]]:
    """Every group document (refreshed first, so the last acknowledged writes are in);
    with a ``window`` (seconds), only those touched within it of the latest event time
    stored (and those stored without one). ``source``: only these fields of each
    (:data:`REBUILD_SOURCE`: what the grouping state is rebuilt from, not what is
    searched and shown)."""
    own = es is None
    es = es or client(settings)
    try:
        alias = settings.quotes_index_alias
        if not es.indices.exists_alias(name=alias):
            return
        es.indices.refresh(index=alias)
        query: dict[str, Any] = {"match_all": {}}
        if window > 0:
            latest = es.search(index=alias, size=0, aggs={"t": {"max": {"field": "last_event"}}}
                               )["aggregations"]["t"]["value"]
            if latest is not None:
                query = {"bool": {"should": [
                    {"range": {"last_event": {"gte": int(latest - window * 1000),
                                              "format": "epoch_millis"}}},
                    {"bool": {"must_not": {"exists": {"field": "last_event"}}}}]}}
        body: dict[str, Any] = {"query": query}
        if source is not None:
            body["_source"] = source
        for hit in helpers.scan(es, index=alias, size=1000, preserve_order=False,
                                query=body):
            yield hit["_source"]
    finally:
        if own:
            es.close()


def find_cold(settings: Settings, terms: list[list[str]], *, before: float, size: int = 16,
              es: Elasticsearch | None = None) -> list[dict[str, Any]]:
    """For each quote's LSH band keys (``terms``), the groups last touched before event time
    ``before`` (epoch seconds) that share most of them (rare keys weigh more): the
    candidates the hot window no longer holds (the fields they are rebuilt from). One
    multi-search for a batch."""
    wanted = [t for t in terms if t]
    if not wanted:
        return []
    own = es is None
    es = es or client(settings)
    old = {"range": {"last_event": {"lt": int(before * 1000), "format": "epoch_millis"}}}
    lines: list[dict[str, Any]] = []
    for keys in wanted:
        lines += [{"index": settings.quotes_index_alias},
                  {"size": size, "_source": REBUILD_SOURCE, "query": {"bool": {
                      "filter": [old], "minimum_should_match": 1,
                      "should": [{"term": {"bands": k}} for k in keys]}}}]
    try:
        found: dict[str, dict[str, Any]] = {}
        for resp in es.msearch(searches=lines)["responses"]:
            if "error" in resp:
                raise IndexingError(f"cold group lookup failed: {resp['error']}")
            for hit in resp["hits"]["hits"]:
                found.setdefault(hit["_id"], hit["_source"])
        return list(found.values())
    finally:
        if own:
            es.close()


def write_actions(alias: str, docs: list[dict[str, Any]], removed: list[tuple[str, int]]
                  ) -> list[dict[str, Any]]:
    """Bulk operations: index each document at its ``seq``; delete each merged-away group
    at the ``seq`` of the merge."""
    ops: list[dict[str, Any]] = []
    for doc in docs:
        ops.append({"index": {"_index": alias, "_id": doc["group"], "version": doc["seq"],
                              "version_type": "external"}})
        ops.append(doc)
    for group_id, seq in removed:
        ops.append({"delete": {"_index": alias, "_id": group_id, "version": seq,
                               "version_type": "external"}})
    return ops


class QuoteIndexWriter:
    """Writes group documents through the shared :class:`BulkWriter`: transient failures
    raise :class:`Backpressure` (the caller retries and acknowledges nothing), a group
    Elasticsearch rejects is returned alone, with the reason."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.es = async_client(settings)
        self.bulk = BulkWriter(self.es, max_bytes=settings.max_bulk_bytes)

    async def close(self) -> None:
        await self.es.close()

    async def write(self, docs: list[dict[str, Any]], removed: list[tuple[str, int]]
                    ) -> list[tuple[str, IndexingError]]:
        """Write and delete; return the ids of the groups rejected, with the reason."""
        alias = self.settings.quotes_index_alias
        ops = [Op.index(alias, d["group"], d, ref=d["group"], version=d["seq"]) for d in docs]
        ops += [Op.delete(alias, gid, ref=gid, version=seq) for gid, seq in removed]
        return await self.bulk.write(ops)

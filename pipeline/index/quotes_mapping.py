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

from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import AsyncElasticsearch, Elasticsearch, TransportError, helpers

from pipeline.core.errors import Backpressure, IndexingError
from pipeline.core.replication import index_replica_settings
from pipeline.core.settings import Settings
from pipeline.index.mapping import analyzer_settings, client, has_analysis_common

QUOTES_INDEX_VERSION = 1
KW = {"type": "keyword"}
INT = {"type": "integer"}
LONG = {"type": "long"}
DATE = {"type": "date"}
RETRYABLE = {429, 500, 502, 503, 504}


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
                         "refresh_interval": "1s",
                         "analysis": analyzer_settings(has_analysis_common=english)},
            "mappings": quotes_mappings(),
        },
        "_meta": {"managed_by": "newsflow", "index_version": QUOTES_INDEX_VERSION},
    }


def ensure_quotes_index(settings: Settings, es: Elasticsearch | None = None) -> str:
    """Install the template; create the versioned index and its alias when missing."""
    own = es is None
    es = es or client(settings)
    try:
        alias = settings.quotes_index_alias
        es.indices.put_index_template(
            name=f"{alias}-template",
            **quotes_template_body(settings, english=has_analysis_common(es)))
        name = quotes_index_name(settings)
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


def load_groups(settings: Settings, es: Elasticsearch | None = None) -> Iterator[dict[str, Any]]:
    """Every group document (refreshed first, so the last acknowledged writes are in)."""
    own = es is None
    es = es or client(settings)
    try:
        alias = settings.quotes_index_alias
        if not es.indices.exists_alias(name=alias):
            return
        es.indices.refresh(index=alias)
        for hit in helpers.scan(es, index=alias, size=1000, preserve_order=False):
            yield hit["_source"]
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
    """Writes group documents in one bulk call; raises :class:`Backpressure` while
    Elasticsearch is away or overloaded (the caller retries and acknowledges nothing)."""

    def __init__(self, settings: Settings) -> None:
        from pipeline.index.mapping import tls_options

        self.settings = settings
        self.es = AsyncElasticsearch(settings.es_url, basic_auth=settings.es_auth(),
                                     **tls_options(settings), request_timeout=60,
                                     retry_on_timeout=False, max_retries=0)

    async def close(self) -> None:
        await self.es.close()

    async def write(self, docs: list[dict[str, Any]], removed: list[tuple[str, int]]) -> None:
        ops = write_actions(self.settings.quotes_index_alias, docs, removed)
        if not ops:
            return
        try:
            resp = await self.es.bulk(operations=ops, refresh=False)
        except (ESConnectionError, ConnectionTimeout, TransportError) as exc:
            raise Backpressure(f"Elasticsearch unreachable: {exc}") from exc
        except Exception as exc:
            status = getattr(getattr(exc, "meta", None), "status", None)
            if status in RETRYABLE or status is None:
                raise Backpressure(f"Elasticsearch answered {status}: {exc}") from exc
            raise
        for item in resp["items"]:
            op, result = next(iter(item.items()))
            status = int(result.get("status", 500))
            # 409: a newer (or this same) state is already stored; 404: already deleted
            if status < 300 or status == 409 or (op == "delete" and status == 404):
                continue
            if status in RETRYABLE:
                raise Backpressure(f"Elasticsearch {status} on quote group {result.get('_id')}")
            raise IndexingError(f"Elasticsearch {status} on quote group {result.get('_id')}: "
                                f"{result.get('error')}")

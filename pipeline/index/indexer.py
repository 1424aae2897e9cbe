"""Write enriched articles to Elasticsearch in bulk, safely.

* idempotent and ordered: ``_id`` is the article id and the article ``version`` is an
  external version (``version_type=external_gte``, as Confluent's Elasticsearch sink does),
  so a replay rewrites the same document and an older version never overwrites a newer
  one (Elasticsearch's 409 for it means "newer already there": success);
* bounded, retried, per document: the shared :class:`~pipeline.index.bulk.BulkWriter`
  (requests split by ``Settings.max_bulk_bytes`` and by count, transient failures waited
  out and then :class:`Backpressure`, a document's own rejection returned for it alone
  to be dead-lettered, every write through the alias with ``require_alias``).

    indexer = Indexer(settings)
    rejected = await indexer.index([article])   # [(article, IndexingError), ...]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from elasticsearch import AsyncElasticsearch

from pipeline.core.contracts import EnrichedArticle
from pipeline.core.errors import IndexingError
from pipeline.core.settings import Settings
from pipeline.index.bulk import BulkWriter, Op, backoff, verdict
from pipeline.index.mapping import document, tls_options

__all__ = ["Indexer", "async_client", "backoff", "verdict"]


def async_client(settings: Settings) -> AsyncElasticsearch:
    """The async client of the writers: no client-side retries (the writer decides)."""
    return AsyncElasticsearch(settings.es_hosts, basic_auth=settings.es_auth(),
                              **tls_options(settings), request_timeout=60,
                              retry_on_timeout=False, max_retries=0)


class Indexer:
    """Async bulk indexer of articles with retries, backpressure and rejection reporting."""

    def __init__(self, settings: Settings, *, chunk_size: int = 500,
                 max_backoff: float = 30.0, max_item_retries: int = 8,
                 base_backoff: float = 0.5) -> None:
        self.settings = settings
        self.options: dict[str, Any] = dict(
            max_bytes=settings.max_bulk_bytes, chunk_size=chunk_size,
            max_item_retries=max_item_retries, base_backoff=base_backoff,
            max_backoff=max_backoff)
        self.es = async_client(settings)

    async def close(self) -> None:
        await self.es.close()

    def writer(self) -> BulkWriter:
        return BulkWriter(self.es, **self.options)

    def entry(self, article: EnrichedArticle) -> Op:
        return Op.index(self.settings.index_alias, article.id, document(article),
                        ref=article, version=max(article.version, 0),
                        version_type="external_gte")

    async def index(self, articles: Sequence[EnrichedArticle]
                    ) -> list[tuple[EnrichedArticle, IndexingError]]:
        """Index all articles; return those Elasticsearch rejected, with the reason.

        Raises :class:`Backpressure` when a document keeps failing transiently.
        """
        return await self.writer().write([self.entry(a) for a in articles])

    async def _bulk(self, entries: list[Op]) -> list[tuple[str, dict[str, Any]]]:
        """One bulk request as it is (typed failures: Backpressure, RequestRefused)."""
        return await self.writer()._bulk(entries)

"""Write enriched articles to Elasticsearch in bulk, safely.

* idempotent: ``_id`` is the article id, so a replay overwrites, never duplicates;
* 429 and 5xx items are retried with exponential backoff;
* while Elasticsearch is unreachable the call waits (a :class:`Backpressure`
  signal is logged and retried) instead of buffering without bound, so the
  Kafka offsets of the batch are not acknowledged until Elasticsearch has it;
* items Elasticsearch rejects (mapping errors, 4xx) are returned with the reason
  for the dead-letter topic.

    indexer = Indexer(settings)
    rejected = await indexer.index([article])   # [(article, IndexingError), ...]
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import AsyncElasticsearch, TransportError

from pipeline.core.contracts import EnrichedArticle
from pipeline.core.errors import Backpressure, IndexingError
from pipeline.core.settings import Settings
from pipeline.index.mapping import document, tls_options

log = logging.getLogger("newsflow.indexer")
RETRYABLE = {429, 500, 502, 503, 504}


class Indexer:
    """Async bulk indexer with retries, backpressure and rejection reporting."""

    def __init__(self, settings: Settings, *, chunk_size: int = 500,
                 max_backoff: float = 30.0, max_item_retries: int = 8) -> None:
        self.settings = settings
        self.chunk_size = chunk_size
        self.max_backoff = max_backoff
        self.max_item_retries = max_item_retries
        self.es = AsyncElasticsearch(settings.es_url, basic_auth=settings.es_auth(),
                                     **tls_options(settings),
                                     request_timeout=60, retry_on_timeout=False, max_retries=0)
        self.stopping = False

    async def close(self) -> None:
        await self.es.close()

    async def index(self, articles: Sequence[EnrichedArticle]
                    ) -> list[tuple[EnrichedArticle, IndexingError]]:
        """Index all articles; return those Elasticsearch rejected, with the reason."""
        rejected: list[tuple[EnrichedArticle, IndexingError]] = []
        for i in range(0, len(articles), self.chunk_size):
            rejected += await self._chunk(list(articles[i:i + self.chunk_size]))
        return rejected

    async def _chunk(self, pending: list[EnrichedArticle]
                     ) -> list[tuple[EnrichedArticle, IndexingError]]:
        rejected: list[tuple[EnrichedArticle, IndexingError]] = []
        attempt = 0
        while pending:
            try:
                items = await self._bulk(pending)
            except Backpressure as bp:
                attempt += 1
                delay = min(self.max_backoff, bp.retry_after * 2 ** min(attempt, 6))
                log.warning("backpressure: %s; retrying %d articles in %.1fs", bp,
                            len(pending), delay)
                await asyncio.sleep(delay)
                continue
            retry: list[EnrichedArticle] = []
            for art, item in zip(pending, items, strict=True):
                status = int(item.get("status", 500))
                if status < 300:
                    continue
                reason = item.get("error", {})
                if status in RETRYABLE and attempt < self.max_item_retries:
                    retry.append(art)
                else:
                    rejected.append((art, IndexingError(f"Elasticsearch {status}: {reason}")))
            pending = retry
            if pending:
                attempt += 1
                await asyncio.sleep(min(self.max_backoff, 0.5 * 2 ** attempt))
        return rejected

    async def _bulk(self, articles: list[EnrichedArticle]) -> list[dict[str, Any]]:
        ops: list[dict[str, Any]] = []
        for art in articles:
            ops.append({"index": {"_index": self.settings.index_alias, "_id": art.id}})
            ops.append(document(art))
        try:
            resp = await self.es.bulk(operations=ops, refresh=False, require_alias=True)
        except (ESConnectionError, ConnectionTimeout) as exc:
            raise Backpressure(f"Elasticsearch unreachable: {exc}") from exc
        except TransportError as exc:
            raise Backpressure(f"Elasticsearch transport error: {exc}") from exc
        except Exception as exc:
            status = getattr(exc, "status_code", getattr(getattr(exc, "meta", None), "status",
                                                         None))
            if status in RETRYABLE or status is None:
                raise Backpressure(f"Elasticsearch answered {status}: {exc}") from exc
            raise
        return [next(iter(item.values())) for item in resp["items"]]

"""Write enriched articles to Elasticsearch in bulk, safely.

* idempotent and ordered: ``_id`` is the article id and the article ``version`` is an
  external version (``version_type=external_gte``, as Confluent's Elasticsearch sink does),
  so a replay rewrites the same document and an older version never overwrites a newer
  one (Elasticsearch's 409 for it means "newer already there": success);
* bounded: requests are split by bytes (``Settings.max_bulk_bytes``) and by count, and a
  request Elasticsearch refuses as a whole (413, 400) is split until the one document at
  fault is known;
* transient failures wait: while Elasticsearch is unreachable, overloaded (429, 5xx) or
  blocks writes (403 ``cluster_block_exception`` during ``newsflow reindex``) the call backs
  off and retries, and a document still failing so after ``max_item_retries`` of its own
  attempts raises :class:`Backpressure`, so the batch's Kafka offsets are kept;
* permanent failures are returned: only a document's own 400-class rejection
  (``mapper_parsing_exception``, ...) or its being too large, with the reason, for the
  dead-letter topic.

Outage backoff and each document's retries are counted apart: a long outage does not use
up the retries of the documents that wait through it.

    indexer = Indexer(settings)
    rejected = await indexer.index([article])   # [(article, IndexingError), ...]
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, AsyncElasticsearch, TransportError

from pipeline.core.contracts import EnrichedArticle
from pipeline.core.errors import Backpressure, IndexingError
from pipeline.core.settings import Settings
from pipeline.index.mapping import document, tls_options

log = logging.getLogger("newsflow.indexer")
Verdict = Literal["ok", "retry", "reject"]
# Not the document's fault: the cluster is away, overloaded, blocks writes or lacks the alias.
TRANSIENT = {401, 403, 404, 408, 429}


def verdict(status: int, error: dict[str, Any] | str | None = None) -> Verdict:
    """What to do with one bulk item's answer.

    >>> verdict(201), verdict(409, {"type": "version_conflict_engine_exception"})
    ('ok', 'ok')
    >>> verdict(429), verdict(503), verdict(403, {"type": "cluster_block_exception"})
    ('retry', 'retry', 'retry')
    >>> verdict(400, {"type": "mapper_parsing_exception"})
    'reject'
    """
    if status < 300:
        return "ok"
    kind = error.get("type") if isinstance(error, dict) else None
    if status == 409 and kind == "version_conflict_engine_exception":
        return "ok"  # an equal or newer version is already indexed
    if status >= 500 or status in TRANSIENT:
        return "retry"
    return "reject"


def backoff(attempt: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff: ``base * 2**(attempt-1)``, at most ``cap`` seconds."""
    return float(min(cap, base * 2 ** min(max(attempt - 1, 0), 16)))


class RequestRefused(Exception):
    """Elasticsearch refused a bulk request as a whole (413 too large, 400 malformed)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Elasticsearch {status}: {message}")
        self.status = status


@dataclass
class Entry:
    """One article as the two NDJSON lines of its bulk action."""

    article: EnrichedArticle
    action: bytes
    source: bytes
    retries: int = 0

    @property
    def size(self) -> int:
        return len(self.action) + len(self.source) + 2


def split(entries: Sequence[Entry], *, max_bytes: int, max_count: int) -> Iterator[list[Entry]]:
    """Consecutive groups of at most ``max_count`` entries and ``max_bytes`` bytes (an entry
    larger than ``max_bytes`` goes alone)."""
    group: list[Entry] = []
    size = 0
    for entry in entries:
        if group and (size + entry.size > max_bytes or len(group) >= max_count):
            yield group
            group, size = [], 0
        group.append(entry)
        size += entry.size
    if group:
        yield group


class Indexer:
    """Async bulk indexer with retries, backpressure and rejection reporting."""

    def __init__(self, settings: Settings, *, chunk_size: int = 500,
                 max_backoff: float = 30.0, max_item_retries: int = 8,
                 base_backoff: float = 0.5) -> None:
        self.settings = settings
        self.chunk_size = chunk_size
        self.max_backoff = max_backoff
        self.base_backoff = base_backoff
        self.max_item_retries = max_item_retries
        self.es = AsyncElasticsearch(settings.es_url, basic_auth=settings.es_auth(),
                                     **tls_options(settings),
                                     request_timeout=60, retry_on_timeout=False, max_retries=0)

    async def close(self) -> None:
        await self.es.close()

    def entry(self, article: EnrichedArticle) -> Entry:
        action = {"index": {"_index": self.settings.index_alias, "_id": article.id,
                            "version": max(article.version, 0),
                            "version_type": "external_gte"}}
        return Entry(article, _json(action), _json(document(article)))

    async def index(self, articles: Sequence[EnrichedArticle]
                    ) -> list[tuple[EnrichedArticle, IndexingError]]:
        """Index all articles; return those Elasticsearch rejected, with the reason.

        Raises :class:`Backpressure` when a document keeps failing transiently.
        """
        rejected: list[tuple[EnrichedArticle, IndexingError]] = []
        entries = [self.entry(a) for a in articles]
        for group in split(entries, max_bytes=self.settings.max_bulk_bytes,
                           max_count=self.chunk_size):
            rejected += await self._request(group)
        return rejected

    def _wait(self, attempt: int) -> float:
        return backoff(attempt, base=self.base_backoff, cap=self.max_backoff)

    async def _request(self, pending: list[Entry]) -> list[tuple[EnrichedArticle, IndexingError]]:
        rejected: list[tuple[EnrichedArticle, IndexingError]] = []
        outage = 0  # failed requests in a row (Elasticsearch away): backoff only, no verdict
        while pending:
            try:
                items = await self._bulk(pending)
            except Backpressure as bp:
                outage += 1
                delay = max(self._wait(outage), bp.retry_after)
                log.warning("backpressure: %s; retrying %d articles in %.1fs", bp,
                            len(pending), delay)
                await asyncio.sleep(delay)
                continue
            except RequestRefused as exc:
                if len(pending) == 1:
                    size = pending[0].size
                    return [*rejected, (pending[0].article,
                                        IndexingError(f"{exc} (bulk action of {size:,} bytes)"))]
                half = len(pending) // 2
                return [*rejected, *await self._request(pending[:half]),
                        *await self._request(pending[half:])]
            outage = 0
            retry: list[Entry] = []
            for entry, item in zip(pending, items, strict=True):
                status = int(item.get("status", 500))
                error = item.get("error")
                what = verdict(status, error)
                if what == "reject":
                    rejected.append((entry.article,
                                     IndexingError(f"Elasticsearch {status}: {error}")))
                elif what == "retry":
                    entry.retries += 1
                    if entry.retries > self.max_item_retries:
                        raise Backpressure(f"article {entry.article.id}: Elasticsearch still "
                                           f"answers {status} after {entry.retries} attempts: "
                                           f"{error}")
                    retry.append(entry)
            pending = retry
            if pending:
                delay = self._wait(max(e.retries for e in pending))
                log.warning("%d articles to retry (e.g. %s); retrying in %.1fs", len(pending),
                            pending[0].article.id, delay)
                await asyncio.sleep(delay)
        return rejected

    async def _bulk(self, entries: list[Entry]) -> list[dict[str, Any]]:
        ops: list[Any] = []  # NDJSON lines, already serialized (the client sends bytes as is)
        for entry in entries:
            ops += [entry.action, entry.source]
        try:
            resp = await self.es.bulk(operations=ops, refresh=False, require_alias=True)
        except (ESConnectionError, ConnectionTimeout) as exc:
            raise Backpressure(f"Elasticsearch unreachable: {exc}") from exc
        except ApiError as exc:
            status = exc.meta.status
            if status in (400, 413):
                raise RequestRefused(status, str(exc)[:500]) from exc
            raise Backpressure(f"Elasticsearch answered {status}: {exc}") from exc
        except TransportError as exc:
            raise Backpressure(f"Elasticsearch transport error: {exc}") from exc
        return [next(iter(item.values())) for item in resp["items"]]


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

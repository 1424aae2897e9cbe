"""One failure classifier and one bulk writer for every Elasticsearch write of the stages.

What a failure means is decided once, here (as elasticsearch-py's ``streaming_bulk``
with ``retry_on_status`` and Quix Streams' ``SinkBackpressureError(retry_after)`` do):

* **transient** (the service, not the document): unreachable, timeouts, 429, 5xx, 408,
  401/403 (credentials or a ``cluster_block_exception`` such as the disk flood stage),
  404 (the alias is missing: ``require_alias`` refuses to auto-create an index). These
  are retried with backoff; a document that still fails so after ``max_item_retries`` of
  its own attempts raises :class:`~pipeline.core.errors.Backpressure` (with
  ``retry_after``), so the caller keeps its Kafka offsets and waits;
* **ok**: 2xx, a 409 version conflict (an equal or newer version is stored), a delete of
  a document already gone;
* **permanent for one document** (``mapper_parsing_exception``, a document too large,
  ...): returned with the reason, for that document alone to be dead-lettered. Its
  neighbours in the same request are written. A request Elasticsearch refuses as a whole
  (413, 400) is split until the document at fault is known.

Every request is sent with ``require_alias=True``: a deleted index makes the writes wait
with a message that says to run ``newsflow setup``, instead of auto-creating a plain
index that squats the alias name.

    writer = BulkWriter(es, max_bytes=settings.max_bulk_bytes)
    rejected = await writer.write([Op.index(alias, doc_id, doc, version=3, ref=article)])
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

from pipeline.core.errors import Backpressure, IndexingError

log = logging.getLogger("newsflow.bulk")
Verdict = Literal["ok", "retry", "reject"]
TRANSIENT = frozenset({401, 403, 404, 408, 429})  # and every 5xx


def verdict(status: int, error: dict[str, Any] | str | None = None, *, op: str = "index"
            ) -> Verdict:
    """What to do with one bulk item's answer.

    >>> verdict(201), verdict(409, {"type": "version_conflict_engine_exception"})
    ('ok', 'ok')
    >>> verdict(404, op="delete"), verdict(404, {"type": "index_not_found_exception"})
    ('ok', 'retry')
    >>> verdict(429), verdict(503), verdict(403, {"type": "cluster_block_exception"})
    ('retry', 'retry', 'retry')
    >>> verdict(400, {"type": "mapper_parsing_exception"})
    'reject'
    """
    if status < 300:
        return "ok"
    kind = error.get("type") if isinstance(error, dict) else None
    if status == 409 and kind == "version_conflict_engine_exception":
        return "ok"  # an equal or newer version is already stored
    if op == "delete" and status == 404 and kind != "index_not_found_exception":
        return "ok"  # already deleted
    if status >= 500 or status in TRANSIENT:
        return "retry"
    return "reject"


def explain(status: int, error: dict[str, Any] | str | None) -> str:
    """The item's failure, with what to do when it is the missing alias."""
    reason = error.get("reason", "") if isinstance(error, dict) else str(error or "")
    if status == 404 and "require_alias" in reason:
        return (f"{reason} (the index behind the alias was deleted; run `newsflow setup` "
                "to create it again)")
    return f"Elasticsearch {status}: {error}"


def backoff(attempt: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff: ``base * 2**(attempt-1)``, at most ``cap`` seconds."""
    return float(min(cap, base * 2 ** min(max(attempt - 1, 0), 16)))


class RequestRefused(Exception):
    """Elasticsearch refused a bulk request as a whole (413 too large, 400 malformed)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Elasticsearch {status}: {message}")
        self.status = status


def classify(exc: Exception) -> Exception:
    """The typed failure for an exception of a whole bulk request: :class:`Backpressure`
    (transient) or :class:`RequestRefused` (split it); anything else as it is."""
    if isinstance(exc, ESConnectionError | ConnectionTimeout):
        return Backpressure(f"Elasticsearch unreachable: {exc}")
    if isinstance(exc, ApiError):
        status = exc.meta.status
        if status in (400, 413):
            return RequestRefused(status, str(exc)[:500])
        return Backpressure(f"Elasticsearch answered {status}: {str(exc)[:500]}")
    if isinstance(exc, TransportError):
        return Backpressure(f"Elasticsearch transport error: {exc}")
    return exc


@dataclass
class Op:
    """One bulk action (its NDJSON lines) and what it writes (``ref``, returned with a
    rejection)."""

    action: bytes
    source: bytes | None
    ref: Any
    op: str = "index"
    retries: int = 0

    @classmethod
    def index(cls, alias: str, doc_id: str, doc: dict[str, Any], *, ref: Any,
              version: int | None = None, version_type: str = "external") -> Op:
        meta: dict[str, Any] = {"_index": alias, "_id": doc_id}
        if version is not None:
            meta.update(version=version, version_type=version_type)
        return cls(_json({"index": meta}), _json(doc), ref)

    @classmethod
    def delete(cls, alias: str, doc_id: str, *, ref: Any, version: int | None = None) -> Op:
        meta: dict[str, Any] = {"_index": alias, "_id": doc_id}
        if version is not None:
            meta.update(version=version, version_type="external")
        return cls(_json({"delete": meta}), None, ref, op="delete")

    @property
    def size(self) -> int:
        return len(self.action) + len(self.source or b"") + 2


def split(ops: Sequence[Op], *, max_bytes: int, max_count: int) -> Iterator[list[Op]]:
    """Consecutive groups of at most ``max_count`` ops and ``max_bytes`` bytes (an op
    larger than ``max_bytes`` goes alone)."""
    group: list[Op] = []
    size = 0
    for op in ops:
        if group and (size + op.size > max_bytes or len(group) >= max_count):
            yield group
            group, size = [], 0
        group.append(op)
        size += op.size
    if group:
        yield group


class BulkWriter:
    """Bulk writes with per-document verdicts, retries and backpressure (see the module)."""

    def __init__(self, es: AsyncElasticsearch, *, max_bytes: int, chunk_size: int = 500,
                 max_item_retries: int = 8, base_backoff: float = 0.5,
                 max_backoff: float = 30.0) -> None:
        self.es = es
        self.max_bytes, self.chunk_size = max_bytes, chunk_size
        self.max_item_retries = max_item_retries
        self.base_backoff, self.max_backoff = base_backoff, max_backoff
        self.requests = 0  # bulk requests sent (for tests and metrics)

    def _wait(self, attempt: int) -> float:
        return backoff(attempt, base=self.base_backoff, cap=self.max_backoff)

    async def write(self, ops: Sequence[Op]) -> list[tuple[Any, IndexingError]]:
        """Write every op; return the ``ref`` of each one rejected for good, with why.
        Raises :class:`Backpressure` when an op keeps failing transiently."""
        rejected: list[tuple[Any, IndexingError]] = []
        for group in split(ops, max_bytes=self.max_bytes, max_count=self.chunk_size):
            rejected += await self._request(group)
        return rejected

    async def _request(self, pending: list[Op]) -> list[tuple[Any, IndexingError]]:
        rejected: list[tuple[Any, IndexingError]] = []
        outage = 0  # failed requests in a row: backoff only, no verdict on the documents
        while pending:
            try:
                items = await self._bulk(pending)
            except Backpressure as bp:
                outage += 1
                delay = max(self._wait(outage), bp.retry_after)
                log.warning("backpressure: %s; retrying %d documents in %.1fs", bp,
                            len(pending), delay)
                await asyncio.sleep(delay)
                continue
            except RequestRefused as exc:
                if len(pending) == 1:
                    return [*rejected, (pending[0].ref, IndexingError(
                        f"{exc} (bulk action of {pending[0].size:,} bytes)"))]
                half = len(pending) // 2
                return [*rejected, *await self._request(pending[:half]),
                        *await self._request(pending[half:])]
            outage = 0
            pending = self._sort(pending, items, rejected)
            if pending:
                delay = self._wait(max(o.retries for o in pending))
                log.warning("%d documents to retry; retrying in %.1fs", len(pending), delay)
                await asyncio.sleep(delay)
        return rejected

    def _sort(self, ops: list[Op], items: list[tuple[str, dict[str, Any]]],
              rejected: list[tuple[Any, IndexingError]]) -> list[Op]:
        """Each item's verdict: rejections collected, transient failures to retry."""
        retry: list[Op] = []
        for op, (kind, item) in zip(ops, items, strict=True):
            status, error = int(item.get("status", 500)), item.get("error")
            what = verdict(status, error, op=kind)
            if what == "reject":
                rejected.append((op.ref, IndexingError(explain(status, error))))
            elif what == "retry":
                op.retries += 1
                if op.retries > self.max_item_retries:
                    raise Backpressure(f"document {item.get('_id')}: still failing after "
                                       f"{op.retries} attempts: {explain(status, error)}",
                                       retry_after=self.max_backoff)
                retry.append(op)
        return retry

    async def _bulk(self, ops: list[Op]) -> list[tuple[str, dict[str, Any]]]:
        lines: list[Any] = []  # NDJSON lines, already serialized (sent as they are)
        for op in ops:
            lines.append(op.action)
            if op.source is not None:
                lines.append(op.source)
        self.requests += 1
        try:
            resp = await self.es.bulk(operations=lines, refresh=False, require_alias=True)
        except Exception as exc:
            raise classify(exc) from exc
        return [next(iter(item.items())) for item in resp["items"]]


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

"""One error hierarchy for the whole product.

Every error newsflow raises on purpose derives from :class:`NewsflowError`, so
callers can catch ours without catching bugs::

    try:
        run()
    except NewsflowError as exc:
        print(f"error: {exc}")
"""

from __future__ import annotations


class NewsflowError(Exception):
    """Base of every error newsflow raises on purpose."""


class ConfigError(NewsflowError):
    """A setting or a source's configuration is invalid."""


class StackError(NewsflowError):
    """The local Kafka/Elasticsearch stack cannot be set up, started or reached."""


class ContractError(NewsflowError):
    """A message does not match its declared contract (poison message)."""


class EnrichmentError(NewsflowError):
    """Enrichment of one article failed."""


class IndexingError(NewsflowError):
    """Elasticsearch rejected a document (not a transient failure)."""


class Backpressure(NewsflowError):
    """A downstream service is slow or down; the caller should wait and retry.

    A typed signal for transient failures: the indexer raises it when Elasticsearch is
    away or keeps answering 429/5xx, and the agents' batch step then waits with backoff
    and retries, keeping the batch's offsets (nothing is acknowledged meanwhile).
    """

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after

"""What a failure says: of the services (wait and retry, offsets kept) or of one message
(dead-letter it), for the batch steps of every agent (:mod:`pipeline.stream.batches`).

    >>> transient(Backpressure("Elasticsearch unreachable")), too_large(TooLarge("big"))
    (True, True)
"""

from __future__ import annotations

from collections.abc import Iterator

from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)
from elastic_transport import TransportError as ESTransportError
from elasticsearch import ApiError

from pipeline.core.errors import Backpressure, NewsflowError


class TooLarge(NewsflowError):
    """A message or its output is over a size bound (permanent for that message)."""


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__


def too_large(exc: BaseException) -> bool:
    """Kafka refused a message for its size (client-side check or broker answer)."""
    return any(isinstance(e, MessageSizeTooLargeError | RecordTooLargeError
                          | RecordListTooLargeError | TooLarge) for e in _causes(exc))


def transient(exc: BaseException) -> bool:
    """A failure of the services, not of the messages: wait and retry, keep the offsets.

    >>> transient(Backpressure("Elasticsearch unreachable")), transient(ValueError("bug"))
    (True, False)
    """
    if too_large(exc):
        return False
    for e in _causes(exc):
        if isinstance(e, Backpressure | KafkaConnectionError | KafkaTimeoutError
                      | ConnectionError | TimeoutError):
            return True
        if isinstance(e, KafkaError) and e.retriable:
            return True
        if isinstance(e, ESTransportError) or (isinstance(e, ApiError) and (
                e.meta.status >= 500 or e.meta.status == 429)):
            return True  # Elasticsearch away or overloaded (a sync client's call)
    return False

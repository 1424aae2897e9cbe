"""What one pass of the runner keeps: its result, its items awaiting Kafka, its state.

    result = PassResult("bbc-world", seen=20, new=3)
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaProducer

from connectors.errors import Walled
from connectors.journal import Journal
from connectors.sources import Source
from connectors.state import ItemFailure, ItemLedger
from pipeline.core.contracts import DeadLetter, RawArticle
from pipeline.core.settings import MAX_MESSAGE_BYTES, Settings


def make_producer(settings: Settings) -> KafkaProducer:
    return KafkaProducer(**settings.kafka_client_config(), acks="all",
                         enable_idempotence=True, linger_ms=20, retries=10,
                         max_request_size=MAX_MESSAGE_BYTES, max_block_ms=10_000,
                         client_id="newsflow-connectors")


@dataclass
class PassResult:
    source: str
    seen: int = 0
    new: int = 0
    changed: int = 0
    errors: list[str] = field(default_factory=list)
    failed: str | None = None
    dead_lettered: int = 0
    skipped: int = 0          # left out by the source's filter (languages)
    walls: int = 0
    last_wall: str | None = None

    def wall(self, exc: BaseException) -> None:
        """Count ``exc`` if it is (or was caused by) a wall."""
        seen: BaseException | None = exc
        for _ in range(8):
            if seen is None:
                return
            if isinstance(seen, Walled):
                self.walls += 1
                self.last_wall = f"{seen.kind} ({seen.rule}): {seen.url or '?'}"
                return
            seen = seen.__cause__


@dataclass
class PendingItem:
    """One item of a pass, in the order the connector yielded it."""

    label: str
    snapshot: list[Any] = field(default_factory=list)  # state changes up to this item
    topic: str | None = None         # what to send (None: nothing, e.g. unchanged)
    key: bytes | None = None
    value: bytes | None = None
    submitted: Future[Any] | None = None  # queued in the Kafka thread
    future: Any = None               # kafka-python's future: Kafka's acknowledgement
    article: RawArticle | None = None
    status: str = ""                 # new, changed, unchanged, error
    failure: ItemFailure | None = None  # recorded once Kafka has its dead letter
    letter: DeadLetter | None = None
    resolve: str | None = None       # ledger key cleared once Kafka has the article...
    resolve_upto: float = 0.0        # ...unless it failed again after this (last_at)


@dataclass
class PassState:
    source: Source
    result: PassResult
    ledger: ItemLedger
    conn_state: dict[str, Any]
    failing: set[str]
    queue: deque[PendingItem] = field(default_factory=deque)
    confirmed: list[PendingItem] = field(default_factory=list)
    in_flight_bytes: int = 0
    last_commit: float = field(default_factory=time.monotonic)
    journal: Journal = field(default_factory=Journal)
    yielded_at: float = field(default_factory=time.monotonic)

    @property
    def name(self) -> str:
        return self.source.spec.name

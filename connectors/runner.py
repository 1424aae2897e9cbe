"""The runner: schedules sources, dedups, produces to Kafka, keeps health.

    runner = Runner(sources, settings=settings, state=StateStore(path))
    await runner.run(once=True)      # one pass over every source

Producing uses an idempotent kafka-python producer with ``acks=all``; an
article is marked as sent only after Kafka confirmed it, so a crash re-sends
rather than loses, and the article id (from the canonical URL) makes the
re-send harmless downstream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from connectors.base import Context
from connectors.errors import ConnectorError
from connectors.http import Fetcher
from connectors.sources import Source
from connectors.state import Health, StateStore
from pipeline.core import metrics
from pipeline.core.contracts import RawArticle
from pipeline.core.errors import Backpressure
from pipeline.core.settings import Settings

log = logging.getLogger("newsflow.connectors")


def make_producer(settings: Settings) -> KafkaProducer:
    return KafkaProducer(**settings.kafka_client_config(), acks="all",
                         enable_idempotence=True, linger_ms=20, retries=10,
                         max_request_size=16 * 1024 * 1024, client_id="newsflow-connectors")


@dataclass
class PassResult:
    source: str
    seen: int = 0
    new: int = 0
    changed: int = 0
    errors: list[str] = field(default_factory=list)
    failed: str | None = None


class Runner:
    def __init__(self, sources: list[Source], *, settings: Settings, state: StateStore,
                 producer: KafkaProducer | None = None, fetcher: Fetcher | None = None,
                 on_result: Callable[[PassResult], None] | None = None) -> None:
        self.sources = sources
        self.settings = settings
        self.state = state
        self.producer = producer or make_producer(settings)
        self.fetcher = fetcher or Fetcher()
        self.on_result = on_result or (lambda r: None)

    def close(self) -> None:
        self.producer.flush(timeout=30)
        self.producer.close(timeout=30)

    async def run(self, *, once: bool = False) -> list[PassResult]:
        """Poll every enabled source when due; with ``once``, one pass and return."""
        due: dict[str, float] = {s.spec.name: 0.0 for s in self.sources}
        results: list[PassResult] = []
        while True:
            now = time.monotonic()
            ready = [s for s in self.sources if s.spec.enabled and due[s.spec.name] <= now
                     and not self.state.health(s.spec.name).disabled]
            batch = await asyncio.gather(*(self.run_source(s) for s in ready))
            results.extend(batch)
            for s in ready:
                due[s.spec.name] = time.monotonic() + self._interval(s)
            if once:
                return results
            await asyncio.sleep(1.0)

    def _interval(self, source: Source) -> float:
        h = self.state.health(source.spec.name)
        if h.consecutive_failures:  # exponential backoff on failures, capped at 1 hour
            return float(min(3600, source.spec.interval * 2 ** h.consecutive_failures))
        asked = self.state.conn_state(source.spec.name).get("min_interval") or 0
        return max(source.spec.interval, float(asked))  # a feed's ttl / sy:updatePeriod

    async def run_source(self, source: Source) -> PassResult:
        name = source.spec.name
        result = PassResult(name)
        health = self.state.health(name)
        health.connector = source.spec.type
        conn_state = self.state.conn_state(name)
        ctx = Context(source=name, fetcher=self.fetcher, state=conn_state)
        connector = source.cls(source.config, ctx)
        pending: list[tuple[RawArticle, Any]] = []
        try:
            async for item in connector.fetch():
                if isinstance(item, ConnectorError):
                    if item.source != name:
                        item = type(item)(item.reason, source=name, url=item.url)
                    result.errors.append(str(item))
                    log.warning("%s", item)
                    continue
                result.seen += 1
                sent = self._produce(item, result)
                if sent is not None:
                    pending.append(sent)
            self._confirm(pending)
            self.state.save_conn_state(name, conn_state)
            health.last_success = time.time()
            health.consecutive_failures = 0
        except (ConnectorError, Backpressure) as exc:
            self._confirm_quietly(pending)
            if isinstance(exc, ConnectorError) and exc.source != name:
                exc = type(exc)(exc.reason, source=name, url=exc.url)  # name the source
            result.failed = str(exc)
            self._failure(health, source, str(exc))
        except Exception as exc:
            self._confirm_quietly(pending)
            result.failed = f"source '{name}': {type(exc).__name__}: {exc}"
            log.exception("connector %s crashed", name)
            self._failure(health, source, result.failed)
        health.items_seen += result.seen
        health.items_new += result.new
        health.items_changed += result.changed
        health.item_errors += len(result.errors)
        self.state.save_health(health)
        metrics.SOURCE_ITEMS.labels(name, "seen").inc(result.seen)
        metrics.SOURCE_ITEMS.labels(name, "new").inc(result.new)
        metrics.SOURCE_FAILURES.labels(name).set(health.consecutive_failures)
        self.on_result(result)
        return result

    def _failure(self, health: Health, source: Source, message: str) -> None:
        health.consecutive_failures += 1
        health.last_error, health.last_error_at = message, time.time()
        log.warning("%s (failure %d of %d)", message, health.consecutive_failures,
                    source.spec.max_failures)
        if health.consecutive_failures >= source.spec.max_failures:
            health.disabled = True
            log.error("source '%s' disabled after %d consecutive failures; fix it and run "
                      "`newsflow connect --enable %s`", source.spec.name,
                      health.consecutive_failures, source.spec.name)

    def _produce(self, art: RawArticle, result: PassResult) -> tuple[RawArticle, Any] | None:
        status, version = self.state.classify(art.canonical_url, art.content_hash)
        if status == "unchanged":
            return None
        art = art.model_copy(update={"version": version})
        fut = self.producer.send(self.settings.raw_topic, key=art.id.encode(),
                                 value=art.to_bytes())
        if status == "new":
            result.new += 1
        else:
            result.changed += 1
        return art, fut

    def _confirm(self, pending: list[tuple[RawArticle, Any]]) -> None:
        """Wait for Kafka's acknowledgement, then remember the articles as sent."""
        self.producer.flush(timeout=60)
        for art, fut in pending:
            try:
                fut.get(timeout=60)
            except KafkaError as exc:
                raise Backpressure(f"Kafka did not take article {art.id}: {exc}") from exc
            self.state.mark_sent(art.canonical_url, art.content_hash, art.version)

    def _confirm_quietly(self, pending: list[tuple[RawArticle, Any]]) -> None:
        try:
            self._confirm(pending)
        except Backpressure as exc:
            log.error("%s", exc)

"""Batch handling shared by the agents: decode, enrich, index, dead-letter, retry, ack.

Offsets are acknowledged by hand (``noack_take``) after a batch's writes; a batch
whose writes fail is retried with capped backoff; a message that cannot be handled
goes to the dead-letter topic with its stage and reason, and the batch goes on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import faust
from faust.types import EventT

from pipeline.core import metrics
from pipeline.core.contracts import DeadLetter, DeadLetterStage, EnrichedArticle, RawArticle
from pipeline.core.errors import ContractError, EnrichmentError
from pipeline.core.settings import Settings
from pipeline.enrich.article import Enricher
from pipeline.index.indexer import Indexer

log = logging.getLogger("newsflow.worker")
M = TypeVar("M")
Handler = Callable[[list[EventT]], Awaitable[None]]


@dataclass
class Batches:
    """The batch steps of both agents, bound to the output topics."""

    settings: Settings
    enriched: faust.TopicT
    dead_letters: faust.TopicT

    async def dead_letter(self, stage: DeadLetterStage, exc: BaseException,
                          event: EventT, article_id: str | None = None) -> None:
        msg = event.message
        payload = msg.value if isinstance(msg.value, bytes) else str(msg.value).encode()
        letter = DeadLetter.of(stage=stage, exc=exc, payload=payload, article_id=article_id,
                               topic=msg.topic, partition=msg.partition, offset=msg.offset)
        fut = await self.dead_letters.send(key=(article_id or "").encode() or None,
                                           value=letter.to_bytes())
        await fut
        metrics.DEAD_LETTERS.labels(stage).inc()
        metrics.ERRORS.labels(stage, type(exc).__name__).inc()
        log.warning("dead-lettered %s at %s[%s]@%s: %s", article_id, msg.topic, msg.partition,
                    msg.offset, exc)

    async def until_done(self, stage: str, batch: Callable[[], Awaitable[None]]) -> None:
        """Run a batch handler until it succeeds: Kafka or Elasticsearch being away is
        waited out with backoff, never turned into acknowledged-but-lost messages."""
        delay = 0.5
        while True:
            try:
                await batch()
                metrics.BACKPRESSURE.labels(stage).set(0)
                return
            except Exception as exc:  # noqa: BLE001 - anything: wait, retry, keep the offsets
                metrics.BACKPRESSURE.labels(stage).set(1)
                metrics.ERRORS.labels(stage, type(exc).__name__).inc()
                log.warning("%s batch failed (%s: %s); retrying in %.1fs", stage,
                            type(exc).__name__, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def decode(self, events: list[EventT], parse: Callable[[bytes], M]
                     ) -> list[tuple[EventT, M]]:
        """Parse each message with its contract; poison goes to the dead-letter topic."""
        good: list[tuple[EventT, M]] = []
        for event in events:
            try:
                good.append((event, parse(event.value)))
            except ContractError as exc:
                await self.dead_letter("decode", exc, event)
        return good

    async def enrich(self, events: list[EventT], enricher: Enricher) -> None:
        """Decode, enrich (in a thread: the event loop keeps heart-beating), produce."""
        metrics.MESSAGES_IN.labels("enrich").inc(len(events))
        good = await self.decode(events, RawArticle.from_bytes)
        if not good:
            return
        loop = asyncio.get_running_loop()
        results = await loop.run_in_executor(None, enricher.enrich, [a for _, a in good])
        futures = []
        for (event, raw), result in zip(good, results, strict=True):
            if isinstance(result, EnrichmentError):
                await self.dead_letter("enrich", result, event, raw.id)
                continue
            futures.append(await self.enriched.send(key=raw.id.encode(),
                                                    value=result.to_bytes()))
        for fut in futures:
            await fut  # delivered to Kafka before the raw offsets are acknowledged
        metrics.MESSAGES_OUT.labels("enrich").inc(len(futures))

    async def index(self, events: list[EventT], indexer: Indexer) -> None:
        """Decode and bulk-index; Elasticsearch rejections go to the dead-letter topic."""
        metrics.MESSAGES_IN.labels("index").inc(len(events))
        good = await self.decode(events, EnrichedArticle.from_bytes)
        by_id = {art.id: ev for ev, art in good}
        rejected = await indexer.index([a for _, a in good])
        for art, rejection in rejected:
            await self.dead_letter("index", rejection, by_id[art.id], art.id)
        metrics.MESSAGES_OUT.labels("index").inc(len(good) - len(rejected))

    async def consume(self, stage: str, stream: faust.StreamT, size: int,
                      handler: Handler) -> None:
        """Batches of ``size`` (or what came within ``batch_within`` s), acked after writes.

        ``noack_take``: offsets are acknowledged here, after the batch's writes, and never
        by a cancelled or failed batch (``take()`` would acknowledge those too).
        """
        async for events in stream.noack_take(  # type: ignore[attr-defined]
                size, within=self.settings.batch_within):
            t0 = time.perf_counter()
            batch = list(events)
            await self.until_done(stage, lambda: handler(batch))  # noqa: B023 - awaited here
            for event in events:
                await stream.ack(event)
            metrics.BATCH_SECONDS.labels(stage).observe(time.perf_counter() - t0)

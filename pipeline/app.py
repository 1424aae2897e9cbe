"""The Faust application: enrich raw articles, index enriched ones.

    faust -A pipeline.app worker -l info        # or: newsflow worker

Agents (concurrency 1 each; scale with partitions and worker processes):

* ``enrich``: raw topic -> batches (``noack_take`` with a time bound) -> spaCy
  in a worker thread (the event loop keeps heart-beating) -> enriched topic.
* ``index``: enriched topic -> batches -> Elasticsearch bulk.

A message that cannot be handled goes to the dead-letter topic with its stage,
reason and original bytes; the rest of its batch goes on. A batch whose writes
fail (Kafka or Elasticsearch away) is retried with backoff until it succeeds.
Offsets are acknowledged by hand only after a batch's outputs are written
(``take()`` would acknowledge a batch that raised or was cancelled), so a crash
or a kill replays at most the unfinished batches, and ids make replays idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import faust

from connectors.contract import RawArticle
from pipeline import metrics
from pipeline.config import Settings
from pipeline.contracts import DeadLetter, EnrichedArticle
from pipeline.errors import ContractError, EnrichmentError

log = logging.getLogger("newsflow.worker")
settings = Settings.from_env()
DATADIR = settings.home / "faust" / os.environ.get("NEWSFLOW_WORKER_INDEX", "0")
DATADIR.mkdir(parents=True, exist_ok=True)
# A batch closes when full or after BATCH_WITHIN seconds: under load batches fill up
# (throughput), at moderate rates small batches go out fast (latency).
BATCH_SIZE = int(os.environ.get("NEWSFLOW_BATCH_SIZE", "32"))
BATCH_WITHIN = float(os.environ.get("NEWSFLOW_BATCH_WITHIN", "0.2"))
MAX_MESSAGE = 16 * 1024 * 1024

def _loghandlers() -> list[logging.Handler]:
    """JSON lines on stderr when NEWSFLOW_LOG_FORMAT=json (beside Faust's own log)."""
    from pipeline import logs

    if not logs.json_requested():
        return []
    handler = logging.StreamHandler()
    handler.setFormatter(logs.JsonFormatter())
    return [handler]


def _credentials() -> faust.SASLCredentials | None:
    if not settings.kafka_sasl_mechanism:
        return None
    return faust.SASLCredentials(username=settings.kafka_sasl_username,
                                 password=settings.kafka_sasl_password,
                                 mechanism=settings.kafka_sasl_mechanism)


app = faust.App(
    settings.app_id,
    broker_credentials=_credentials(),
    loghandlers=_loghandlers(),
    broker=[f"kafka://{b}" for b in settings.kafka_bootstrap.split(",")],
    value_serializer="raw",
    key_serializer="raw",
    web_enabled=False,
    topic_partitions=settings.partitions,
    topic_replication_factor=1,
    consumer_auto_offset_reset="earliest",
    producer_acks=-1,
    producer_max_request_size=MAX_MESSAGE,
    consumer_max_fetch_size=MAX_MESSAGE,
    broker_commit_every=BATCH_SIZE,
    broker_commit_interval=1.0,
    broker_max_poll_interval=600.0,
    stream_buffer_maxsize=512,  # bounded read-ahead per partition: memory stays flat
    broker_session_timeout=15.0,  # a killed worker's partitions move on after 15 s, not 60
    broker_heartbeat_interval=3.0,
    datadir=str(DATADIR),
)
raw_topic = app.topic(settings.raw_topic, value_type=bytes, key_type=bytes,
                      partitions=settings.partitions)
enriched_topic = app.topic(settings.enriched_topic, value_type=bytes, key_type=bytes,
                           partitions=settings.partitions)
dead_letter_topic = app.topic(settings.dead_letter_topic, value_type=bytes, key_type=bytes,
                              partitions=1)

_state: dict[str, Any] = {}


def _enricher() -> Any:
    if "enricher" not in _state:
        from pipeline.enrich.article import Enricher

        _state["enricher"] = Enricher()
    return _state["enricher"]


def _indexer() -> Any:
    if "indexer" not in _state:
        from pipeline.indexer import Indexer

        _state["indexer"] = Indexer(settings)
    return _state["indexer"]


async def dead_letter(stage: str, exc: BaseException, event: faust.types.EventT,
                      article_id: str | None = None) -> None:
    msg = event.message
    payload = msg.value if isinstance(msg.value, bytes) else bytes(str(msg.value), "utf-8")
    letter = DeadLetter.of(stage=stage, exc=exc, payload=payload,  # type: ignore[arg-type]
                           article_id=article_id, topic=msg.topic, partition=msg.partition,
                           offset=msg.offset)
    fut = await dead_letter_topic.send(key=(article_id or "").encode() or None,
                                       value=letter.to_bytes())
    await fut
    metrics.DEAD_LETTERS.labels(stage).inc()
    metrics.ERRORS.labels(stage, type(exc).__name__).inc()
    log.warning("dead-lettered %s at %s[%s]@%s: %s", article_id, msg.topic, msg.partition,
                msg.offset, exc)


async def until_done(stage: str, batch: Callable[[], Awaitable[None]]) -> None:
    """Run a batch handler until it succeeds: Kafka or Elasticsearch being away is waited
    out with backoff, never turned into acknowledged-but-lost messages."""
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


M = TypeVar("M")


async def decode(events: list[faust.types.EventT], parse: Callable[[bytes], M]
                 ) -> list[tuple[faust.types.EventT, M]]:
    """Parse each message with its contract; poison goes to the dead-letter topic."""
    good: list[tuple[faust.types.EventT, M]] = []
    for event in events:
        try:
            good.append((event, parse(event.value)))
        except ContractError as exc:
            await dead_letter("decode", exc, event)
    return good


async def enrich_batch(events: list[faust.types.EventT]) -> None:
    """Decode, enrich (in a thread: the event loop keeps heart-beating), produce."""
    metrics.MESSAGES_IN.labels("enrich").inc(len(events))
    good = await decode(events, RawArticle.from_bytes)
    if not good:
        return
    loop = asyncio.get_running_loop()
    results = await loop.run_in_executor(None, _enricher().enrich, [a for _, a in good])
    futures = []
    for (event, raw), result in zip(good, results, strict=True):
        if isinstance(result, EnrichmentError):
            await dead_letter("enrich", result, event, raw.id)
            continue
        futures.append(await enriched_topic.send(key=raw.id.encode(), value=result.to_bytes()))
    for fut in futures:
        await fut  # delivered to Kafka before the raw offsets are acknowledged
    metrics.MESSAGES_OUT.labels("enrich").inc(len(futures))


async def index_batch(events: list[faust.types.EventT]) -> None:
    """Decode and bulk-index; Elasticsearch rejections go to the dead-letter topic."""
    metrics.MESSAGES_IN.labels("index").inc(len(events))
    good = await decode(events, EnrichedArticle.from_bytes)
    by_id = {art.id: ev for ev, art in good}
    rejected = await _indexer().index([a for _, a in good])
    for art, rejection in rejected:
        await dead_letter("index", rejection, by_id[art.id], art.id)
    metrics.MESSAGES_OUT.labels("index").inc(len(good) - len(rejected))


async def _consume(stage: str, stream: faust.StreamT, size: int,
                   handler: Callable[[list[faust.types.EventT]], Awaitable[None]]) -> None:
    # noack_take: offsets are acknowledged here, after the batch's writes, and never by a
    # cancelled or failed batch (take() would acknowledge those too).
    async for events in stream.noack_take(size, within=BATCH_WITHIN):  # type: ignore[attr-defined]
        t0 = time.perf_counter()
        batch = list(events)
        await until_done(stage, lambda: handler(batch))  # noqa: B023 - awaited right here
        for event in events:
            await stream.ack(event)
        metrics.BATCH_SECONDS.labels(stage).observe(time.perf_counter() - t0)


@app.agent(raw_topic, concurrency=1)
async def enrich(stream: faust.StreamT) -> None:
    await _consume("enrich", stream, BATCH_SIZE, enrich_batch)


async def _index_ready() -> None:
    """Create template, index and alias before the first write (waits for Elasticsearch)."""
    from pipeline.es_index import ensure_index

    loop = asyncio.get_running_loop()

    async def ready() -> None:
        await loop.run_in_executor(None, ensure_index, settings)

    await until_done("index", ready)


@app.agent(enriched_topic, concurrency=1)
async def index(stream: faust.StreamT) -> None:
    await _index_ready()
    await _consume("index", stream, 256, index_batch)


@app.task
async def _on_start() -> None:
    port = metrics.serve_from_env()
    log.info("newsflow worker started (metrics port %s)", port or "off")

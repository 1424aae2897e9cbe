"""The Faust application: enrich raw articles, index enriched ones.

``create_app(settings)`` builds everything; nothing happens at import time. The
worker entry point (``pipeline.stream.main``) builds it from the environment::

    faust -A pipeline.stream.main worker -l info --without-web   # or: newsflow worker

Agents (concurrency 1 each; scale with partitions and worker processes):

* ``funnel`` and ``stories``: raw topic -> one-partition stories topic -> story
  assignment (copies of a wire story join its first article's story) -> assigned
  topic, keyed by story (:mod:`pipeline.stream.stories`).
* ``enrich``: assigned topic -> batches (``noack_take`` with a time bound) -> spaCy
  in a worker thread (the event loop keeps heart-beating; a copy's enrichment is
  derived from its original's) -> enriched topic.
* ``index``: enriched topic -> batches -> Elasticsearch bulk.
* ``quotes`` and ``group`` (:mod:`pipeline.stream.quotes`): enriched topic -> one Quote
  per attribution -> quotes topic (one partition) -> quote groups -> the quotes index.

A message that can never be handled (unparseable, too big, rejected) goes to the
dead-letter topic once, with its stage, reason and original bytes (cut to a size
that fits); the rest of its batch goes on. A batch whose writes fail because Kafka
or Elasticsearch is away is retried with backoff until it succeeds; one that fails
for no known reason is retried a few times, then message by message
(:mod:`pipeline.stream.batches`). Offsets are acknowledged by hand only after a
batch's outputs are written (``take()`` would acknowledge a batch that raised or
was cancelled), so a crash or a kill replays at most the unfinished batches, and
ids with external versions make replays idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass, field
from typing import Any

import faust
from faust.types.auth import CredentialsT

from pipeline.core import logs, metrics
from pipeline.core.contracts import AssignedArticle
from pipeline.core.settings import MAX_MESSAGE_BYTES, Settings
from pipeline.enrich.article import Enricher
from pipeline.enrich.reuse import ReusingEnricher
from pipeline.index.indexer import Indexer
from pipeline.index.readiness import articles_ready
from pipeline.stream.batches import Batches
from pipeline.stream.quotes import add_quote_agents
from pipeline.stream.stories import add_stories
from pipeline.stream.topics import replication_for
from pipeline.stream.watchdog import Progress, add_watchdog

log = logging.getLogger("newsflow.worker")


def _loghandlers(settings: Settings) -> list[logging.Handler]:
    """JSON lines on stderr when NEWSFLOW_LOG_FORMAT=json (beside Faust's own log)."""
    if not settings.json_logs:
        return []
    handler = logging.StreamHandler()
    handler.setFormatter(logs.JsonFormatter())
    return [handler]


def broker_credentials(settings: Settings) -> CredentialsT | None:
    """The worker's Kafka credentials, as the other clients': TLS (the configured CA, the
    hostname checked) for ``SSL`` and ``SASL_SSL``, SASL when a mechanism is set.

    >>> broker_credentials(Settings(kafka_security_protocol="SSL")).protocol.value
    'SSL'
    """
    context = kafka_ssl_context(settings)
    if settings.kafka_sasl_mechanism:
        return faust.SASLCredentials(username=settings.kafka_sasl_username,
                                     password=settings.kafka_sasl_password,
                                     mechanism=settings.kafka_sasl_mechanism,
                                     ssl_context=context)
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def kafka_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The client TLS context for ``SSL``/``SASL_SSL`` (None otherwise): certificates
    verified against ``NEWSFLOW_KAFKA_SSL_CAFILE`` (the system's CAs when unset), the broker's
    name checked unless ``NEWSFLOW_KAFKA_SSL_CHECK_HOSTNAME=false``."""
    if not settings.kafka_tls:
        return None
    context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile)
    context.check_hostname = settings.kafka_ssl_check_hostname
    return context


def faust_app(settings: Settings, *, replication: int | None = None) -> faust.App:
    """The Faust app with newsflow's Kafka settings (bounded read-ahead, manual acks); the
    topics it declares get ``replication`` copies (default: resolved against the cluster)."""
    if replication is None:
        replication, _ = replication_for(settings)
    datadir = settings.home / "faust" / str(settings.worker_index)
    datadir.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    return faust.App(
        settings.app_id,
        broker_credentials=broker_credentials(settings),
        loghandlers=_loghandlers(settings),
        broker=[f"kafka://{b}" for b in settings.kafka_bootstrap.split(",")],
        value_serializer="raw",
        key_serializer="raw",
        web_enabled=False,
        topic_partitions=settings.partitions,
        topic_replication_factor=replication,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_max_request_size=MAX_MESSAGE_BYTES,
        consumer_max_fetch_size=MAX_MESSAGE_BYTES,
        broker_commit_every=settings.commit_every or settings.batch_size,
        broker_commit_interval=settings.commit_interval,
        broker_max_poll_interval=600.0,
        stream_buffer_maxsize=512,  # bounded read-ahead per partition: memory stays flat
        broker_session_timeout=15.0,  # a killed worker's partitions move on after 15 s, not 60
        broker_heartbeat_interval=3.0,
        datadir=str(datadir),
    )


@dataclass
class Pipeline:
    """The built app, its topics and the stage objects the agents use."""

    settings: Settings
    app: faust.App
    batches: Batches
    _enricher: Enricher | None = field(default=None, repr=False)
    _indexer: Indexer | None = field(default=None, repr=False)
    _reusing: ReusingEnricher | None = field(default=None, repr=False)
    closing: list[Any] = field(default_factory=list, repr=False)  # more clients' owners

    def enricher(self) -> Enricher:
        """The spaCy enricher, loaded on first use (in the worker, not at build time)."""
        if self._enricher is None:
            self._enricher = Enricher(model=self.settings.spacy_model)
        return self._enricher

    def reusing(self) -> ReusingEnricher:
        """The enricher of assigned articles: copies derived from the originals it holds."""
        if self._reusing is None:
            self._reusing = ReusingEnricher(self.enricher())
        return self._reusing

    def indexer(self) -> Indexer:
        if self._indexer is None:
            self._indexer = Indexer(self.settings)
        return self._indexer

    async def close(self) -> None:
        """Close every Elasticsearch client of the stages (the worker's shutdown, once the
        consumer stopped: nothing writes any more); a later use makes new ones."""
        indexer, self._indexer = self._indexer, None
        for stage in ([indexer] if indexer else []) + self.closing:
            try:
                await stage.close()
            except Exception as exc:  # noqa: BLE001 - shutting down: say it, go on
                log.warning("closing %s's Elasticsearch client: %s", type(stage).__name__, exc)


def create_app(settings: Settings, *, replication: int | None = None) -> Pipeline:
    """Build the Faust app with the ``enrich`` and ``index`` agents for ``settings``; its
    topics' copies are ``replication`` (default: resolved against the cluster, so Kafka
    must answer: the worker waits for it first)."""
    app = faust_app(settings, replication=replication)
    topic = {name: app.topic(name, value_type=bytes, key_type=bytes,
                             partitions=settings.topic_partitions(name))
             for name in settings.topics}
    progress = Progress(timeout=settings.stall_timeout)
    batches = Batches(settings=settings, enriched=topic[settings.enriched_topic],
                      dead_letters=topic[settings.dead_letter_topic], progress=progress)
    app.on_partitions_revoked.connect(batches.gaps.on_rebalance)  # a partition that
    app.on_partitions_assigned.connect(batches.gaps.on_rebalance)  # moved is no gap
    app.on_partitions_assigned.connect(progress.on_assigned)  # idle from the assignment
    if settings.stall_check > 0:
        add_watchdog(app, progress, topics=frozenset(settings.topics), every=settings.stall_check)
    pipe = Pipeline(settings=settings, app=app, batches=batches)
    stories = add_stories(app, settings, batches, topic)

    @app.agent(stories.assigned, concurrency=1)
    async def enrich(stream: faust.StreamT) -> None:
        await batches.consume("enrich", stream, settings.batch_size,
                              lambda events: batches.enrich(events, pipe.reusing(),
                                                            AssignedArticle.from_bytes))

    @app.agent(topic[settings.enriched_topic], concurrency=1)
    async def index(stream: faust.StreamT) -> None:
        loop = asyncio.get_running_loop()

        async def ready() -> None:  # alias and mapping checked before the first write
            await loop.run_in_executor(None, articles_ready, settings)

        await batches.until_ready("index", ready, places=[settings.enriched_topic])
        await batches.consume("index", stream, 256,
                              lambda events: batches.index(events, pipe.indexer()))

    pipe.closing += [stories.state, add_quote_agents(app, settings, batches, topic)]

    async def close_clients(sender: Any, /, *args: Any, signal: Any = None,
                            **kwargs: Any) -> None:
        await pipe.close()

    app.on_before_shutdown.connect(close_clients)

    @app.task
    async def on_start() -> None:
        port = metrics.serve(settings.metrics_port)
        log.info("newsflow worker started (metrics port %s)", port or "off")

    return pipe

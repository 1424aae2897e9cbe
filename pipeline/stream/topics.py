"""Create the pipeline's topics with their partitions, and wait for the brokers
(kafka-python admin).

    ensure_topics(Settings.from_env())   # -> ['news.raw.v1', ...] (the ones created)
"""

from __future__ import annotations

import logging
import time

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from pipeline.core.settings import MAX_MESSAGE_BYTES, Settings

log = logging.getLogger("newsflow.worker")


def kafka_problem(settings: Settings, *, timeout_ms: int = 5000) -> str | None:
    """Why the brokers do not answer a metadata request, or None when they do."""
    try:
        admin = KafkaAdminClient(**settings.kafka_client_config(),
                                 client_id="newsflow-probe", request_timeout_ms=timeout_ms)
        try:
            admin.list_topics()
        finally:
            admin.close()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable yet"
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    return None


def wait_for_kafka(settings: Settings, *, every: float = 2.0) -> None:
    """Block until the brokers answer (a worker restarted by its watchdog while Kafka is
    away, or started before it, waits here instead of failing), saying so every 30 s."""
    start = last = time.monotonic()
    while (problem := kafka_problem(settings)) is not None:
        if time.monotonic() - last >= 30 or last == start:
            log.warning("waiting for Kafka at %s (%s)", settings.kafka_bootstrap, problem)
            last = time.monotonic()
        time.sleep(every)


def ensure_topics(settings: Settings, *, replication: int = 1) -> list[str]:
    """Create missing topics; return the names created (existing ones are kept)."""
    admin = KafkaAdminClient(**settings.kafka_client_config(),
                             client_id="newsflow-setup", request_timeout_ms=15000)
    try:
        existing = set(admin.list_topics())
        wanted = [NewTopic(name, settings.topic_partitions(name), replication,
                           topic_configs={"max.message.bytes": str(MAX_MESSAGE_BYTES)})
                  for name in settings.topics]
        missing = [t for t in wanted if t.name not in existing]
        created = []
        for topic in missing:
            try:
                admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        admin.close()

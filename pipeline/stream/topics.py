"""Create the pipeline's topics with their partitions and copies, and wait for the brokers
(kafka-python admin).

    ensure_topics(Settings.from_env())   # -> ['news.raw.v1', ...] (the ones created)
    replication_for(settings)            # -> (3, 2) on three brokers with the defaults
"""

from __future__ import annotations

import logging
import time
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from pipeline.core.errors import ConfigError
from pipeline.core.replication import problems, resolve_topics
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


def broker_count(settings: Settings) -> int:
    """How many brokers the cluster has (fenced ones left out)."""
    admin = KafkaAdminClient(**settings.kafka_client_config(),
                             client_id="newsflow-setup", request_timeout_ms=15000)
    try:
        brokers = admin.describe_cluster()["brokers"]
        return sum(1 for b in brokers if not b.get("is_fenced"))
    finally:
        admin.close()


def replication_for(settings: Settings, *, brokers: int | None = None) -> tuple[int, int]:
    """(replication factor, min.insync.replicas) for this cluster; a setting that cannot
    hold raises :class:`ConfigError` saying which variable to change."""
    brokers = broker_count(settings) if brokers is None else brokers
    found = problems(settings.replication, brokers=brokers)
    if found.errors:
        raise ConfigError("; ".join(found.errors))
    return resolve_topics(settings.replication, brokers=brokers)


def under_replicated(described: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Partitions with fewer in-sync replicas than replicas, by topic (from
    ``describe_topics``).

    >>> under_replicated([{"name": "t", "partitions": [
    ...     {"partition_index": 0, "replica_nodes": [1, 2], "isr_nodes": [1]},
    ...     {"partition_index": 1, "replica_nodes": [1, 2], "isr_nodes": [2, 1]}]}])
    {'t': [0]}
    """
    out: dict[str, list[int]] = {}
    for topic in described:
        lagging = sorted(p["partition_index"] for p in topic.get("partitions", [])
                         if len(p["isr_nodes"]) < len(p["replica_nodes"]))
        if lagging:
            out[topic["name"]] = lagging
    return out


def ensure_topics(settings: Settings, *, replication: tuple[int, int] | None = None
                  ) -> list[str]:
    """Create missing topics with the configured copies (``replication``: factor and
    min.insync.replicas, default resolved against the cluster); return the names created
    (existing ones are kept as they are)."""
    factor, insync = replication or replication_for(settings)
    admin = KafkaAdminClient(**settings.kafka_client_config(),
                             client_id="newsflow-setup", request_timeout_ms=15000)
    try:
        existing = set(admin.list_topics())
        configs = {"max.message.bytes": str(MAX_MESSAGE_BYTES),
                   "min.insync.replicas": str(insync)}
        wanted = [NewTopic(name, settings.topic_partitions(name), factor,
                           topic_configs=configs)
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


def topic_copies(settings: Settings) -> dict[str, int]:
    """The replication factor each existing pipeline topic has."""
    admin = KafkaAdminClient(**settings.kafka_client_config(),
                             client_id="newsflow-setup", request_timeout_ms=15000)
    try:
        return {t["name"]: min(len(p["replica_nodes"]) for p in t["partitions"])
                for t in admin.describe_topics(list(settings.topics))
                if not t.get("error_code") and t.get("partitions")}
    finally:
        admin.close()

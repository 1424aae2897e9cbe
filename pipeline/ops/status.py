"""``newsflow status``: the stack, the topics, consumer lag, sources, the index.

    newsflow status --json
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import CoordinatorNotAvailableError, NotCoordinatorError

from connectors.alarm import silent_for, stopped
from connectors.state import StateStore
from pipeline.core.settings import Settings
from pipeline.stream.topics import under_replicated


def _topics(settings: Settings) -> dict[str, Any]:
    admin = KafkaAdminClient(**settings.kafka_client_config(),
                             request_timeout_ms=5000, client_id="newsflow-status")
    consumer = KafkaConsumer(**settings.kafka_client_config(),
                             request_timeout_ms=6000, client_id="newsflow-status")
    try:
        described = {t["name"]: t for t in admin.describe_topics(list(settings.topics))
                     if not t.get("error_code")}
        lagging = under_replicated(list(described.values()))
        committed = _committed(admin, settings.app_id)
        out: dict[str, Any] = {}
        for name in settings.topics:
            if name not in described:
                out[name] = {"exists": False}
                continue
            tps = [TopicPartition(name, p["partition_index"])
                   for p in described[name]["partitions"]]
            ends = consumer.end_offsets(tps)
            begins = consumer.beginning_offsets(tps)
            group = {tp: committed[tp].offset for tp in tps if tp in committed}
            lag = sum(max(0, ends[tp] - group.get(tp, begins[tp])) for tp in tps) \
                if name != settings.dead_letter_topic else None
            parts = described[name]["partitions"]
            out[name] = {"exists": True, "partitions": len(tps),
                         "messages": sum(ends[tp] - begins[tp] for tp in tps),
                         "consumer_lag": lag,
                         "replication": min(len(p["replica_nodes"]) for p in parts),
                         "under_replicated": lagging.get(name, []),
                         "offline": sorted(p["partition_index"] for p in parts
                                           if p["leader_id"] < 0)}
        return out
    finally:
        consumer.close()
        admin.close()


def _committed(admin: KafkaAdminClient, group: str) -> dict[Any, Any]:
    """The group's committed offsets; a coordinator still being elected (the offsets
    topic's first use, a broker that moved) is asked again for a few seconds."""
    for attempt in range(10):
        try:
            found: dict[Any, Any] = admin.list_group_offsets(group).get(group, {})
            return found
        except (CoordinatorNotAvailableError, NotCoordinatorError):
            if attempt == 9:
                raise
            time.sleep(0.5)
    return {}


def _index(settings: Settings, alias: str | None = None) -> dict[str, Any]:
    from pipeline.index.mapping import client

    alias = alias or settings.index_alias
    es = client(settings)
    try:
        if not es.indices.exists_alias(name=alias):
            return {"alias": alias, "exists": False}
        indices = list(es.indices.get_alias(name=alias))
        count = es.count(index=alias)["count"]
        return {"alias": alias, "exists": True, "indices": indices, "documents": count}
    finally:
        es.close()


def _cluster(settings: Settings) -> dict[str, Any]:
    """Brokers, and the Elasticsearch cluster's health (status, nodes, unassigned shards)."""
    from pipeline.index.mapping import client
    from pipeline.index.replicas import es_health
    from pipeline.stream.topics import broker_count

    es = client(settings)
    try:
        health = es_health(es)
    finally:
        es.close()
    return {"kafka_brokers": broker_count(settings), "elasticsearch": health}


def _quotes_index(settings: Settings) -> dict[str, Any]:
    """The quote groups' index (its documents are quote groups)."""
    return _index(settings, settings.quotes_index_alias)


def collect(settings: Settings, *, state_path: Path | None = None) -> dict[str, Any]:
    from pipeline.ops import stack
    from pipeline.ops.connect import default_state_path

    services = [asdict(s) for s in stack.status(settings)]
    report: dict[str, Any] = {"services": services, "healthy": all(s["healthy"]
                                                                   for s in services)}
    from pipeline.stream.quotestate import report as quotes_state
    from pipeline.stream.storystate import report as stories_state

    for key, fn in (("topics", _topics), ("index", _index), ("quotes_index", _quotes_index),
                    ("stories_state", stories_state), ("quotes_state", quotes_state),
                    ("cluster", _cluster)):
        try:
            report[key] = fn(settings)
        except Exception as exc:  # noqa: BLE001 - report what is unreachable, go on
            report[key] = {"error": f"{type(exc).__name__}: {exc}"}
            report["healthy"] = False
    if _unavailable(report):
        report["healthy"] = False
    path = state_path or default_state_path(settings)
    report["sources"] = sources_report(path)
    return report


def sources_report(path: Path, *, now: float | None = None) -> list[dict[str, Any]]:
    """Each source's health, with ``stopped`` (no new item for its alarm threshold) and
    ``silent_for`` (seconds since its last new item)."""
    if not path.exists():
        return []
    return [{**asdict(h), "stopped": stopped(h, now=now), "silent_for": silent_for(h, now=now)}
            for h in StateStore(path).all_health()]


def _unavailable(report: dict[str, Any]) -> bool:
    """A partition without a leader or a red Elasticsearch: some data cannot be served
    (under-replicated partitions and yellow are reported, and still serve)."""
    offline = any(t.get("offline") for t in report.get("topics", {}).values()
                  if isinstance(t, dict))
    es = report.get("cluster", {}).get("elasticsearch") or {}
    return offline or es.get("status") == "red"

"""A real local cluster (three KRaft brokers in one quorum, two Elasticsearch nodes) from the
stack's own code: replicated topics and indices, setup's checks against it, a broker lost
and back as `status` sees it, and `stack down` stopping every node."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType

from pipeline.core.errors import ConfigError
from pipeline.core.settings import Settings
from pipeline.ops import stack
from pipeline.ops.cluster import check
from pipeline.ops.stack import services
from pipeline.ops.status import collect
from pipeline.stream.app import faust_app
from pipeline.stream.topics import ensure_topics, replication_for
from tests.conftest import wait_for
from tests.fault.cluster_kit import BROKERS, NODES, local_cluster

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster() -> Iterator[Settings]:
    with local_cluster(Settings.from_env(), "cluster-test", prefix="cl") as settings:
        yield settings


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {**os.environ, "NEWSFLOW_HOME": str(settings.home),
            "NEWSFLOW_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "NEWSFLOW_ES_URL": settings.es_url, "NEWSFLOW_TOPIC_PREFIX": "cl",
            "NEWSFLOW_INDEX": "cl-articles", **extra}


def test_every_node_runs_in_one_cluster(cluster: Settings) -> None:
    rows = stack.status(cluster)
    assert [r.name for r in rows] == ["kafka-1", "kafka-2", "kafka-3", "elasticsearch-1",
                                      "elasticsearch-2"]
    assert all(r.healthy for r in rows)
    found, problems = check(cluster)
    assert (found.brokers, found.es_data_nodes) == (BROKERS, NODES)
    assert (found.replication, found.min_insync) == (3, 2) and problems.errors == []


def test_topics_have_three_copies_two_in_sync_and_the_worker_declares_three(
        cluster: Settings) -> None:
    ensure_topics(cluster)
    admin = KafkaAdminClient(**cluster.kafka_client_config())
    try:
        for topic in admin.describe_topics(list(cluster.topics)):
            assert {len(p["replica_nodes"]) for p in topic["partitions"]} == {3}, topic["name"]
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)
                                          for name in cluster.topics])["topic"]
        assert {c["min.insync.replicas"]["value"] for c in configs.values()} == {"2"}
    finally:
        admin.close()
    assert faust_app(cluster).conf.topic_replication_factor == 3


def test_setup_refuses_what_the_cluster_cannot_hold(cluster: Settings) -> None:
    too_many = Settings.from_env(_env(cluster, NEWSFLOW_TOPIC_REPLICATION="4"))
    with pytest.raises(ConfigError, match="replication factor 4 > 3 broker"):
        replication_for(too_many)
    cli = [sys.executable, "-m", "pipeline.cli", "setup", "--no-kibana"]
    out = subprocess.run(cli, env=_env(cluster, NEWSFLOW_MIN_INSYNC_REPLICAS="3"),
                         capture_output=True, text=True, timeout=120)
    said = " ".join(out.stderr.split())  # the terminal's line breaks out
    assert out.returncode == 1 and "min.insync.replicas 3 >= replication" in said, said
    ok = subprocess.run(cli, env=_env(cluster), capture_output=True, text=True, timeout=180)
    assert ok.returncode == 0, ok.stderr
    assert "3 broker(s), 2 Elasticsearch data node(s)" in " ".join(ok.stderr.split())


def test_indices_get_a_replica_and_the_cluster_turns_green(cluster: Settings) -> None:
    from pipeline.index.mapping import client

    es = client(cluster)
    try:
        health = es.cluster.health(wait_for_status="green", timeout="60s")
        assert health["status"] == "green" and health["number_of_data_nodes"] == NODES
        for index in es.indices.get(index="cl-*"):
            settings = es.indices.get_settings(index=index)[index]["settings"]["index"]
            assert settings["number_of_replicas"] == "1", index
    finally:
        es.close()


def test_a_broker_lost_shows_as_under_replicated_and_writes_go_on(cluster: Settings) -> None:
    ensure_topics(cluster)
    pidfile = services.kafka_paths(cluster, 3)["pid"]
    assert services.stop_pid(pidfile)
    try:
        def lagging() -> bool:
            topics = collect(cluster)["topics"]
            return all(t.get("under_replicated") for t in topics.values())
        wait_for(lagging, timeout=90, what="partitions under-replicated")
        producer = KafkaProducer(**cluster.kafka_client_config(), acks="all")
        producer.send(cluster.raw_topic, b"written with a broker down").get(30)
        producer.close()
    finally:
        stack.up(cluster, say=lambda m: None, timeout=300)

    def caught_up() -> bool:
        topics = collect(cluster)["topics"]
        return not any(t.get("under_replicated") for t in topics.values())
    wait_for(caught_up, timeout=120, what="every replica back in sync")


def test_down_stops_every_node(cluster: Settings) -> None:
    """The module's last test: the fixture's teardown then wipes the stopped cluster."""
    stack.down(cluster, say=lambda m: None)
    assert not any(r.running for r in stack.status(cluster))

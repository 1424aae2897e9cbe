"""deploy/docker-compose.cluster.yml and the local cluster (`newsflow stack up --kafka-brokers 3
--es-nodes 2`) describe one topology: the same broker and node counts, ports, Kafka settings,
discovery and versions (the schema check is in test_compose_schema.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.core.settings import Settings
from pipeline.ops.stack import services
from pipeline.ops.stack.resources import read_versions
from pipeline.ops.stack.topology import (
    es_cluster_settings,
    es_nodes,
    internal_topics,
    kafka_nodes,
)
from tests.unit.compose_files import BASE, ROOT, load, merged

CLUSTER = ROOT / "deploy" / "docker-compose.cluster.yml"
BROKERS, NODES = 3, 2


def model() -> dict[str, Any]:
    return merged(BASE, CLUSTER)


def kafkas(m: dict[str, Any]) -> list[dict[str, Any]]:
    svcs = m["services"]
    return [svcs[n] for n in sorted(svcs) if svcs[n].get("image", "").startswith("apache/kafka")]


def elastics(m: dict[str, Any]) -> list[dict[str, Any]]:
    svcs = m["services"]
    return [svcs[n] for n in sorted(svcs)
            if "elasticsearch/elasticsearch" in svcs[n].get("image", "") and n != "certs"]


def host_ports(svc: dict[str, Any]) -> list[int]:
    return [int(str(p).split(":")[1]) for p in svc.get("ports", [])]


def props(svc: dict[str, Any]) -> dict[str, str]:
    """A Kafka image's environment as broker properties (KAFKA_A_B -> a.b)."""
    return {k.removeprefix("KAFKA_").lower().replace("_", "."): str(v)
            for k, v in svc["environment"].items() if k.startswith("KAFKA_")}


def local_properties(tmp_path: Path, node: int) -> dict[str, str]:
    settings = Settings(kafka_bootstrap="localhost:9092", home=tmp_path)
    text = services._kafka_properties(settings, tmp_path, node=node, brokers=BROKERS)
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_same_broker_and_node_counts_and_consecutive_host_ports() -> None:
    m = model()
    assert len(kafkas(m)) == BROKERS and len(elastics(m)) == NODES
    assert sorted(p for k in kafkas(m) for p in host_ports(k)) == \
        [n.port for n in kafka_nodes("localhost", 9092, BROKERS)]
    assert sorted(p for e in elastics(m) for p in host_ports(e)) == \
        [n.http_port for n in es_nodes("localhost", 9200, NODES)]


def test_kafka_settings_agree_with_the_local_cluster(tmp_path: Path) -> None:
    """Copies of Kafka's own topics, defaults, roles, the quorum's size, node ids."""
    wanted = {k: str(v) for k, v in internal_topics(BROKERS).items()}
    ids = set()
    for svc in kafkas(model()):
        p = props(svc)
        ids.add(p["node.id"])
        assert {k: p[k] for k in wanted} == wanted
        assert p["process.roles"] == "broker,controller"
        assert len(p["controller.quorum.voters"].split(",")) == BROKERS
        assert len({svc["environment"]["CLUSTER_ID"]}) == 1
        local = local_properties(tmp_path, int(p["node.id"]))
        for key in ("message.max.bytes", "group.initial.rebalance.delay.ms",
                    "process.roles", *wanted):
            assert p[key] == local[key], key
        assert len(local["controller.quorum.voters"].split(",")) == BROKERS
    assert ids == {str(n) for n in range(1, BROKERS + 1)}
    assert len({k["environment"]["CLUSTER_ID"] for k in kafkas(model())}) == 1


def test_elasticsearch_nodes_join_one_cluster_as_the_local_ones() -> None:
    nodes = es_nodes("localhost", 9200, NODES)
    local = es_cluster_settings(nodes[0], nodes)
    assert set(local) == {"node.name", "discovery.seed_hosts", "cluster.initial_master_nodes"}
    names = []
    for svc in elastics(model()):
        env = svc["environment"]
        assert env["discovery.type"] == "multi-node"
        names.append(env["node.name"])
        assert len(env["discovery.seed_hosts"].split(",")) == NODES
        assert len(env["cluster.initial_master_nodes"].split(",")) == NODES
        assert env["cluster.initial_master_nodes"] == env["discovery.seed_hosts"]
    assert sorted(names) == sorted(env["cluster.initial_master_nodes"].split(","))


@pytest.mark.parametrize("kind", ["kafka", "elasticsearch"])
def test_versions_are_the_pins(kind: str) -> None:
    versions = read_versions()
    m = model()
    pin = versions["KAFKA_VERSION" if kind == "kafka" else "ELASTICSEARCH_VERSION"]
    for svc in (kafkas(m) if kind == "kafka" else elastics(m)):
        assert svc["image"].rsplit(":", 1)[1] == pin


def test_newsflow_services_bootstrap_from_every_broker() -> None:
    m = model()
    for name in ("setup", "worker", "connectors"):
        boot = m["services"][name]["environment"]["NEWSFLOW_KAFKA_BOOTSTRAP"].split(",")
        assert len(boot) == BROKERS, name
    assert {"kafka-2", "kafka-3", "elasticsearch-2"} <= set(m["services"]["setup"]["depends_on"])


def test_a_drift_is_caught(tmp_path: Path) -> None:
    m = load(CLUSTER)
    m["x-kafka-cluster-env"]["KAFKA_MIN_INSYNC_REPLICAS"] = 1
    p = props({"environment": m["x-kafka-cluster-env"]})
    assert p["min.insync.replicas"] != str(internal_topics(BROKERS)["min.insync.replicas"])

"""The local stack's shape: how many Kafka brokers and Elasticsearch nodes, on which ports,
with which settings. Pure: the services module starts what this describes, and a test holds
deploy/docker-compose.cluster.yml to the same plan.

Ports follow from the first address of ``NEWSFLOW_KAFKA_BOOTSTRAP`` and ``NEWSFLOW_ES_URL``:
brokers on consecutive ports from it, their controllers right after; Elasticsearch nodes'
HTTP on consecutive ports, their transport 100 above. One broker and one node is exactly the
single-node stack (controller on the broker's port + 1)::

    >>> [(b.node_id, b.port, b.controller_port) for b in kafka_nodes("localhost", 9092, 3)]
    [(1, 9092, 9095), (2, 9093, 9096), (3, 9094, 9097)]
    >>> three, one = internal_topics(3), internal_topics(1)
    >>> rf = "default.replication.factor"
    >>> three[rf], three["min.insync.replicas"], one["min.insync.replicas"]
    (3, 2, 1)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.core.errors import StackError
from pipeline.core.replication import Replication, resolve_topics


@dataclass(frozen=True)
class Topology:
    """How many brokers (combined broker + controller, one KRaft quorum) and ES nodes."""

    kafka_brokers: int = 1
    es_nodes: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.kafka_brokers <= 9 or not 1 <= self.es_nodes <= 9:
            raise StackError("the local stack runs 1 to 9 Kafka brokers and 1 to 9 "
                             "Elasticsearch nodes")

    @property
    def single(self) -> bool:
        return self.kafka_brokers == 1 and self.es_nodes == 1


@dataclass(frozen=True)
class KafkaNode:
    node_id: int
    host: str
    port: int
    controller_port: int


@dataclass(frozen=True)
class EsNode:
    index: int
    name: str
    host: str
    http_port: int
    transport_port: int


def kafka_nodes(host: str, port: int, brokers: int) -> list[KafkaNode]:
    return [KafkaNode(i, host, port + i - 1, port + brokers + i - 1)
            for i in range(1, brokers + 1)]


def es_nodes(host: str, port: int, nodes: int) -> list[EsNode]:
    return [EsNode(i, f"newsflow-{i}", host, port + i - 1, port + 100 + i - 1)
            for i in range(1, nodes + 1)]


def internal_topics(brokers: int) -> dict[str, int]:
    """Copies of Kafka's own topics and the brokers' defaults for topics they create
    (Faust's), by the same rule as newsflow's topics (``auto``)."""
    factor, insync = resolve_topics(Replication(), brokers=brokers)
    return {"offsets.topic.replication.factor": factor,
            "transaction.state.log.replication.factor": factor,
            "transaction.state.log.min.isr": insync,
            "share.coordinator.state.topic.replication.factor": factor,
            "share.coordinator.state.topic.min.isr": insync,
            "default.replication.factor": factor,
            "min.insync.replicas": insync}


def quorum_voters(nodes: list[KafkaNode]) -> str:
    return ",".join(f"{n.node_id}@{n.host}:{n.controller_port}" for n in nodes)


def es_cluster_settings(node: EsNode, nodes: list[EsNode]) -> dict[str, str]:
    """How one Elasticsearch node finds the others (single-node discovery when alone)."""
    if len(nodes) == 1:
        return {"discovery.type": "single-node"}
    return {"node.name": node.name,
            "discovery.seed_hosts": ",".join(f"{n.host}:{n.transport_port}" for n in nodes),
            "cluster.initial_master_nodes": ",".join(n.name for n in nodes)}


def topology_file(home: Path) -> Path:
    return home / "stack.json"


def saved(home: Path) -> Topology | None:
    """The topology the stack in ``home`` was made with (None: never started)."""
    try:
        return Topology(**json.loads(topology_file(home).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def save(home: Path, topology: Topology) -> None:
    home.mkdir(parents=True, exist_ok=True)
    topology_file(home).write_text(json.dumps(asdict(topology)) + "\n")

"""The cluster ``newsflow setup`` talks to, checked against the replication settings.

    found = check(Settings.from_env())
    found.errors     # setup refuses: e.g. replication 3 on 2 brokers
    found.warnings   # setup goes on and says so: e.g. one copy only

What is checked: the topics' replication factor and ``min.insync.replicas`` against the
live brokers (:mod:`pipeline.core.replication`), existing topics made with fewer copies than
configured (Kafka does not add copies by itself: ``kafka-reassign-partitions``), and the
index replicas against the Elasticsearch data nodes.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.core.replication import Problems, problems, resolve_topics
from pipeline.core.settings import Settings
from pipeline.index.mapping import client
from pipeline.stream.topics import broker_count, topic_copies


@dataclass(frozen=True)
class Cluster:
    """What setup found: brokers, Elasticsearch data nodes, and the copies it will make."""

    brokers: int
    es_data_nodes: int
    replication: int
    min_insync: int

    def describe(self) -> str:
        return (f"{self.brokers} broker(s), {self.es_data_nodes} Elasticsearch data node(s): "
                f"topics with {self.replication} copies, min.insync.replicas "
                f"{self.min_insync}")


def es_data_nodes(settings: Settings) -> int:
    es = client(settings)
    try:
        return int(es.cluster.health()["number_of_data_nodes"])
    finally:
        es.close()


def check(settings: Settings) -> tuple[Cluster, Problems]:
    """Look at the live cluster; say what cannot hold and what holds weakly."""
    brokers, nodes = broker_count(settings), es_data_nodes(settings)
    found = problems(settings.replication, brokers=brokers, es_data_nodes=nodes)
    factor, insync = resolve_topics(settings.replication, brokers=brokers)
    for name, copies in sorted(topic_copies(settings).items()):
        if copies < factor:
            found.warnings.append(
                f"topic {name} exists with {copies} cop{'y' if copies == 1 else 'ies'}, "
                f"fewer than {factor}: Kafka keeps it so; add replicas with "
                "kafka-reassign-partitions")
    return Cluster(brokers, nodes, factor, insync), found

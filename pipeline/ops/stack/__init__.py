"""The local stack: a real Kafka (KRaft) and a real Elasticsearch, no Docker.

    newsflow stack up       # download once, start both, wait until healthy
    newsflow stack status
    newsflow stack down
    newsflow stack up --kafka-brokers 3 --es-nodes 2   # a local cluster (KRaft quorum of 3)
    newsflow stack down --wipe                         # stop and delete the data

``up`` is idempotent: services already running and healthy are left alone.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.errors import StackError
from pipeline.core.settings import Settings
from pipeline.ops.stack import fetch, services
from pipeline.ops.stack.process import _ensure_es_user
from pipeline.ops.stack.topology import (
    EsNode,
    KafkaNode,
    Topology,
    es_nodes,
    kafka_nodes,
    save,
    saved,
    topology_file,
)


@dataclass
class ServiceStatus:
    name: str
    running: bool
    healthy: bool
    pid: int | None
    address: str


def _wait(check: Callable[[], bool], *, what: str, timeout: float, logs: str,
          alive: Callable[[], bool] | None = None) -> None:
    """Until ``check()``; a process that exited meanwhile (``alive()`` false: a port
    taken, a bad setting) fails at once instead of at the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if alive is not None and not alive():
            raise StackError(f"{what} exited while starting; see {logs}")
        time.sleep(1.0)
    raise StackError(f"{what} did not become healthy within {timeout:.0f}s; see {logs}")


def chosen(settings: Settings, topology: Topology | None) -> Topology:
    """The topology asked for, else the one this home was made with, else one node each.
    A home holding another topology's data is refused (its quorum and cluster would not
    join the new one)."""
    before = saved(settings.home)
    want = topology or before or Topology()
    has_data = (services.kafka_paths(settings)["data"] / "meta.properties").exists()
    if has_data and want != (before or Topology()):
        was = before or Topology()
        raise StackError(f"{settings.home} holds a stack of {was.kafka_brokers} broker(s) and "
                         f"{was.es_nodes} Elasticsearch node(s): `newsflow stack down --wipe` "
                         "first (deletes its data), or set another NEWSFLOW_HOME")
    return want


def up(settings: Settings, *, topology: Topology | None = None,
       say: Callable[[str], None] = print, timeout: float = 180) -> None:
    """Fetch what is missing, start the brokers and Elasticsearch nodes, wait, create topics."""
    from pipeline.stream import topics

    shape = chosen(settings, topology)
    say("resolving Kafka and Elasticsearch from Maven Central (cached after the first run)")
    fetch.fetch_all(settings)
    save(settings.home, shape)
    logs = str(settings.home / "logs")
    brokers, nodes = _kafka_nodes(settings, shape), _es_nodes(settings, shape)
    cluster_id = _cluster_id(settings)
    for b in brokers:
        if not services.kafka_healthy(settings, b):
            say(f"starting Kafka broker {b.node_id} on {b.host}:{b.port}")
            services.start_kafka(settings, node=b.node_id, brokers=shape.kafka_brokers,
                                 cluster_id=cluster_id)
    _start_es(settings, [n for n in nodes if not services.es_healthy(settings, n)],
              nodes=shape.es_nodes, say=say)
    for b in brokers:
        pidfile = services.kafka_paths(settings, b.node_id)["pid"]
        _wait(lambda b=b: services.kafka_healthy(settings, b),  # type: ignore[misc]
              what=f"Kafka broker {b.node_id}", timeout=timeout, logs=logs,
              alive=lambda p=pidfile: services.read_pid(p) is not None)  # type: ignore[misc]
    say("Kafka is healthy" + ("" if len(brokers) == 1 else
                              f": {len(brokers)} brokers, bootstrap {bootstrap(brokers)}"))
    _wait(lambda: services.es_healthy(settings, nodes=shape.es_nodes), what="Elasticsearch",
          timeout=timeout, logs=logs)
    say("Elasticsearch is healthy" + ("" if len(nodes) == 1 else f": {len(nodes)} nodes"))
    created = topics.ensure_topics(settings)
    if created:
        say("created topics: " + ", ".join(created))


def _start_es(settings: Settings, todo: list[EsNode], *, nodes: int,
              say: Callable[[str], None]) -> None:
    """Start the nodes side by side: each one's start returns once it found the others."""
    if todo:
        _ensure_es_user()  # once, before the nodes' starts race to create it
    for n in todo:
        say(f"starting Elasticsearch {n.name} on http://{n.host}:{n.http_port}")
    with ThreadPoolExecutor(max_workers=max(1, len(todo))) as pool:
        for done in [pool.submit(services.start_elasticsearch, settings, node=n.index,
                                 nodes=nodes) for n in todo]:
            done.result()


def _cluster_id(settings: Settings) -> str:
    """One KRaft cluster id per home, kept so a node formatted later joins the same."""
    path = settings.home / "kafka-cluster.id"
    if not path.exists():
        path.write_text(services.kafka_cluster_id())
    return path.read_text().strip()


def bootstrap(brokers: list[KafkaNode]) -> str:
    return ",".join(f"{b.host}:{b.port}" for b in brokers)


def _kafka_nodes(settings: Settings, shape: Topology) -> list[KafkaNode]:
    ep = services.kafka_endpoint(settings)
    return kafka_nodes(ep.host, ep.port, shape.kafka_brokers)


def _es_nodes(settings: Settings, shape: Topology) -> list[EsNode]:
    ep = services.es_endpoint(settings)
    return es_nodes(ep.host, ep.port, shape.es_nodes)


def _pidfiles(settings: Settings) -> list[tuple[str, Path]]:
    """Every node's pid file in this home, Elasticsearch first (whatever the topology)."""
    home = settings.home
    es = sorted(home.glob("elasticsearch*/es.pid"))
    kafka = sorted(home.glob("kafka*/kafka.pid"))
    return [(f"Elasticsearch ({p.parent.name})" if len(es) > 1 else "Elasticsearch", p)
            for p in es] + [(f"Kafka ({p.parent.name})" if len(kafka) > 1 else "Kafka", p)
                            for p in kafka]


def down(settings: Settings, *, wipe: bool = False, say: Callable[[str], None] = print) -> None:
    """Stop every node; ``wipe`` also deletes their data (topics, indices, the topology)."""
    found = _pidfiles(settings) or [("Elasticsearch", services.es_paths(settings)["pid"]),
                                    ("Kafka", services.kafka_paths(settings)["pid"])]
    for name, pidfile in found:
        if services.stop_pid(pidfile):
            say(f"stopped {name}")
        else:
            say(f"{name} was not running")
    if wipe:
        for path in [*settings.home.glob("kafka*"), *settings.home.glob("elasticsearch*"),
                     *settings.home.glob("faust")]:
            if path.is_dir():
                shutil.rmtree(path)
        topology_file(settings.home).unlink(missing_ok=True)
        (settings.home / "kafka-cluster.id").unlink(missing_ok=True)
        say(f"deleted the stack's data in {settings.home}")


def status(settings: Settings) -> list[ServiceStatus]:
    """One row per node (``kafka``/``elasticsearch`` on a single-node stack)."""
    shape = saved(settings.home) or Topology()
    rows = []
    for b in _kafka_nodes(settings, shape):
        pid = services.read_pid(services.kafka_paths(settings, b.node_id)["pid"])
        name = "kafka" if shape.kafka_brokers == 1 else f"kafka-{b.node_id}"
        rows.append(ServiceStatus(name, pid is not None, services.kafka_healthy(settings, b),
                                  pid, f"{b.host}:{b.port}"))
    for n in _es_nodes(settings, shape):
        pid = services.read_pid(services.es_paths(settings, n.index)["pid"])
        name = "elasticsearch" if shape.es_nodes == 1 else f"elasticsearch-{n.index}"
        rows.append(ServiceStatus(name, pid is not None, services.es_healthy(settings, n),
                                  pid, f"http://{n.host}:{n.http_port}"))
    return rows

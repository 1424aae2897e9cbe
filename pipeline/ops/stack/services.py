"""Start, health-check and stop one local service node (a Kafka broker or an
Elasticsearch node) of the topology in :mod:`pipeline.ops.stack.topology`.

Each node is a background process with a pid file, a log file and a data
directory under the stack's home (``NEWSFLOW_HOME``); node 1 keeps the single-node
stack's paths, node N lives in ``kafka-N`` / ``elasticsearch-N``.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

from pipeline.core.errors import StackError
from pipeline.core.settings import MAX_MESSAGE_BYTES, Settings
from pipeline.ops.stack.fetch import es_dir, kafka_dir
from pipeline.ops.stack.process import ES_USER as ES_USER
from pipeline.ops.stack.process import Endpoint as Endpoint
from pipeline.ops.stack.process import _check_reachable, _ensure_es_user
from pipeline.ops.stack.process import find_java as find_java
from pipeline.ops.stack.process import java_major as java_major
from pipeline.ops.stack.process import port_open as port_open
from pipeline.ops.stack.process import read_pid as read_pid
from pipeline.ops.stack.process import stop_pid as stop_pid
from pipeline.ops.stack.process import system_tool as system_tool
from pipeline.ops.stack.resources import materialize
from pipeline.ops.stack.topology import (
    EsNode,
    KafkaNode,
    es_cluster_settings,
    es_nodes,
    internal_topics,
    kafka_nodes,
    quorum_voters,
)


def kafka_endpoint(settings: Settings) -> Endpoint:
    first = settings.kafka_bootstrap.split(",")[0]
    host, _, port = first.rpartition(":")
    return Endpoint(host or "localhost", int(port or 9092))


def es_endpoint(settings: Settings) -> Endpoint:
    url = urlparse(settings.es_hosts[0])
    return Endpoint(url.hostname or "localhost", url.port or 9200)


# ---------------------------------------------------------------- Kafka

def kafka_paths(settings: Settings, node: int = 1) -> dict[str, Path]:
    """Broker ``node``'s files: node 1 keeps the single-node stack's places."""
    base = settings.home / ("kafka" if node == 1 else f"kafka-{node}")
    logs = settings.home / "logs"
    return {"base": base, "data": base / "data", "pid": base / "kafka.pid",
            "conf": base / "server.properties", "logs": logs if node == 1 else logs / base.name,
            "out": logs / ("kafka.out" if node == 1 else f"kafka-{node}.out")}


def kafka_node(settings: Settings, node: int = 1, brokers: int = 1) -> KafkaNode:
    ep = kafka_endpoint(settings)
    return kafka_nodes(ep.host, ep.port, brokers)[node - 1]


def _sasl_properties(settings: Settings) -> list[str]:
    """SASL/PLAIN on the client listener, with the configured user (secure profile)."""
    if not settings.kafka_sasl_mechanism:
        return []
    if settings.kafka_sasl_mechanism != "PLAIN":
        raise StackError("the local stack supports SASL mechanism PLAIN only; docker-compose "
                         "(deploy/docker-compose.secure.yml) documents SCRAM")
    user, password = settings.kafka_sasl_username, settings.kafka_sasl_password
    jaas = ("org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'username="{user}" password="{password}" user_{user}="{password}";')
    return ["sasl.enabled.mechanisms=PLAIN",
            f"listener.name.client.plain.sasl.jaas.config={jaas}"]


def _kafka_properties(settings: Settings, data: Path, *, node: int = 1,
                      brokers: int = 1) -> str:
    nodes = kafka_nodes(kafka_endpoint(settings).host, kafka_endpoint(settings).port, brokers)
    me = nodes[node - 1]
    client = "SASL_PLAINTEXT" if settings.kafka_sasl_mechanism else "PLAINTEXT"
    return "\n".join([
        "process.roles=broker,controller",
        f"node.id={me.node_id}",
        f"controller.quorum.voters={quorum_voters(nodes)}",
        f"listeners=CLIENT://{me.host}:{me.port},CONTROLLER://{me.host}:{me.controller_port}",
        f"advertised.listeners=CLIENT://{me.host}:{me.port}",
        "controller.listener.names=CONTROLLER",
        f"listener.security.protocol.map=CLIENT:{client},CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name=CLIENT",
        "sasl.mechanism.inter.broker.protocol=PLAIN",
        *_sasl_properties(settings),
        f"log.dirs={data}",
        f"num.partitions={settings.partitions}",
        *(f"{k}={v}" for k, v in internal_topics(brokers).items()),
        "offsets.topic.num.partitions=8",
        "group.initial.rebalance.delay.ms=0",
        "auto.create.topics.enable=true",
        f"message.max.bytes={MAX_MESSAGE_BYTES}",
        "log.retention.hours=168",
        "",
    ])


def start_kafka(settings: Settings, *, node: int = 1, brokers: int = 1,
                cluster_id: str | None = None, extra: tuple[str, ...] = (),
                jvm_options: tuple[str, ...] = ()) -> None:
    """Start broker ``node`` of ``brokers`` (formatting its storage with ``cluster_id``, the
    same for every node of a quorum, the first time). ``extra`` properties lines come last
    and win (e.g. TLS listeners); ``jvm_options`` go to the broker's JVM (e.g. a JAAS file:
    ``-Djava.security.auth.login.config=...``)."""
    p = kafka_paths(settings, node)
    if read_pid(p["pid"]) is not None:
        return
    me = kafka_node(settings, node, brokers)
    for port in (me.port, me.controller_port):
        if port_open(Endpoint(me.host, port)):
            raise StackError(f"Port {port} is taken by another process: stop it or set "
                             "NEWSFLOW_KAFKA_BOOTSTRAP to a free host:port (a cluster of N "
                             "brokers uses 2N consecutive ports from it).")
    java = find_java(17) / "bin" / "java"
    for key in ("base", "data", "logs"):
        p[key].mkdir(parents=True, exist_ok=True)
    p["conf"].write_text(_kafka_properties(settings, p["data"], node=node, brokers=brokers)
                         + "".join(f"{line}\n" for line in extra))
    classpath = str(kafka_dir(settings) / "libs" / "*")
    log4j = materialize("log4j2.properties", settings.home / "conf")
    heap = "-Xmx768m" if brokers == 1 else "-Xmx512m"
    jvm = [str(java), "-Xms256m", heap, f"-Dlog4j2.configurationFile={log4j}",
           f"-Dkafka.logs.dir={p['logs']}", "-cp", classpath]
    if not (p["data"] / "meta.properties").exists():
        fmt = subprocess.run([*jvm, "kafka.tools.StorageTool", "format",
                              f"--cluster-id={cluster_id or kafka_cluster_id()}",
                              "-c", str(p["conf"]), "--ignore-formatted"],
                             capture_output=True, text=True, check=False)
        if fmt.returncode != 0:
            raise StackError("Formatting Kafka storage failed:\n" + fmt.stdout + fmt.stderr)
    with open(p["out"], "ab") as out:
        proc = subprocess.Popen([*jvm, *jvm_options, "kafka.Kafka", str(p["conf"])], stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    p["pid"].write_text(str(proc.pid))


def kafka_cluster_id(*, random_bytes: Callable[[], bytes] = lambda: uuid.uuid4().bytes
                     ) -> str:
    """A cluster id made as Kafka's ``Uuid.randomUuid()`` makes it: 16 random bytes in
    URL-safe base64 without padding, drawn again while it is reserved (all zeros, or the
    metadata topic's id 0…01) or starts with ``-`` (Kafka's tools would read it as an option).

    >>> kafka_cluster_id(random_bytes=iter([b"\\xfb" + bytes(15), bytes(15) + b"\\x07"]).__next__)
    'AAAAAAAAAAAAAAAAAAAABw'
    """
    reserved = {bytes(16), bytes(15) + b"\x01"}
    while True:
        raw = random_bytes()
        text = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
        if raw not in reserved and not text.startswith("-"):
            return text


def kafka_healthy(settings: Settings, node: KafkaNode | None = None) -> bool:
    """The brokers (or only ``node``) answer a metadata request."""
    from pipeline.stream.topics import kafka_problem

    if node is not None:
        settings = replace(settings, kafka_bootstrap=f"{node.host}:{node.port}")
    return port_open(kafka_endpoint(settings)) and kafka_problem(settings,
                                                                 timeout_ms=3000) is None


# ---------------------------------------------------------------- Elasticsearch

def es_paths(settings: Settings, node: int = 1) -> dict[str, Path]:
    """Elasticsearch node ``node``'s files: node 1 keeps the single-node stack's places."""
    name = "elasticsearch" if node == 1 else f"elasticsearch-{node}"
    base = settings.home / name
    return {"base": base, "data": base / "data", "pid": base / "es.pid",
            "logs": settings.home / "logs" / name,
            "out": settings.home / "logs" / f"{name}.out"}


def es_node(settings: Settings, node: int = 1, nodes: int = 1) -> EsNode:
    ep = es_endpoint(settings)
    return es_nodes(ep.host, ep.port, nodes)[node - 1]


def start_elasticsearch(settings: Settings, *, node: int = 1, nodes: int = 1) -> None:
    """Start node ``node`` of ``nodes`` (one cluster, joined through the transport ports)."""
    p = es_paths(settings, node)
    if read_pid(p["pid"]) is not None:
        return
    all_nodes = es_nodes(es_endpoint(settings).host, es_endpoint(settings).port, nodes)
    me = all_nodes[node - 1]
    for port in (me.http_port, me.transport_port):
        if port_open(Endpoint(me.host, port)):
            raise StackError(f"Port {port} is taken by another process: stop it or set "
                             "NEWSFLOW_ES_URL to a free port (N nodes use N consecutive "
                             "ports from it, and the same 100 above).")
    java_home = find_java(21)
    home = es_dir(settings)
    for key in ("base", "data", "logs"):
        p[key].mkdir(parents=True, exist_ok=True)
    cluster = [f"-E{k}={v}" for k, v in es_cluster_settings(me, all_nodes).items()]
    config = [f"-Ehttp.port={me.http_port}", f"-Etransport.port={me.transport_port}",
              f"-Enetwork.host={me.host}", *cluster,
              f"-Epath.data={p['data']}", f"-Epath.logs={p['logs']}",
              "-Expack.security.enabled=false", "-Ecluster.name=newsflow-local",
              "-Ecluster.routing.allocation.disk.threshold_enabled=false",
              "-Eaction.destructive_requires_name=false"]
    env = {**os.environ, "ES_JAVA_HOME": str(java_home),
           "ES_JAVA_OPTS": settings.es_java_opts}
    env.pop("JAVA_HOME", None)
    cmd = [str(home / "bin" / "elasticsearch"), "-d", "-p", str(p["pid"]), *config]
    user = _ensure_es_user()
    if user:
        _check_reachable(settings.home, user)
        for path in (home, p["base"], p["logs"]):
            subprocess.run([system_tool("chown"), "-R", f"{user}:{user}", str(path)], check=True)
        os.chmod(settings.home, 0o755)
        cmd = [system_tool("runuser"), "-u", user, "--", *cmd]
    with open(p["out"], "ab") as out:
        proc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        raise StackError(f"Elasticsearch failed to start (exit {proc.returncode}); "
                         f"see {settings.home / 'logs'}")


def es_health(settings: Settings, node: EsNode | None = None) -> dict[str, object] | None:
    """The cluster's health as ``settings.es_url`` (or ``node``) answers it."""
    base = f"http://{node.host}:{node.http_port}" if node else settings.es_hosts[0]
    url = f"{base}/_cluster/health"
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            body: dict[str, object] = json.load(resp)
            return body
    except (urllib.error.URLError, OSError, ValueError):
        return None


def es_healthy(settings: Settings, node: EsNode | None = None, *, nodes: int = 1) -> bool:
    """Green or yellow, with at least ``nodes`` nodes joined."""
    health = es_health(settings, node)
    return bool(health and health.get("status") in ("green", "yellow")
                and int(str(health.get("number_of_nodes", 0))) >= nodes)

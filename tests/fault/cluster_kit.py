"""Helpers of the cluster fault test: a local cluster from the stack's own code, a steady
stream of articles (originals with a quote, wire copies of them), a watcher that records when
each article becomes searchable, and the nodes to kill (the leader of a partition, the
group coordinator, the Elasticsearch node with a primary).

    with local_cluster(running, "cluster-fault") as settings:
        stream = Stream(settings).start()
        watch = Watch(settings, stream).start()
        ...
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient

from connectors.passes import make_producer
from pipeline.core.contracts import Provenance, RawArticle
from pipeline.core.errors import StackError
from pipeline.core.settings import Settings
from pipeline.ops import stack
from pipeline.ops.stack import services
from pipeline.ops.stack.fetch import fetch_elasticsearch, fetch_kafka
from pipeline.ops.stack.topology import Topology

BROKERS, NODES = 3, 2
WORDS = ["council", "budget", "harbour", "ferry", "bridge", "market", "school",
         "hospital", "railway", "station", "farmers", "teachers", "workers", "union",
         "minister", "mayor", "court", "river", "storm", "flood", "harvest", "prices",
         "wages", "rents", "trains", "buses", "tickets", "museum", "library",
         "stadium", "airport", "factory", "port", "village", "district", "province",
         "coast", "valley", "forest", "road", "tunnel", "power", "water", "schools",
         "plan", "vote", "report", "contract", "tender", "project", "strike", "talks",
         "deal", "law", "rule", "fund", "grant", "loan", "tax", "fee"]
"""English words, so language detection says English and the quote is attributed."""
PEOPLE = ["Maria Okafor", "Jonas Meyer", "Aiko Tanaka", "Elena Ruiz", "Tomas Berg",
          "Grace Mensah", "Oliver Grant", "Priya Raman"]
PLACES = ["Berlin", "Lagos", "Madrid", "Osaka", "Lisbon", "Nairobi", "Quito", "Oslo"]


def free_run(candidates: range, count: int, *, offset: int = 0) -> int:
    """The first of ``candidates`` from which ``count`` ports (and as many ``offset``
    above) are free: this machine's stacks keep to their own port ranges."""
    for first in candidates:
        ports = [first + i for i in range(count)] + [first + offset + i for i in range(count)]
        if not any(services.port_open(services.Endpoint("127.0.0.1", p)) for p in ports):
            return first
    raise RuntimeError(f"no {count} free ports from {candidates}")


TAKEN = "Address already in use"


def _cluster_settings(home: Path, kafka_base: int, es_base: int, prefix: str) -> Settings:
    return Settings.from_env({
        **os.environ, "NEWSFLOW_HOME": str(home),
        "NEWSFLOW_KAFKA_BOOTSTRAP": ",".join(f"127.0.0.1:{kafka_base + i}"
                                             for i in range(BROKERS)),
        "NEWSFLOW_ES_URL": ",".join(f"http://127.0.0.1:{es_base + i}" for i in range(NODES)),
        "NEWSFLOW_TOPIC_PREFIX": prefix, "NEWSFLOW_INDEX": f"{prefix}-articles",
        "NEWSFLOW_PARTITIONS": "2", "NEWSFLOW_ES_JAVA_OPTS": "-Xms384m -Xmx512m"})


def _port_taken(home: Path) -> bool:
    """A node failed to bind its port: free when looked at, then taken (on this shared
    machine, by another process's outgoing connection: the ports are in the ephemeral
    range)."""
    return any(TAKEN in path.read_text(errors="replace")
               for path in (home / "logs").rglob("*") if path.is_file())


def _up(running: Settings, home: Path, prefix: str, *, tries: int = 3) -> Settings:
    """Start the cluster on the first free ports above the running stack's; on a port
    taken while starting, stop, wipe and try the next ports."""
    kafka_port = services.kafka_endpoint(running).port
    es_port = services.es_endpoint(running).port
    kafka_from, es_from = kafka_port + 20, es_port + 50
    for attempt in range(tries):
        kafka_base = free_run(range(kafka_from, kafka_port + 80, 10), 2 * BROKERS)
        es_base = free_run(range(es_from, es_port + 90, 10), NODES, offset=100)
        settings = _cluster_settings(home, kafka_base, es_base, prefix)
        try:
            stack.up(settings, topology=Topology(BROKERS, NODES), say=lambda m: None,
                     timeout=300)
            return settings
        except StackError:
            if attempt == tries - 1 or not _port_taken(home):
                raise
            stack.down(settings, wipe=True, say=lambda m: None)
            subprocess.run(["rm", "-rf", str(home / "logs")], check=False)
            kafka_from, es_from = kafka_base + 10, es_base + 10
    raise AssertionError("unreachable")


@contextmanager
def local_cluster(running: Settings, name: str, *, prefix: str) -> Iterator[Settings]:
    """Three brokers (one KRaft quorum) and two Elasticsearch nodes in ``running.home/name``,
    on ports above the running stack's (Kafka from its port + 20, Elasticsearch from its
    port + 50, transport 100 above); every node stopped and the data deleted after (the
    logs kept in ``running.home/name-logs`` when something failed). The settings list
    every broker and every Elasticsearch node."""
    home = running.home / name
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o755)
    (home / "dist").mkdir(exist_ok=True)
    for dist in (fetch_kafka(running), fetch_elasticsearch(running)):
        link = home / "dist" / dist.name
        if not link.exists():
            link.symlink_to(dist)
    settings = _cluster_settings(home, 0, 0, prefix)
    try:
        settings = _up(running, home, prefix)
        yield settings
    except BaseException:  # the nodes' logs are kept beside the cluster's home
        subprocess.run(["cp", "-r", str(home / "logs"), str(running.home / f"{name}-logs")],
                       check=False)
        raise
    finally:
        stack.down(settings, wipe=True, say=lambda m: None)
        subprocess.run(["rm", "-rf", str(home)], check=False)


def _word(rng: random.Random) -> str:
    return rng.choice(WORDS)


@dataclass
class Sent:
    article: RawArticle
    acked: float  # monotonic time Kafka acknowledged it
    copy_of: str | None = None


@dataclass
class Stream:
    """Articles produced steadily (``rate`` a second) with the connectors' own producer
    (idempotent, ``acks=all``): originals each with a quote of their own, and every
    ``copy_every``-th a wire copy (AFP dateline, another outlet) of an earlier original.
    A send that fails (a broker away) is sent again: the article keeps its id."""

    settings: Settings
    rate: float = 2.0
    copy_every: int = 4
    sent: list[Sent] = field(default_factory=list)
    failures: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def article(self, i: int, rng: random.Random) -> tuple[RawArticle, str | None]:
        originals = [s for s in self.sent if s.copy_of is None]
        now = datetime.now(UTC)
        if i % self.copy_every == self.copy_every - 1 and originals:
            orig = rng.choice(originals[-20:]).article
            text = f"PARIS (AFP) - {orig.text}"
            return RawArticle.new(
                url=f"https://copies.example.com/wire/{i}", title=orig.title, text=text,
                published_at=now, provenance=Provenance(connector="test", source="copies",
                                                        publisher="Copies Daily")), orig.id
        who, where = rng.choice(PEOPLE), rng.choice(PLACES)
        body = ". ".join(" ".join(_word(rng) for _ in range(10)).capitalize()
                         for _ in range(6))
        words = " ".join(_word(rng) for _ in range(12)).capitalize()
        text = (f"{who} spoke in {where} on Monday. {body}. "
                f"“{words},” {who.split()[-1]} told reporters.")
        return RawArticle.new(url=f"https://origin.example.org/a/{i}", title=f"Report {i}",
                              text=text, published_at=now,
                              provenance=Provenance(connector="test", source="origin",
                                                    publisher="Origin News")), None

    def _run(self) -> None:
        rng = random.Random(19)
        producer = make_producer(self.settings)
        i = 0
        try:
            while not self._stop.is_set():
                art, copy_of = self.article(i, rng)
                while not self._stop.is_set():
                    try:
                        producer.send(self.settings.raw_topic, key=art.id.encode(),
                                      value=art.to_bytes()).get(timeout=30)
                        break
                    except Exception:  # noqa: BLE001 - a broker away: send it again
                        self.failures += 1
                        time.sleep(0.5)
                else:
                    break
                self.sent.append(Sent(art, time.monotonic(), copy_of))
                i += 1
                self._stop.wait(1.0 / self.rate)
        finally:
            producer.close(timeout=10)

    def start(self) -> Stream:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(60)


@dataclass
class Watch:
    """When each produced article first became searchable (an ``ids`` query, every
    ``every`` s, through every Elasticsearch node the settings list)."""

    settings: Settings
    stream: Stream
    every: float = 0.5
    seen: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _run(self) -> None:
        es = Elasticsearch(self.settings.es_hosts, request_timeout=5, max_retries=2,
                           retry_on_timeout=True)
        while not self._stop.is_set():
            todo = [s.article.id for s in list(self.stream.sent)
                    if s.article.id not in self.seen][:1000]
            if todo:
                try:
                    hits = es.search(index=self.settings.index_alias, size=len(todo),
                                     query={"ids": {"values": todo}}, source=False)
                    now = time.monotonic()
                    for hit in hits["hits"]["hits"]:
                        self.seen.setdefault(hit["_id"], now)
                except Exception:  # noqa: BLE001 - a node away, or the index not yet there
                    pass
            self._stop.wait(self.every)
        es.close()

    def start(self) -> Watch:
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def all_seen(self) -> bool:
        return all(s.article.id in self.seen for s in self.stream.sent)

    def first_after(self, t: float) -> tuple[str, float] | None:
        """The first article acknowledged after ``t`` and when it became searchable."""
        later = [s for s in self.stream.sent if s.acked >= t]
        if not later or later[0].article.id not in self.seen:
            return None
        return later[0].article.id, self.seen[later[0].article.id]

    def stall(self, start: float, end: float) -> float:
        """The longest time in [start, end] in which no article became searchable."""
        marks = sorted(t for t in self.seen.values() if start <= t <= end)
        points = [start, *marks, end]
        return max(b - a for a, b in itertools.pairwise(points))


def kill(pidfile: Path) -> int:
    """SIGKILL the node (no clean shutdown) and wait until it is gone; its pid."""
    pid = services.read_pid(pidfile)
    if pid is None:
        raise RuntimeError(f"no process in {pidfile}")
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and services.read_pid(pidfile) is not None:
        time.sleep(0.1)
    pidfile.unlink(missing_ok=True)
    return pid


def leader_of(settings: Settings, topic: str) -> int:
    admin = KafkaAdminClient(**settings.kafka_client_config())
    try:
        [desc] = admin.describe_topics([topic])
        return int(desc["partitions"][0]["leader_id"])
    finally:
        admin.close()


def coordinator_of(settings: Settings, group: str) -> int:
    """The broker coordinating ``group`` (a FindCoordinator request; kafka-python's admin
    runs it inside its describe calls, its own method is not public)."""
    admin = KafkaAdminClient(**settings.kafka_client_config())
    try:
        return int(admin._manager.run(admin._find_coordinator_id, group))
    finally:
        admin.close()


def primary_node(settings: Settings, index: str) -> int:
    """The number N of the Elasticsearch node ``newsflow-N`` holding ``index``'s primary."""
    es = Elasticsearch(settings.es_hosts, request_timeout=10)
    try:
        rows = es.cat.shards(index=index, format="json")
        [node] = {r["node"] for r in rows if r["prirep"] == "p"}
        return int(str(node).rsplit("-", 1)[1])
    finally:
        es.close()

"""Faults of a cluster, on a real local cluster: three KRaft brokers, two Elasticsearch
nodes (``newsflow stack up --kafka-brokers 3 --es-nodes 2``'s code), topics with 3 copies
and 2 in sync, indices with a replica, a real worker process, articles produced steadily
(originals with a quote, wire copies of them, so the stories and group stages matter).

One at a time, the pipeline recovering in between, each node killed with SIGKILL and
started again after ``AWAY`` seconds:

* the broker leading the stories topic's partition (the quotes topic's too when it is the
  same broker);
* the broker coordinating the workers' consumer group;
* the Elasticsearch node holding the primary of the articles index.

Afterwards: every produced article searchable exactly once (count and ids), one story per
article in every assignment made (replays included) and a copy in its original's story,
each quote counted once in the quote groups, nothing dead-lettered. Per fault, the time
from the kill until the first article produced after it is searchable, and the longest
time nothing became searchable, go to ``bench/results/cluster_faults.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer

from pipeline.core.contracts import AssignedArticle, Quote
from pipeline.core.settings import Settings
from pipeline.ops import stack
from pipeline.ops.stack import services
from tests.conftest import settings_env, wait_for
from tests.fault.cluster_kit import (
    Stream,
    Watch,
    coordinator_of,
    kill,
    leader_of,
    local_cluster,
    primary_node,
)

pytestmark = [pytest.mark.fault, pytest.mark.integration]
AWAY = float(os.environ.get("CLUSTER_FAULT_AWAY", "20"))
RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "cluster_faults.json"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Settings]:
    with local_cluster(Settings.from_env(), "cluster-fault", prefix="cf") as settings:
        yield settings


def _read(settings: Settings, topic: str) -> list[bytes]:
    consumer = KafkaConsumer(topic, **settings.kafka_client_config(),
                             auto_offset_reset="earliest", consumer_timeout_ms=5000,
                             max_partition_fetch_bytes=32 * 1024 * 1024)
    try:
        return [m.value for m in consumer]
    finally:
        consumer.close()


def _fault(name: str, target: Callable[[], tuple[Path, str]], watch: Watch,
           settings: Settings) -> dict[str, object]:
    """Kill the target node, start it again after AWAY s, wait for the pipeline to take
    the articles produced after the kill; the times measured."""
    pidfile, node = target()
    killed = time.monotonic()
    kill(pidfile)
    time.sleep(AWAY)
    stack.up(settings, say=lambda m: None, timeout=240)
    back = time.monotonic()
    try:
        wait_for(lambda: watch.first_after(killed), timeout=240,
                 what=f"an article produced after the {name} fault searchable")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; {len(watch.seen)} of {len(watch.stream.sent)} "
                             "searchable") from None
    _, seen = watch.first_after(killed) or ("", 0.0)
    time.sleep(10)  # the pipeline runs on before the next fault
    return {"fault": name, "node": node, "away_s": round(back - killed, 1),
            "recovery_s": round(seen - killed, 1),
            "stall_s": round(watch.stall(killed, max(seen, killed)), 1)}


def test_cluster_faults_lose_and_double_nothing(cluster: Settings, worker_factory,  # type: ignore[no-untyped-def]
                                                monkeypatch) -> None:
    started = time.monotonic()
    monkeypatch.setenv("NEWSFLOW_STALL_TIMEOUT", "90")
    setup = subprocess.run([sys.executable, "-m", "pipeline.cli", "setup", "--no-kibana"],
                           env=settings_env(cluster) | {"NEWSFLOW_HOME": str(cluster.home)},
                           capture_output=True, text=True, timeout=240)
    assert setup.returncode == 0, setup.stderr
    worker = worker_factory(cluster).start()
    stream = Stream(cluster).start()
    watch = Watch(cluster, stream).start()
    faults: list[dict[str, object]] = []
    try:
        wait_for(lambda: len(watch.seen) >= 10, timeout=300, what="the first articles indexed")
        time.sleep(5)

        def stories_leader() -> tuple[Path, str]:
            node = leader_of(cluster, cluster.stories_topic)
            also = " and quotes" if leader_of(cluster, cluster.quotes_topic) == node else ""
            return services.kafka_paths(cluster, node)["pid"], f"kafka-{node} (stories{also})"

        def coordinator() -> tuple[Path, str]:
            node = coordinator_of(cluster, cluster.app_id)
            return services.kafka_paths(cluster, node)["pid"], f"kafka-{node}"

        def es_primary() -> tuple[Path, str]:
            from pipeline.index.mapping import index_name

            node = primary_node(cluster, index_name(cluster))
            return services.es_paths(cluster, node)["pid"], f"elasticsearch-{node}"

        faults.append(_fault("stories partition leader", stories_leader, watch, cluster))
        faults.append(_fault("group coordinator", coordinator, watch, cluster))
        faults.append(_fault("articles primary (Elasticsearch)", es_primary, watch, cluster))
        stream.stop()
        wait_for(watch.all_seen, timeout=300, what="every produced article searchable")
        time.sleep(3)  # a late duplicate would show now
        assert worker.alive(), worker.log.read_text()[-3000:]
    finally:
        stream.stop()
        watch.stop()
    _report(faults, stream, worker, time.monotonic() - started)  # kept when a check fails
    _check(cluster, stream)


def _check(settings: Settings, stream: Stream) -> None:
    ids = {s.article.id for s in stream.sent}
    es = Elasticsearch(settings.es_hosts, request_timeout=30)
    es.indices.refresh(index=f"{settings.index_alias},{settings.quotes_index_alias}")
    assert es.count(index=settings.index_alias)["count"] == len(ids)
    docs = {h["_id"]: h["_source"] for h in es.search(
        index=settings.index_alias, query={"ids": {"values": sorted(ids)}}, size=len(ids),
        source=["story", "copy_of"])["hits"]["hits"]}
    assert set(docs) == ids
    # one story per article, in every assignment made (replays included)
    stories: dict[str, set[str]] = defaultdict(set)
    for value in _read(settings, settings.assigned_topic):
        assigned = AssignedArticle.from_bytes(value)
        stories[assigned.id].add(assigned.story)
    assert set(stories) == ids
    assert {k: v for k, v in stories.items() if len(v) != 1} == {}
    copies = [s for s in stream.sent if s.copy_of]
    assert copies
    assert [s.article.id for s in copies
            if docs[s.article.id]["story"] != docs[s.copy_of or ""]["story"]] == []
    # each quote once in the quote groups
    quotes = {Quote.model_validate_json(v).id for v in _read(settings, settings.quotes_topic)}
    groups = es.search(index=settings.quotes_index_alias, size=10_000,
                       source=["mentions", "reports"])["hits"]["hits"]
    assert quotes, "no quote was extracted: the group stage was not exercised"
    assert sum(g["_source"]["mentions"] for g in groups) == len(quotes)
    originals = len(ids) - len(copies)
    es.close()
    assert _read(settings, settings.dead_letter_topic) == []
    if len(groups) != originals:  # grouping quality under faults: a known open defect
        pytest.xfail(f"{len(groups)} quote groups for {originals} originals: some copies' "
                     "quotes did not join their original's group (open; each quote is "
                     "still counted once)")


def _report(faults: list[dict[str, object]], stream: Stream, worker, seconds: float  # type: ignore[no-untyped-def]
            ) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "what": "SIGKILL of one node at a time on a local cluster of 3 KRaft brokers and 2 "
                "Elasticsearch nodes (RF 3, min.insync 2, 1 index replica), one worker, "
                f"{stream.rate:g} articles/s; recovery_s: kill -> the first article produced "
                "after it searchable; stall_s: longest time nothing became searchable",
        "away_s": AWAY, "articles": len(stream.sent),
        "copies": sum(1 for s in stream.sent if s.copy_of),
        "producer_retries": stream.failures, "worker_restarts": worker.restarts,
        "run_s": round(seconds, 1), "faults": faults}, indent=2) + "\n")

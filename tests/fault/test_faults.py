"""Faults on the real stack with 2,000 articles flowing (issue: proof under faults).

kill -9 of the worker (three times), Elasticsearch killed (SIGKILL) and away for 20+ s,
the Kafka broker killed (SIGKILL) and restarted, poison messages in the raw topic, among
them a 13 MiB message followed by normal articles in its partition. Afterwards every valid
article is in Elasticsearch exactly once (count and ids) although replays wrote some of
them more than once (counted per id in the enriched topic), each poison message is in the
dead-letter topic exactly once with a reason, and the worker is still running.

It kills the services of the stack its settings name (``NEWSFLOW_HOME``): run it against
a stack of its own, not one that others use.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, KafkaProducer

from connectors.runner import Runner
from connectors.sources import parse_sources
from connectors.state import StateStore
from pipeline.core.contracts import DeadLetter, Provenance, RawArticle, article_id, canonicalize_url
from pipeline.core.errors import ContractError
from pipeline.core.settings import Settings
from pipeline.index.mapping import ensure_index, index_name
from pipeline.ops.stack import services
from pipeline.stream.topics import ensure_topics
from tests.conftest import wait_for

pytestmark = [pytest.mark.fault, pytest.mark.integration]
N = 2000
WAVES = 4
KAFKA_AWAY = float(os.environ.get("FAULT_KAFKA_AWAY", "30"))
PEOPLE = ["Maria Okafor", "Jonas Meyer", "Aiko Tanaka", "Elena Ruiz", "Tomas Berg",
          "Grace Mensah", "Oliver Grant", "Priya Raman"]
PLACES = ["Berlin", "Lagos", "Madrid", "Osaka", "Lisbon", "Nairobi", "Quito", "Oslo"]


def _articles(path: Path, start: int, count: int) -> list[str]:
    rng = random.Random(start)
    ids = []
    with path.open("w", encoding="utf-8") as fh:
        for i in range(start, start + count):
            who, where = rng.choice(PEOPLE), rng.choice(PLACES)
            url = f"https://fault.example.org/a/{i}"
            text = (f"{who} said on Monday that the talks in {where} would resume next week. "
                    f"“We are close to an agreement on item {i},” {who.split()[-1]} told "
                    f"reporters. According to officials in {where}, the final text is ready.")
            fh.write(json.dumps({"url": url, "title": f"Talks {i}", "text": text}) + "\n")
            ids.append(article_id(canonicalize_url(url)))
    return ids


def _produce(settings: Settings, path: Path, state: Path) -> int:
    sources = parse_sources({"sources": [{"name": f"fault-{path.stem}", "type": "jsonl.v1",
                                          "path": str(path)}]})
    runner = Runner(sources, settings=settings, state=StateStore(state))
    try:
        [result] = asyncio.run(runner.run(once=True))
    finally:
        runner.close()
    assert result.failed is None, result.failed
    return result.new


def _poison(settings: Settings) -> list[bytes]:
    """Poison, sent before a wave: so normal articles follow it in its partition."""
    huge = RawArticle.new(url="https://fault.example.org/huge", text="word " * 2_100_000,
                          provenance=Provenance(connector="test", source="fault"))
    oversized = b"\x00not json" * (13 * 1024 * 1024 // 9)  # its base64 would not fit 16 MiB
    poison = [b"{this is not json", b'{"schema_version": 7, "id": "future"}',
              huge.to_bytes(), bytes(range(256)) * 4, oversized]
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all",
                             max_request_size=16 * 1024 * 1024)
    for i, p in enumerate(poison):
        producer.send(settings.raw_topic, key=b"poison", value=p, partition=i % 4)
    producer.flush()
    producer.close()
    return poison


def _kill(pidfile: Path) -> None:
    """SIGKILL the service (no clean shutdown) and wait until it is gone."""
    pid = services.read_pid(pidfile)
    assert pid is not None, f"no process in {pidfile}"
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our child when we restarted it
                break
        except ChildProcessError:
            pass
        if services.read_pid(pidfile) is None:
            break
        time.sleep(0.2)
    pidfile.unlink(missing_ok=True)


def _writes_per_id(settings: Settings) -> Counter[str]:
    """How often the index agent was given each article: replays of the enrich stage
    (kill -9 before its offsets were committed) produce an article more than once."""
    consumer = KafkaConsumer(settings.enriched_topic,
                             bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=5000,
                             max_partition_fetch_bytes=32 * 1024 * 1024)
    try:
        return Counter(json.loads(m.value)["id"] for m in consumer)
    finally:
        consumer.close()


def _indexed(es: Elasticsearch, settings: Settings) -> int:
    try:
        es.indices.refresh(index=settings.index_alias)
        return int(es.count(index=settings.index_alias)["count"])
    except Exception:  # noqa: BLE001 - Elasticsearch may be the one we stopped
        return -1


def _where(settings: Settings, es: Elasticsearch, worker) -> str:  # type: ignore[no-untyped-def]
    """Where the articles are when a wait times out: messages per topic, what the
    consumer group committed, the index count, and the worker's last warnings."""
    from kafka import KafkaAdminClient, TopicPartition

    lines = [f"indexed: {_indexed(es, settings)}"]
    try:
        consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
        admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        committed = admin.list_group_offsets(settings.app_id)[settings.app_id]
        for topic in settings.topics:
            parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            ends = consumer.end_offsets(parts)
            done = sum(committed[tp].offset for tp in parts if tp in committed)
            lines.append(f"{topic}: {sum(ends.values())} messages, group committed {done}")
        consumer.close()
        admin.close()
    except Exception as exc:  # noqa: BLE001 - a report, the broker may be the one away
        lines.append(f"(topics unavailable: {exc!r})")
    text = worker.log.read_text(errors="replace").splitlines()
    noisy = ("Unable connect", "Unable to update metadata", "NodeNotReady", "PUT http")
    lines += [f"worker alive: {worker.alive()}, restarted after a stall: {worker.restarts}",
              "worker log (last 80 lines, noise out):"]
    lines += [ln[:300] for ln in text if not any(n in ln for n in noisy)][-80:]
    return "\n".join(lines)


def test_no_loss_no_duplicates_under_faults(isolated: Settings, worker_factory,  # type: ignore[no-untyped-def]
                                            tmp_path: Path, monkeypatch) -> None:
    # Offsets are committed every 5 s (not after each batch): a kill -9 of a busy worker
    # then always leaves acknowledged but uncommitted work, which its successor replays.
    monkeypatch.setenv("NEWSFLOW_COMMIT_INTERVAL", "5")
    monkeypatch.setenv("NEWSFLOW_COMMIT_EVERY", "1000000")
    # A worker stuck after the broker's restart (a known Faust failure) exits within a
    # minute and is started again (see pipeline.stream.watchdog)
    monkeypatch.setenv("NEWSFLOW_STALL_TIMEOUT", "60")
    settings = Settings.from_env({**{k: str(v) for k, v in {
        "NEWSFLOW_KAFKA_BOOTSTRAP": isolated.kafka_bootstrap, "NEWSFLOW_ES_URL": isolated.es_url,
        "NEWSFLOW_TOPIC_PREFIX": isolated.topic_prefix, "NEWSFLOW_INDEX": isolated.index_alias,
        "NEWSFLOW_PARTITIONS": "4", "NEWSFLOW_HOME": str(isolated.home)}.items()}})
    ensure_topics(settings)
    ensure_index(settings)
    es = Elasticsearch(settings.es_url, request_timeout=10)
    per_wave = N // WAVES
    waves = [tmp_path / f"wave{w}.jsonl" for w in range(WAVES)]
    ids: list[str] = []
    for w, path in enumerate(waves):
        ids += _articles(path, w * per_wave, per_wave)
    state = tmp_path / "state.sqlite"
    worker = worker_factory(settings).start()
    try:
        # wave 1 + three kill -9 of the worker while it works
        assert _produce(settings, waves[0], state) == per_wave
        for target in (100, 250, 400):
            wait_for(lambda t=target: _indexed(es, settings) >= t, timeout=240,
                     what=f"{target} articles indexed")
            worker.kill()
            worker = worker_factory(settings).start()
        poison = _poison(settings)
        assert _produce(settings, waves[1], state) == per_wave
        # Elasticsearch away for 20+ seconds while articles keep flowing
        wait_for(lambda: _indexed(es, settings) >= per_wave + 100, timeout=300,
                 what="second wave under way")
        _kill(services.es_paths(settings)["pid"])
        assert _produce(settings, waves[2], state) == per_wave
        time.sleep(20)
        services.start_elasticsearch(settings)
        wait_for(lambda: services.es_healthy(settings), timeout=180, what="Elasticsearch back")
        # the Kafka broker restarted mid-stream
        wait_for(lambda: _indexed(es, settings) >= 2 * per_wave + 100, timeout=300,
                 what="third wave under way")
        _kill(services.kafka_paths(settings)["pid"])
        time.sleep(KAFKA_AWAY)  # beyond the session timeout: the group must re-form
        services.start_kafka(settings)
        wait_for(lambda: services.kafka_healthy(settings), timeout=180, what="Kafka back")
        assert _produce(settings, waves[3], state) == per_wave
        try:
            wait_for(lambda: _indexed(es, settings) >= N, timeout=600, what=f"all {N} indexed")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{_where(settings, es, worker)}") from None
        time.sleep(3)  # anything late (a duplicate) would show up now
        assert worker.alive(), worker.log.read_text()[-3000:]
    finally:
        if not services.es_healthy(settings):
            services.start_elasticsearch(settings)
        if not services.kafka_healthy(settings):
            services.start_kafka(settings)
    es.indices.refresh(index=settings.index_alias)
    assert es.count(index=settings.index_alias)["count"] == N
    found = es.search(index=settings.index_alias, query={"ids": {"values": ids}}, size=0,
                      track_total_hits=True)["hits"]["total"]["value"]
    assert found == N
    consumer = KafkaConsumer(settings.dead_letter_topic,
                             bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=5000,
                             max_partition_fetch_bytes=32 * 1024 * 1024,
                             fetch_max_bytes=64 * 1024 * 1024)
    letters = [DeadLetter.model_validate_json(m.value) for m in consumer]
    consumer.close()
    def letters_of(payload: bytes) -> int:
        """Letters of one poison message: its own bytes (decode stage), or, for a valid
        article that cannot be enriched, the letter naming its id (the enrich stage reads it
        from the assigned topic, wrapped with its story assignment)."""
        try:
            aid: str | None = RawArticle.from_bytes(payload).id
        except ContractError:
            aid = None
        sha = hashlib.sha256(payload).hexdigest()
        return sum(1 for x in letters
                   if x.payload_sha256 == sha or (aid is not None and x.article_id == aid))

    assert [letters_of(p) for p in poison] == [1] * len(poison)
    assert len(letters) == len(poison)
    assert all(letter.error and letter.stage in {"decode", "enrich"} for letter in letters)
    [big] = [x for x in letters if x.payload_size == len(poison[-1])]
    assert big.truncated and big.stage == "decode" and big.topic == settings.raw_topic
    writes = _writes_per_id(settings)
    assert set(writes) == set(ids)
    assert sum(writes.values()) > N, "no replay happened: the kills proved nothing"
    es.indices.delete(index=index_name(settings), ignore_unavailable=True)
    es.close()

"""End to end on the real stack: RSS over HTTP -> connector -> Kafka -> Faust worker
(enrich + index) -> Elasticsearch -> `newsflow search`."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, KafkaProducer

from connectors.runner import Runner
from connectors.sources import parse_sources
from connectors.state import StateStore
from pipeline.core.contracts import DeadLetter, article_id, canonicalize_url
from pipeline.core.settings import Settings
from pipeline.index.mapping import ensure_index
from pipeline.ops.feedserver import load_samples, serving_feed
from pipeline.stream.topics import ensure_topics
from tests.conftest import settings_env, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _count(es: Elasticsearch, settings: Settings, ids: list[str]) -> int:
    es.indices.refresh(index=settings.index_alias)
    resp = es.search(index=settings.index_alias, query={"ids": {"values": ids}}, size=0,
                     track_total_hits=True)
    return int(resp["hits"]["total"]["value"])


def _ingest(settings: Settings, tmp_path: Path) -> list[str]:
    samples = load_samples()
    with serving_feed(samples) as feed_url:
        sources = parse_sources({"sources": [{
            "name": "e2e", "type": "rss.v1", "url": feed_url,
            "publisher": "E2E Publisher", "allow_private": True, "full_text": "never"}]})
        runner = Runner(sources, settings=settings, state=StateStore(tmp_path / "s.sqlite"))
        try:
            [result] = asyncio.run(runner.run(once=True))
        finally:
            runner.close()
    assert result.failed is None and result.new == len(samples), result
    return [article_id(canonicalize_url(a["url"])) for a in samples]


def test_rss_to_search(isolated: Settings, worker_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ensure_topics(isolated)
    ensure_index(isolated)
    ids = _ingest(isolated, tmp_path)
    worker = worker_factory(isolated).start()
    es = Elasticsearch(isolated.es_url)
    try:
        wait_for(lambda: _count(es, isolated, ids) == len(ids) or not worker.alive(),
                 timeout=240, what="all sample articles in Elasticsearch")
        assert worker.alive(), worker.log.read_text()[-3000:]

        proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "search", "--entity",
                               "Bashar al-Assad", "--json"], env=settings_env(isolated),
                              capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        seed_id = ids[0]
        assert seed_id in [h["id"] for h in result["hits"]]
        seed = next(h for h in result["hits"] if h["id"] == seed_id)
        assert "Bashar al-Assad" in seed["persons"]
        assert {"Al-Watan", "Vendamasti", "Kremlin"} <= set(seed["attributed_sources"])
        assert seed["publisher"] == "E2E Publisher"

        doc = es.get(index=isolated.index_alias, id=seed_id)["_source"]
        assert doc["language"] == "en" and doc["provenance"]["connector"] == "rss.v1"
        french_id = ids[[a.get("language") for a in load_samples()].index("fr")]
        french = es.get(index=isolated.index_alias, id=french_id)["_source"]
        assert french["language"] == "fr" and french["entities"] == []

        # re-enrichment: a worker in a new consumer group replays the raw topic and
        # overwrites every document (same _id), nothing duplicated
        worker.stop()
        before = doc["enriched_at"]
        replay = dataclasses.replace(isolated, group=f"{isolated.app_id}-replay")
        worker_factory(replay).start()
        wait_for(lambda: es.get(index=isolated.index_alias, id=seed_id)["_source"][
            "enriched_at"] > before, timeout=240, what="seed article re-enriched")
        es.indices.refresh(index=isolated.index_alias)
        assert es.count(index=isolated.index_alias)["count"] == len(ids)
    finally:
        es.close()


def test_poison_messages_go_to_dead_letter(isolated: Settings, worker_factory) -> None:  # type: ignore[no-untyped-def]
    ensure_topics(isolated)
    ensure_index(isolated)
    producer = KafkaProducer(bootstrap_servers=isolated.kafka_bootstrap, acks="all")
    poison = [b"{not json", b'{"schema_version": 99, "id": "x"}', bytes(range(256))]
    for p in poison:
        producer.send(isolated.raw_topic, key=b"poison", value=p)
    producer.flush()
    producer.close()
    worker_factory(isolated).start()
    consumer = KafkaConsumer(isolated.dead_letter_topic,
                             bootstrap_servers=isolated.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=1000)
    letters: list[DeadLetter] = []

    def collect() -> bool:
        for msg in consumer:
            letters.append(DeadLetter.model_validate_json(msg.value))
        return len(letters) >= len(poison)

    try:
        wait_for(collect, timeout=180, every=0.5, what="dead letters")
    finally:
        consumer.close()
    assert sorted(letter.payload() for letter in letters) == sorted(poison)
    assert all(letter.stage == "decode" and letter.error for letter in letters)


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-v"]))

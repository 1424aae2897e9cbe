"""Quotes on the real stack: a Quote crosses Kafka, the real ``group`` agent groups it and
it lands in the real quotes index; kill -9 of workers while they group loses no quote and
splits no group (the result equals one uninterrupted offline run in topic order)."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, KafkaProducer

from bench.quote_lookup import Statements, fragment
from connectors.runner import Runner
from connectors.sources import parse_sources
from connectors.state import StateStore
from pipeline.core.contracts import Quote, QuoteArticle, QuoteSpeaker, article_id
from pipeline.core.contracts import canonicalize_url as canon
from pipeline.core.settings import Settings
from pipeline.group.quotes import QuoteGroups
from pipeline.index.mapping import ensure_index
from pipeline.index.quotes_mapping import ensure_quotes_index, quotes_index_name
from pipeline.ops.feedserver import by_publisher, load_samples, serving_feeds
from pipeline.stream.topics import ensure_topics
from tests.conftest import settings_env, wait_for

pytestmark = pytest.mark.integration


def _groups(es: Elasticsearch, settings: Settings) -> list[dict[str, Any]]:
    try:
        es.indices.refresh(index=settings.quotes_index_alias)
        resp = es.search(index=settings.quotes_index_alias, size=10000,
                         query={"match_all": {}})
    except Exception:  # noqa: BLE001 - not created yet
        return []
    return [h["_source"] for h in resp["hits"]["hits"]]


def _mentions(es: Elasticsearch, settings: Settings) -> int:
    return sum(g["mentions"] for g in _groups(es, settings))


def _cleanup(es: Elasticsearch, settings: Settings) -> None:
    es.indices.delete(index=quotes_index_name(settings), ignore_unavailable=True)
    es.indices.delete(index=f"{settings.index_alias}-v*", ignore_unavailable=True)


def _ingest_samples(settings: Settings, tmp_path: Path) -> list[str]:
    samples = load_samples()
    with serving_feeds(by_publisher(samples)) as urls:
        sources = parse_sources({"sources": [
            {"name": f"s{i}", "type": "rss.v1", "url": url, "publisher": name,
             "allow_private": True, "full_text": "never"}
            for i, (name, url) in enumerate(urls.items())]})
        runner = Runner(sources, settings=settings, state=StateStore(tmp_path / "s.sqlite"))
        try:
            results = asyncio.run(runner.run(once=True))
        finally:
            runner.close()
    assert all(r.failed is None for r in results), results
    return [article_id(canon(a["url"])) for a in samples]


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args],
                          env=settings_env(settings), capture_output=True, text=True,
                          timeout=120, check=False)


def test_samples_flow_to_quote_groups(isolated: Settings, worker_factory,  # type: ignore[no-untyped-def]
                                      tmp_path: Path) -> None:
    ensure_topics(isolated)
    ensure_index(isolated)
    ensure_quotes_index(isolated)
    ids = _ingest_samples(isolated, tmp_path)
    seed = ids[0]
    worker = worker_factory(isolated).start()
    es = Elasticsearch(isolated.es_url)
    try:
        def kremlin() -> dict[str, Any] | None:
            return next((g for g in _groups(es, isolated)
                         if "Kremlin" in g["speakers"] and g["reports"] >= 3), None)

        group = wait_for(lambda: kremlin() or not worker.alive(), timeout=300,
                         what="the Kremlin's announcement grouped across three outlets")
        assert worker.alive(), worker.log.read_text()[-3000:]
        assert isinstance(group, dict)
        # the seed's record crossed the quotes topic as a Quote v1 message
        consumer = KafkaConsumer(isolated.quotes_topic, bootstrap_servers=isolated.kafka_bootstrap,
                                 auto_offset_reset="earliest", consumer_timeout_ms=3000)
        records = [Quote.from_bytes(m.value) for m in consumer]
        consumer.close()
        mine = next(q for q in records if q.article.id == seed and q.index == 0)
        assert mine.speaker.canonical == "Kremlin" and mine.article.publisher == "Newsflow Seed"
        assert {m["quote"] for m in group["state"]["members"]} >= {mine.id}
        assert set(group["publishers"]) == {"Newsflow Seed", "Northfield Wire", "Daily Ledger"}
        assert group["first_seen"]["publisher"] == "Northfield Wire"  # published earliest

        proc = _cli(isolated, "quotes", "--said-by", "Kremlin", "--json")
        assert proc.returncode == 0, proc.stderr
        found = json.loads(proc.stdout)
        assert found["total"] >= 1 and found["quotes"][0]["group"] == group["group"]
        assert found["quotes"][0]["first_seen"]["publisher"] == "Northfield Wire"
        carried = json.loads(_cli(isolated, "quotes", "--json").stdout)["quotes"]
        assert len(carried[0]["publishers"]) >= 2
        assert _cli(isolated, "quotes", "no such words anywhere", "--json").returncode == 3
        edges = json.loads(_cli(isolated, "sources", "--json").stdout)["edges"]
        assert {"from": "Al-Watan", "to": "Vendamasti", "relation": "citing"} in \
            [{k: e[k] for k in ("from", "to", "relation")} for e in edges]
    finally:
        _cleanup(es, isolated)
        es.close()


def _stream(n: int, seed: int = 5, *, hourly: bool = False) -> list[Quote]:
    """Quote records of statements reported 1-4 times (copies and fragments), shuffled
    (``hourly``: published an hour apart in topic order, so reports of one statement can
    be months apart in event time)."""
    rng, gen = random.Random(seed), Statements(seed)
    out: list[Quote] = []
    while len(out) < n:
        text = gen.make()
        who = f"Speaker {rng.randrange(40)}"
        for j in range(rng.choice([1, 1, 2, 3, 4])):
            content = text if j == 0 or rng.random() < 0.6 else fragment(rng, text)
            i = len(out)
            out.append(Quote(id=f"kill{i:028d}", index=0, kind="direct", content=content,
                             article=QuoteArticle(id=f"art{i:029d}",
                                                  publisher=f"Outlet {rng.randrange(30)}"),
                             speaker=QuoteSpeaker(text=who, canonical=who, type="person")))
    rng.shuffle(out)
    if hourly:
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        out = [q.model_copy(update={"article": q.article.model_copy(update={
            "published_at": t0 + timedelta(hours=k)})}) for k, q in enumerate(out)]
    return out[:n]


@pytest.mark.parametrize("hot_window", ["", "2d"])
def test_kill_9_while_grouping_loses_no_quote_and_splits_no_group(  # type: ignore[no-untyped-def]
        isolated: Settings, worker_factory, monkeypatch: pytest.MonkeyPatch,
        hot_window: str) -> None:
    """With a hot window of 2 days over quotes spread across 250 days, most reports of a
    statement find its group in the index, not in memory: the groups are the same."""
    monkeypatch.setenv("NEWSFLOW_HOT_WINDOW", hot_window or "0")
    ensure_topics(isolated)
    ensure_quotes_index(isolated)
    quotes = _stream(6000, hourly=bool(hot_window))
    producer = KafkaProducer(bootstrap_servers=isolated.kafka_bootstrap, acks="all")
    for q in quotes:
        producer.send(isolated.quotes_topic, key=q.article.id.encode(), value=q.to_bytes())
    producer.flush()
    producer.close()
    es = Elasticsearch(isolated.es_url)
    workers = [worker_factory(isolated).start(), worker_factory(isolated).start()]
    at_kill = []
    try:
        for target in (500, 1500, 2500, 3200):  # kill -9 the workers in turn while they group
            i = len(at_kill) % 2
            wait_for(lambda t=target: _mentions(es, isolated) >= t, timeout=300,
                     what=f"{target} quotes grouped")
            workers[i].kill()
            at_kill.append(_mentions(es, isolated))
            workers[i] = worker_factory(isolated).start()
        wait_for(lambda: _mentions(es, isolated) >= len(quotes), timeout=600,
                 what="every quote grouped")
        assert all(w.alive() for w in workers), workers[0].log.read_text()[-3000:]
        consumer = KafkaConsumer(isolated.quotes_topic, bootstrap_servers=isolated.kafka_bootstrap,
                                 auto_offset_reset="earliest", consumer_timeout_ms=3000)
        in_topic = [(m.offset, Quote.from_bytes(m.value)) for m in consumer]
        consumer.close()
        offline = QuoteGroups()
        for offset, q in sorted(in_topic, key=lambda x: x[0]):
            offline.add(q, seq=offset + 1)
        expected = {g.id: sorted(m.quote for m in g.members) for g in offline.store.groups()}
        stored = {g["group"]: sorted(m["quote"] for m in g["state"]["members"])
                  for g in _groups(es, isolated)}
        assert _mentions(es, isolated) == len(quotes)  # each quote exactly once
        assert stored == expected  # the same groups as one uninterrupted run
        assert max(at_kill) < len(quotes), at_kill  # every kill hit the workers mid-stream
    finally:
        _cleanup(es, isolated)
        es.close()

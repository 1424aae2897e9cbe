"""Places on the real stack: raw articles cross Kafka, the real worker links their places
and indexes them, and ``newsflow search --country`` / ``--near`` find them by place."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from pipeline.core.contracts import Provenance, RawArticle
from pipeline.core.settings import Settings
from pipeline.index.mapping import ensure_index, index_name
from pipeline.stream.storystate import StoryState
from pipeline.stream.topics import ensure_topics
from tests.conftest import FIXTURES, settings_env, wait_for

pytestmark = pytest.mark.integration

SEED = (FIXTURES / "seed" / "seed-assad-moscow.txt").read_text(encoding="utf-8")
TEXAS = ("PARIS, Texas (AP) — The city council of Paris voted on Tuesday to repair the "
         "old water tower, after residents complained for months about the leaks.")
LONDON = ("LONDON — Britain's finance minister said on Monday that inflation would fall "
          "this year, and that wages in England would rise faster than prices.")


def raw(slug: str, text: str) -> RawArticle:
    return RawArticle.new(url=f"https://samples.newsflow.invalid/places/{slug}", text=text,
                          title=slug, provenance=Provenance(connector="test", source=slug,
                                                            publisher="Places Desk"))


ARTICLES = {"seed": raw("seed", SEED), "texas": raw("texas", TEXAS),
            "london": raw("london", LONDON)}


@pytest.fixture
def es(isolated: Settings) -> Iterator[Elasticsearch]:
    ensure_topics(isolated)
    ensure_index(isolated)
    client = Elasticsearch(isolated.es_url)
    yield client
    client.indices.delete(index=index_name(isolated), ignore_unavailable=True)
    StoryState(isolated).drop()
    client.close()


def search(settings: Settings, *args: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "search", *args, "--json",
                           "--all-copies"], env=settings_env(settings), capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode in (0, 3), proc.stderr
    return json.loads(proc.stdout)


def found(settings: Settings, *args: str) -> set[str]:
    by_id = {a.id: slug for slug, a in ARTICLES.items()}
    return {by_id[h["id"]] for h in search(settings, *args)["hits"]}


def test_an_article_about_damascus_is_found_by_country_and_near(
        isolated: Settings, es: Elasticsearch, worker_factory) -> None:  # type: ignore[no-untyped-def]
    worker = worker_factory(isolated).start()
    producer = KafkaProducer(bootstrap_servers=isolated.kafka_bootstrap, acks="all")
    for a in ARTICLES.values():
        producer.send(isolated.raw_topic, key=a.id.encode(), value=a.to_bytes())
    producer.flush()
    producer.close()
    ids = [a.id for a in ARTICLES.values()]

    def indexed() -> bool:
        assert worker.alive(), worker.log.read_text()[-3000:]
        es.indices.refresh(index=isolated.index_alias)
        return es.count(index=isolated.index_alias, query={"ids": {"values": ids}})[
            "count"] == len(ids)

    wait_for(indexed, timeout=300, what="the three articles in Elasticsearch")
    seed = es.get(index=isolated.index_alias, id=ARTICLES["seed"].id)["_source"]
    assert {"SY", "TR", "RU"} <= set(seed["countries"])
    assert seed["main_place"]["country"] == "SY" and seed["main_place"]["location"]
    damascus = next(e for e in seed["entities"] if e["canonical"] == "Damascus")
    assert damascus["place"]["geonames_id"] == 170654

    assert found(isolated, "--country", "SY") == {"seed"}
    assert found(isolated, "--country", "us") == {"texas"}
    assert found(isolated, "--near", "Damascus", "--km", "100") == {"seed"}
    assert found(isolated, "--near", "33.5,36.3", "--km", "100") == {"seed"}
    assert found(isolated, "--near", "Dallas", "--km", "200") == {"texas"}  # Paris, TX
    assert found(isolated, "--near", "Damascus", "--km", "100", "--country", "GB") == set()
    result = search(isolated, "--country", "SY")
    [hit] = result["hits"]
    assert hit["main_place"]["name"] == "Syria" and "SY" in hit["countries"]
    assert ["SY", 1] in result["facets"]["countries"]


def test_near_an_unknown_place_says_what_to_give(isolated: Settings) -> None:
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "search", "--near",
                           "Xyzzyville"], env=settings_env(isolated), capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "lat,lon" in proc.stderr

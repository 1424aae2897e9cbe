"""Copies through the real stream: Kafka raw -> funnel -> stories (1 partition) -> assigned
-> enrich (copies derived) -> index -> Elasticsearch, with real `faust worker` processes.
A kill -9 between the original and its copies loses nothing: the story state is rebuilt
from Elasticsearch and the copies still join their original's story."""

from __future__ import annotations

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
from tests.conftest import wait_for
from tests.unit.copies_text import FOLLOW_UP, SAME_TOPIC, WIRE
from tests.unit.test_copies import combined, combined_long, truncated

pytestmark = pytest.mark.integration


def raw(slug: str, text: str, publisher: str) -> RawArticle:
    return RawArticle.new(url=f"https://samples.newsflow.invalid/{slug}", text=text,
                          title=slug, provenance=Provenance(connector="test", source=slug,
                                                            publisher=publisher))


ORIGINAL = raw("wire", WIRE, "AFP")
COPIES = [raw("copy-a", combined(WIRE), "The Riverside Post"),
          raw("copy-b", truncated(WIRE), "Europe Today"),
          raw("copy-c", combined_long(WIRE), "Budapest Morning")]
OTHERS = [raw("follow-up", FOLLOW_UP, "AFP"), raw("rhine", SAME_TOPIC, "Europe Today")]


def produce(settings: Settings, articles: list[RawArticle]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    for a in articles:
        producer.send(settings.raw_topic, key=a.id.encode(), value=a.to_bytes())
    producer.flush()
    producer.close()


@pytest.fixture
def es(isolated: Settings) -> Iterator[Elasticsearch]:
    ensure_topics(isolated)
    ensure_index(isolated)
    client = Elasticsearch(isolated.es_url)
    yield client
    client.indices.delete(index=index_name(isolated), ignore_unavailable=True)
    StoryState(isolated).drop()
    client.close()


def docs(es: Elasticsearch, settings: Settings, ids: list[str]) -> dict[str, dict[str, Any]]:
    es.indices.refresh(index=settings.index_alias)
    resp = es.search(index=settings.index_alias, query={"ids": {"values": ids}},
                     size=len(ids))
    return {h["_id"]: h["_source"] for h in resp["hits"]["hits"]}


def wait_indexed(es: Elasticsearch, settings: Settings, ids: list[str], workers: list[Any]
                 ) -> dict[str, dict[str, Any]]:
    def done() -> bool:
        assert all(w.alive() for w in workers), workers[0].log.read_text()[-3000:]
        return len(docs(es, settings, ids)) == len(ids)

    wait_for(done, timeout=300, what=f"{len(ids)} articles in Elasticsearch")
    return docs(es, settings, ids)


def check_one_story(got: dict[str, dict[str, Any]]) -> str:
    """The original and its copies share one story; the others are their own."""
    family = [ORIGINAL, *COPIES]
    stories = {got[a.id]["story"] for a in family}
    assert len(stories) == 1, {a.title: got[a.id]["story"] for a in family}
    story = stories.pop()
    assert story in {a.id for a in family}  # the id of the story's first article
    firsts = [a for a in family if got[a.id]["copy_of"] is None]
    assert [a.id for a in firsts] == [story]
    for a in family:
        doc = got[a.id]
        # copy-a's own dateline credits Reuters; the others carry AFP's (or inherit it)
        assert doc["wire"] == ("Reuters" if a.id == COPIES[0].id else "AFP")
        if a.id != story:
            assert doc["copy_of"] in {x.id for x in family} and doc["similarity"] >= 0.5
        for e in doc["entities"]:  # derived or not, spans are the copy's own text
            assert doc["text"][e["start"]:e["end"]] == e["text"]
    for a in OTHERS:
        assert got[a.id]["story"] == a.id and got[a.id]["copy_of"] is None
    return story


def test_copies_cross_kafka_and_land_as_one_story(isolated: Settings, es: Elasticsearch,
                                                  worker_factory) -> None:  # type: ignore[no-untyped-def]
    worker = worker_factory(isolated).start()
    articles = [ORIGINAL, *COPIES, *OTHERS]
    produce(isolated, articles)
    got = wait_indexed(es, isolated, [a.id for a in articles], [worker])
    check_one_story(got)
    es.indices.refresh(index=isolated.story_state_index)
    records = {"exists": {"field": "seq"}}  # the watermark document has none
    assert es.count(index=isolated.story_state_index, query=records)["count"] == len(articles)
    log = worker.log.read_text()
    assert "story index" in log
    assert "copies derived from their original's enrichment" in log


def test_a_kill_between_original_and_copies_loses_no_story(isolated: Settings,
                                                           es: Elasticsearch,
                                                           worker_factory) -> None:  # type: ignore[no-untyped-def]
    first = worker_factory(isolated).start()
    produce(isolated, [ORIGINAL, *OTHERS])
    wait_indexed(es, isolated, [a.id for a in (ORIGINAL, *OTHERS)], [first])
    first.kill()  # kill -9: the in-memory story index is gone
    produce(isolated, COPIES)
    # two workers now: whichever gets the stories partition rebuilds the index
    workers = [worker_factory(isolated).start(), worker_factory(isolated).start()]
    ids = [a.id for a in (ORIGINAL, *COPIES, *OTHERS)]
    got = wait_indexed(es, isolated, ids, workers)
    assert check_one_story(got) == ORIGINAL.id  # it came first, before the kill
    logs = "".join(w.log.read_text() for w in workers)
    assert "story index rebuilt from" in logs

"""One huge article does not hold the stream: a valid 13 MiB RawArticle (the raw topic
takes 16 MiB) followed by 20 ordinary ones, through real Kafka, a real `faust worker` and
Elasticsearch. Every stage on the path bounds its cost per article (the story index
compares a bounded head of the text, enrichment dead-letters what is over
max_article_chars), so the 20 are searchable within a minute, and the big one is indexed
or dead-lettered exactly once."""

from __future__ import annotations

import time

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, KafkaProducer

from pipeline.core.contracts import DeadLetter, Provenance, RawArticle
from pipeline.core.settings import Settings
from tests.integration.conftest import docs
from tests.integration.test_stories_stream import es, raw  # noqa: F401 - fixture
from tests.unit.copies_text import FOLLOW_UP, SAME_TOPIC, WIRE

pytestmark = pytest.mark.integration


def huge_text(chars: int) -> str:
    """News prose (names, numbers, sentences), each paragraph numbered, to ``chars``."""
    paras_in = [p for t in (WIRE, FOLLOW_UP, SAME_TOPIC) for p in t.split("\n\n")]
    paras: list[str] = []
    size = 0
    while size < chars:
        para = f"Part {len(paras)}: {paras_in[len(paras) % len(paras_in)]}"
        paras.append(para)
        size += len(para) + 2
    return "\n\n".join(paras)


def _letters(settings: Settings) -> list[DeadLetter]:
    consumer = KafkaConsumer(settings.dead_letter_topic,
                             bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=3000,
                             fetch_max_bytes=32 * 1024 * 1024,
                             max_partition_fetch_bytes=32 * 1024 * 1024)
    try:
        return [DeadLetter.model_validate_json(m.value) for m in consumer]
    finally:
        consumer.close()


def test_a_13_mib_article_does_not_hold_the_20_behind_it(
        isolated: Settings, es: Elasticsearch, worker_factory) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    big = RawArticle.new(url="https://samples.newsflow.invalid/huge", text=huge_text(13 << 20),
                         title="huge", provenance=Provenance(connector="test", source="huge"))
    assert 12 << 20 < len(big.to_bytes()) < 16 << 20
    bases = [WIRE, FOLLOW_UP, SAME_TOPIC]
    normal = [raw(f"n{i}", f"Item {i} of the day, number {i * 7919}. " + bases[i % 3]
                  + f"\n\nReported on day {i}.", "Daily") for i in range(20)]
    worker = worker_factory(isolated).start()
    producer = KafkaProducer(bootstrap_servers=isolated.kafka_bootstrap, acks="all",
                             max_request_size=16 * 1024 * 1024)
    producer.send(isolated.raw_topic, key=b"same", value=big.to_bytes())
    producer.flush()
    for a in normal:
        producer.send(isolated.raw_topic, key=b"same", value=a.to_bytes())
    producer.flush()
    producer.close()
    sent = time.monotonic()
    ids = [a.id for a in normal]
    deadline = sent + 60  # from the moment the 20 are in the raw topic
    got: dict[str, object] = {}
    while time.monotonic() < deadline:
        assert worker.alive(), worker.log.read_text()[-3000:]
        got = docs(es, isolated, ids)
        if len(got) == len(ids):
            break
        time.sleep(1)
    assert len(got) == len(ids), (f"{len(got)}/20 searchable after 60 s",
                                  worker.log.read_text()[-3000:])
    indexed = len(docs(es, isolated, [big.id]))
    letters = [x for x in _letters(isolated) if x.article_id == big.id]
    for _ in range(10):  # the big one: indexed or dead-lettered, exactly once
        if indexed + len(letters) >= 1:
            break
        time.sleep(1)
        indexed = len(docs(es, isolated, [big.id]))
        letters = [x for x in _letters(isolated) if x.article_id == big.id]
    assert indexed + len(letters) == 1, (indexed, [x.error for x in letters])
    assert not [x for x in _letters(isolated) if x.article_id in ids]

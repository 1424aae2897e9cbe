"""Funnel -> stories through real Kafka with 2 raw partitions: the funnel ships each
article's signature as a header, and the stories agent's assignments are exactly the
offline twin's (``assign_all``) over the stories topic's order."""

from __future__ import annotations

import pytest
from kafka import KafkaConsumer, TopicPartition

from pipeline.core.contracts import AssignedArticle, RawArticle
from pipeline.core.settings import Settings
from pipeline.group.copies import assign_all
from pipeline.group.prepared import HEADER, Prepared, from_headers
from tests.conftest import wait_for
from tests.integration.test_stories_stream import (  # noqa: F401 - es is a fixture
    COPIES,
    ORIGINAL,
    OTHERS,
    es,
    produce,
)

pytestmark = pytest.mark.integration


def _read(settings: Settings, topic: str, n: int) -> list[tuple[bytes, object]]:
    consumer = KafkaConsumer(**settings.kafka_client_config(), auto_offset_reset="earliest",
                             consumer_timeout_ms=2000)
    parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
    consumer.assign(parts)
    out = [(m.value, m.headers) for m in consumer]
    consumer.close()
    return out if len(out) >= n else []


def test_two_raw_partitions_give_the_offline_stories(isolated: Settings, es,  # noqa: F811  # type: ignore[no-untyped-def]
                                                     worker_factory) -> None:  # type: ignore[no-untyped-def]
    assert isolated.topic_partitions(isolated.raw_topic) == 2
    articles = [ORIGINAL, *COPIES, *OTHERS]
    worker = worker_factory(isolated).start()
    produce(isolated, articles)
    got = wait_for(lambda: _read(isolated, isolated.assigned_topic, len(articles)),
                   timeout=300, what="assignments")
    assert worker.alive()
    ordered = _read(isolated, isolated.stories_topic, len(articles))
    raws = [RawArticle.from_bytes(v) for v, _ in ordered]
    for (value, headers), raw in zip(ordered, raws, strict=True):
        assert any(k == HEADER for k, _ in headers)  # type: ignore[attr-defined]
        shipped = from_headers(headers, value)
        assert shipped is not None and shipped.wire == Prepared.of(raw).wire
    offline = {a.id: a for a in assign_all(raws)}
    stream = {x.id: x for x in (AssignedArticle.from_bytes(v) for v, _ in got)}
    assert set(stream) == {a.id for a in articles}
    for aid, a in offline.items():
        s = stream[aid]
        assert (s.story, s.copy_of, s.similarity, s.wire) == (a.story, a.copy_of,
                                                              a.similarity, a.wire)
    assert len({stream[a.id].story for a in [ORIGINAL, *COPIES]}) == 1

"""`newsflow deadletters list` and `replay` on the real Kafka (and, end to end, a worker)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, KafkaProducer
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.core.contracts import DeadLetter, Provenance, RawArticle
from pipeline.core.settings import Settings
from pipeline.index.mapping import ensure_index, index_name
from pipeline.stream.topics import ensure_topics
from tests.conftest import settings_env, wait_for

pytestmark = pytest.mark.integration


def _produce(settings: Settings, topic: str, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all",
                             max_request_size=16 * 1024 * 1024)
    for value in values:
        producer.send(topic, value=value)
    producer.flush()
    producer.close()


def _read(settings: Settings, topic: str) -> list[bytes]:
    consumer = KafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=3000)
    try:
        return [m.value for m in consumer]
    finally:
        consumer.close()


def _cli(settings: Settings, *args: str) -> str:
    result = CliRunner().invoke(app, ["deadletters", *args], env=settings_env(settings))
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def test_list_filters_and_replay_reproduces_originals_once(isolated: Settings) -> None:
    ensure_topics(isolated)
    raw, enriched = isolated.raw_topic, isolated.enriched_topic
    old = datetime.now(UTC) - timedelta(days=2)
    letters = [
        DeadLetter.of(stage="decode", exc=ValueError("bad"), payload=b"fixed raw 1",
                      topic=raw, partition=0, offset=5),
        DeadLetter.of(stage="decode", exc=ValueError("bad"), payload=b"fixed raw 1",
                      topic=raw, partition=0, offset=5),  # the same message, lettered twice
        DeadLetter.of(stage="index", exc=ValueError("rejected"), payload=b"enriched 2",
                      article_id="a2", topic=enriched, partition=1, offset=7),
        DeadLetter.of(stage="decode", exc=ValueError("huge"), payload=b"x" * 100,
                      topic=raw, partition=1, offset=9, max_payload=10),  # truncated
        DeadLetter.of(stage="decode", exc=ValueError("old"), payload=b"old raw",
                      topic=raw, partition=0, offset=1).model_copy(update={"at": old}),
        DeadLetter.of(stage="connector", exc=ValueError("feed"), payload=b"elsewhere"),
    ]
    _produce(isolated, isolated.dead_letter_topic, [x.to_bytes() for x in letters])

    listed = [json.loads(line) for line in _cli(isolated, "list", "--json").splitlines()]
    assert len(listed) == 6 and "payload_b64" not in listed[0]
    assert [x["replayable"] for x in listed] == [True, True, True, True, False, False]
    decode_recent = _cli(isolated, "list", "--stage", "decode", "--since", "1d", "--json")
    assert len(decode_recent.splitlines()) == 3

    _cli(isolated, "replay", "--since", "1d")
    assert sorted(_read(isolated, raw)) == [b"fixed raw 1"]
    assert _read(isolated, enriched) == [b"enriched 2"]
    _cli(isolated, "replay", "--stage", "decode")  # the old one too, now
    assert sorted(_read(isolated, raw)) == [b"fixed raw 1", b"fixed raw 1", b"old raw"]


def test_fixed_poison_is_reingested_by_replay(isolated: Settings, worker_factory,  # type: ignore[no-untyped-def]
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """An article over the character limit is dead-lettered; with the limit raised, a
    replay brings it into the index."""
    ensure_topics(isolated)
    es = Elasticsearch(isolated.es_url)
    ensure_index(isolated, es)
    art = RawArticle.new(url="https://dl.example.org/long", provenance=Provenance(
        connector="test", source="dl"), text="Maria Okafor said talks would resume. " * 60)
    monkeypatch.setenv("NEWSFLOW_MAX_ARTICLE_CHARS", "1000")
    worker = worker_factory(isolated).start()
    try:
        _produce(isolated, isolated.raw_topic, [art.to_bytes()])
        wait_for(lambda: _read(isolated, isolated.dead_letter_topic), timeout=180,
                 what="the article dead-lettered")
        worker.stop()
        monkeypatch.setenv("NEWSFLOW_MAX_ARTICLE_CHARS", "200000")
        worker_factory(isolated).start()
        _cli(isolated, "replay", "--stage", "enrich")

        def indexed() -> bool:
            es.indices.refresh(index=isolated.index_alias)
            return bool(es.exists(index=isolated.index_alias, id=art.id))

        wait_for(indexed, timeout=180, what="the replayed article indexed")
    finally:
        es.indices.delete(index=index_name(isolated), ignore_unavailable=True)
        es.close()


def test_letters_of_the_quotes_and_group_stages_replay_and_say_so(isolated: Settings) -> None:
    ensure_topics(isolated)
    quotes = isolated.quotes_topic
    letters = [
        DeadLetter.of(stage="group", exc=ValueError("rejected group"), payload=b"quote 1",
                      article_id="a1", topic=quotes, partition=0, offset=3),
        DeadLetter.of(stage="quotes", exc=ValueError("too large"), payload=b"enriched 2",
                      article_id="a2", topic=isolated.enriched_topic, partition=0, offset=4),
    ]
    _produce(isolated, isolated.dead_letter_topic, [x.to_bytes() for x in letters])
    lines = [json.loads(x) for x in _cli(isolated, "replay", "--json").splitlines()]
    assert [(x["replayed"], x["stage"]) for x in lines] == [(True, "group"), (True, "quotes")]
    assert lines[0]["from"] == {"topic": quotes, "partition": 0, "offset": 3}
    assert lines[0]["to"]["topic"] == quotes and lines[0]["dlq_offset"] == 0
    consumer = KafkaConsumer(quotes, bootstrap_servers=isolated.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=3000)
    [message] = list(consumer)
    consumer.close()
    assert message.value == b"quote 1"
    replay = json.loads(dict(message.headers)["newsflow-replay"])
    assert (replay["stage"], replay["offset"], replay["dlq_offset"]) == ("group", 3, 0)


def test_bad_stage_and_huge_since_are_told_apart_from_errors(isolated: Settings) -> None:
    ensure_topics(isolated)
    env = settings_env(isolated)
    bad = CliRunner().invoke(app, ["deadletters", "list", "--stage", "nosuchstage"], env=env)
    assert bad.exit_code == 2 and "no such stage" in bad.output
    assert _cli(isolated, "list", "--since", "999999999999d", "--json") == ""

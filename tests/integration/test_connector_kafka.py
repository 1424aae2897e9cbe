"""The connector runner against real Kafka: bad items go to the dead-letter topic while
the source goes on, and a broker that is away for more than a minute is waited out.

The outage test runs its own broker (like tests/integration/test_kafka_sasl.py), which it
stops and starts again; the shared stack is never touched.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer

from connectors.runner import PassResult, Runner
from connectors.sources import parse_sources
from connectors.state import StateStore
from pipeline.core.contracts import DeadLetter, RawArticle
from pipeline.core.settings import MAX_MESSAGE_BYTES, Settings
from pipeline.ops.stack import services
from pipeline.ops.stack.fetch import fetch_kafka
from pipeline.stream.topics import ensure_topics
from tests.conftest import wait_for

pytestmark = pytest.mark.integration


def _consume(settings: Settings, topic: str) -> list[bytes]:
    consumer = KafkaConsumer(topic, **settings.kafka_client_config(),
                             auto_offset_reset="earliest", consumer_timeout_ms=5000,
                             fetch_max_bytes=MAX_MESSAGE_BYTES * 2,
                             max_partition_fetch_bytes=MAX_MESSAGE_BYTES * 2)
    try:
        return [m.value for m in consumer]
    finally:
        consumer.close()


def _lines(path: Path, start: int, n: int) -> list[str]:
    urls = [f"https://kafka.example.org/{i}" for i in range(start, start + n)]
    with path.open("a") as fh:
        for url in urls:
            fh.write(json.dumps({"url": url, "title": url[-3:], "text": f"Story at {url}."})
                     + "\n")
    return urls


def test_bad_items_are_dead_lettered_and_the_source_goes_on(isolated: Settings,
                                                             tmp_path: Path) -> None:
    ensure_topics(isolated)
    path = tmp_path / "backfill.jsonl"
    good = _lines(path, 0, 2)
    with path.open("a") as fh:
        fh.write(json.dumps({"url": 123, "text": "A number for a URL."}) + "\n")
        # over the producer's max_request_size: kafka-python raises from send()
        fh.write(json.dumps({"url": "https://kafka.example.org/huge",
                             "text": "word " * 3_500_000}) + "\n")
    good += _lines(path, 2, 2)
    store = StateStore(tmp_path / "state.sqlite")
    runner = Runner(parse_sources({"sources": [{"name": "bf", "type": "jsonl.v1",
                                                "path": str(path)}]}),
                    settings=isolated, state=store)
    try:
        [result] = asyncio.run(runner.run(once=True))
    finally:
        runner.close()
    assert result.failed is None and result.new == 4 and result.dead_lettered == 2
    assert store.health("bf").consecutive_failures == 0
    assert {f.status for f in store.item_failures("bf")} == {"bad"}
    sent = [RawArticle.from_bytes(v) for v in _consume(isolated, isolated.raw_topic)]
    assert sorted(a.url for a in sent) == sorted(good)
    raw_letters = _consume(isolated, isolated.dead_letter_topic)
    letters = [DeadLetter.model_validate_json(v) for v in raw_letters]
    assert all(len(v) < MAX_MESSAGE_BYTES for v in raw_letters)
    assert [x.stage for x in letters] == ["connector", "connector"]
    assert letters[0].error_type == "ParseError" and b'"url": 123' in letters[0].payload()
    assert letters[1].error_type == "TooLarge" and letters[1].payload_size > 17_000_000
    assert "source 'bf'" in letters[1].error


# ---------------------------------------------------------------- Kafka away


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def own_broker(tmp_path: Path, stack_settings: Settings) -> Iterator[Settings]:
    """A broker of our own (PLAINTEXT), which the test may stop and start."""
    port = _free_port()
    while services.port_open(services.Endpoint("127.0.0.1", port + 1)):
        port = _free_port()
    home = tmp_path / "home"
    home.mkdir()
    settings = Settings.from_env({**os.environ, "NEWSFLOW_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}",
                                  "NEWSFLOW_TOPIC_PREFIX": "away", "NEWSFLOW_PARTITIONS": "2",
                                  "NEWSFLOW_HOME": str(home)})
    (home / "dist").symlink_to(fetch_kafka(stack_settings).parent)
    services.start_kafka(settings)
    try:
        wait_for(lambda: services.kafka_healthy(settings), timeout=120, what="own broker")
        yield settings
    finally:
        services.stop_pid(services.kafka_paths(settings)["pid"])


def test_kafka_away_for_more_than_a_minute_is_waited_out(own_broker: Settings,
                                                         tmp_path: Path) -> None:
    settings = own_broker
    ensure_topics(settings)
    path = tmp_path / "wave.jsonl"
    first = _lines(path, 0, 5)
    spec = {"name": "wave", "type": "jsonl.v1", "path": str(path)}
    store_path = tmp_path / "state.sqlite"
    runner = Runner(parse_sources({"sources": [spec]}), settings=settings,
                    state=StateStore(store_path))
    outcome: dict[str, object] = {}
    try:
        [result] = asyncio.run(runner.run(once=True))
        assert result.failed is None and result.new == 5

        assert services.stop_pid(services.kafka_paths(settings)["pid"])  # Kafka away
        second = _lines(path, 5, 5)

        def second_pass() -> None:
            try:
                # the runner's SQLite connection belongs to this thread from now on
                runner.state = StateStore(store_path)
                outcome["results"] = asyncio.run(runner.run(once=True))
            except BaseException as exc:  # noqa: BLE001 - the test reports it
                outcome["error"] = exc

        thread = threading.Thread(target=second_pass, daemon=True)
        thread.start()
        time.sleep(75)  # longer than the old 60 s flush timeout
        assert thread.is_alive(), f"the pass ended while Kafka was away: {outcome}"
        probe = StateStore(store_path)
        assert all(probe.classify(u, "-")[0] == "new" for u in second)  # nothing recorded
        assert probe.conn_state("wave")["offsets"][str(path.resolve())]["line"] == 5

        services.start_kafka(settings)  # Kafka back
        wait_for(lambda: services.kafka_healthy(settings), timeout=120, what="broker back")
        thread.join(240)
        assert not thread.is_alive(), "the pass did not resume after Kafka came back"
        assert "error" not in outcome, outcome.get("error")
        results = outcome["results"]
        assert isinstance(results, list)
        [again] = results
        assert isinstance(again, PassResult) and again.failed is None and again.new == 5
    finally:
        runner.close()
    sent = [RawArticle.from_bytes(v) for v in _consume(settings, settings.raw_topic)]
    assert {a.url for a in sent} == set(first + second)  # a re-send may repeat, never lose
    probe = StateStore(store_path)
    assert probe.conn_state("wave")["offsets"][str(path.resolve())]["line"] == 10

"""The secure profile's Kafka side, as far as this machine allows: a second local broker
with SASL/PLAIN on its client listener; newsflow's clients authenticate with the
configured credentials, and a wrong password is refused."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError

from pipeline.core.settings import Settings
from pipeline.ops.stack import services
from pipeline.ops.stack.fetch import fetch_kafka
from pipeline.stream.topics import ensure_topics
from tests.conftest import wait_for

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sasl_broker(tmp_path: Path, stack_settings: Settings) -> Iterator[Settings]:
    port = _free_port()
    while services.port_open(services.Endpoint("127.0.0.1", port + 1)):
        port = _free_port()
    env = {**os.environ, "NEWSFLOW_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}",
           "NEWSFLOW_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
           "NEWSFLOW_KAFKA_SASL_MECHANISM": "PLAIN", "NEWSFLOW_KAFKA_SASL_USERNAME": "newsflow",
           "NEWSFLOW_KAFKA_SASL_PASSWORD": "s3cret-pw", "NEWSFLOW_TOPIC_PREFIX": "sasl",
           "NEWSFLOW_HOME": str(tmp_path)}
    settings = Settings.from_env(env)
    # share the downloaded jars with the running stack instead of fetching them again
    (tmp_path / "dist").symlink_to(fetch_kafka(stack_settings).parent)
    services.start_kafka(settings)
    try:
        wait_for(lambda: services.kafka_healthy(settings), timeout=120, what="SASL broker")
        yield settings
    finally:
        services.stop_pid(services.kafka_paths(settings)["pid"])


def test_clients_authenticate_and_wrong_password_is_refused(sasl_broker: Settings) -> None:
    assert ensure_topics(sasl_broker)  # admin client over SASL
    producer = KafkaProducer(**sasl_broker.kafka_client_config(), acks="all")
    producer.send(sasl_broker.raw_topic, b"hello").get(30)
    producer.close()
    consumer = KafkaConsumer(sasl_broker.raw_topic, **sasl_broker.kafka_client_config(),
                             auto_offset_reset="earliest", consumer_timeout_ms=5000)
    assert [m.value for m in consumer] == [b"hello"]
    consumer.close()
    assert "s3cret-pw" not in repr(sasl_broker)
    wrong = {**sasl_broker.kafka_client_config(), "sasl_plain_password": "nope"}
    with pytest.raises(KafkaError):
        KafkaProducer(**wrong, max_block_ms=5000).send(sasl_broker.raw_topic, b"x").get(10)

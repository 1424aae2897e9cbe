"""The local stack: a real Kafka (KRaft) and a real Elasticsearch, no Docker.

    newsflow stack up       # download once, start both, wait until healthy
    newsflow stack status
    newsflow stack down

``up`` is idempotent: services already running and healthy are left alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.core.errors import StackError
from pipeline.core.settings import Settings
from pipeline.ops.stack import fetch, services


@dataclass
class ServiceStatus:
    name: str
    running: bool
    healthy: bool
    pid: int | None
    address: str


def _wait(check: Callable[[], bool], *, what: str, timeout: float, logs: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(1.0)
    raise StackError(f"{what} did not become healthy within {timeout:.0f}s; see {logs}")


def up(settings: Settings, *, say: Callable[[str], None] = print, timeout: float = 180) -> None:
    """Fetch what is missing, start Kafka and Elasticsearch, wait, create topics."""
    from pipeline.stream import topics

    say("resolving Kafka and Elasticsearch from Maven Central (cached after the first run)")
    fetch.fetch_all(settings)
    logs = str(settings.home / "logs")
    if not services.kafka_healthy(settings):
        say(f"starting Kafka on {settings.kafka_bootstrap}")
        services.start_kafka(settings)
    if not services.es_healthy(settings):
        say(f"starting Elasticsearch on {settings.es_url}")
        services.start_elasticsearch(settings)
    _wait(lambda: services.kafka_healthy(settings), what="Kafka", timeout=timeout, logs=logs)
    say("Kafka is healthy")
    _wait(lambda: services.es_healthy(settings), what="Elasticsearch", timeout=timeout,
          logs=logs)
    say("Elasticsearch is healthy")
    created = topics.ensure_topics(settings)
    if created:
        say("created topics: " + ", ".join(created))


def down(settings: Settings, *, say: Callable[[str], None] = print) -> None:
    for name, pidfile in (("Elasticsearch", services.es_paths(settings)["pid"]),
                          ("Kafka", services.kafka_paths(settings)["pid"])):
        if services.stop_pid(pidfile):
            say(f"stopped {name}")
        else:
            say(f"{name} was not running")


def status(settings: Settings) -> list[ServiceStatus]:
    kpid = services.read_pid(services.kafka_paths(settings)["pid"])
    epid = services.read_pid(services.es_paths(settings)["pid"])
    return [
        ServiceStatus("kafka", kpid is not None, services.kafka_healthy(settings), kpid,
                      settings.kafka_bootstrap),
        ServiceStatus("elasticsearch", epid is not None, services.es_healthy(settings), epid,
                      settings.es_url),
    ]

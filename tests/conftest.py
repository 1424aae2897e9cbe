"""Shared fixtures: settings for an isolated pipeline, the local stack, a worker."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.core.settings import Settings
from pipeline.stream.watchdog import STALLED
from pipeline.stream.workers import worker_command

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared is only beside the developers' clones)")
    return path


@pytest.fixture(scope="session")
def stack_settings() -> Settings:
    """Settings of the running local stack; skips nothing: the stack must be up."""
    from pipeline.ops.stack import services

    settings = Settings.from_env()
    if not (services.kafka_healthy(settings) and services.es_healthy(settings)):
        pytest.fail("Kafka and Elasticsearch must be running: `newsflow stack up` "
                    "(make test does it)")
    return settings


@pytest.fixture
def isolated(stack_settings: Settings, tmp_path: Path) -> Settings:
    """Settings with their own topics, consumer group and index (no cross-test leaks)."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    return Settings.from_env({
        **os.environ,
        "NEWSFLOW_TOPIC_PREFIX": prefix,
        "NEWSFLOW_INDEX": f"{prefix}-articles",
        "NEWSFLOW_PARTITIONS": "2",
    })


def settings_env(settings: Settings) -> dict[str, str]:
    env = {**os.environ, "NEWSFLOW_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
           "NEWSFLOW_ES_URL": settings.es_url, "NEWSFLOW_TOPIC_PREFIX": settings.topic_prefix,
           "NEWSFLOW_INDEX": settings.index_alias,
           "NEWSFLOW_PARTITIONS": str(settings.partitions)}
    if settings.group:
        env["NEWSFLOW_GROUP"] = settings.group
    if settings.worker_index:  # a second process: its own Faust data directory
        env["NEWSFLOW_WORKER_INDEX"] = str(settings.worker_index)
    if settings.kafka_sasl_mechanism:  # a broker with users (SASL)
        env |= {"NEWSFLOW_KAFKA_SECURITY_PROTOCOL": settings.kafka_security_protocol,
                "NEWSFLOW_KAFKA_SASL_MECHANISM": settings.kafka_sasl_mechanism,
                "NEWSFLOW_KAFKA_SASL_USERNAME": settings.kafka_sasl_username or "",
                "NEWSFLOW_KAFKA_SASL_PASSWORD": settings.kafka_sasl_password or ""}
        env.pop("NEWSFLOW_KAFKA_SASL_PASSWORD_FILE", None)  # the password is given: not both
    if settings.es_username and settings.es_password:  # an Elasticsearch with users
        env |= {"NEWSFLOW_ES_USERNAME": settings.es_username,
                "NEWSFLOW_ES_PASSWORD": settings.es_password}
        env.pop("NEWSFLOW_ES_PASSWORD_FILE", None)
    return env


class Worker:
    """A real `faust worker` process of pipeline.stream.app, for one isolated pipeline.

    Like ``newsflow worker``, it starts the process again when its watchdog made it exit
    stalled (exit code 75); ``restarts`` counts those, ``exits`` holds the exit code of
    every exit the test did not ask for (stalled or not)."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.settings, self.log = settings, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.exits: list[int] = []
        self._stopping = False

    def start(self) -> Worker:
        self.proc = subprocess.Popen(worker_command("info"), env=settings_env(self.settings),
                                     stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
                                     cwd=ROOT)
        threading.Thread(target=self._supervise, args=(self.proc,), daemon=True).start()
        return self

    def _supervise(self, proc: subprocess.Popen[bytes]) -> None:
        code = proc.wait()
        if self._stopping or proc is not self.proc:
            return
        self.exits.append(code)
        if code == STALLED:
            self.restarts += 1
            self.start()

    def kill(self) -> None:
        self._stopping = True
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)

    def stop(self) -> None:
        self._stopping = True
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)

    def alive(self) -> bool:
        if self.proc is not None and self.proc.returncode == STALLED and not self._stopping:
            time.sleep(2)  # being started again
        return self.proc is not None and self.proc.poll() is None


@pytest.fixture
def worker_factory(tmp_path: Path) -> Iterator[type[Worker]]:
    made: list[Worker] = []

    class Made(Worker):
        def __init__(self, settings: Settings) -> None:
            super().__init__(settings, tmp_path / f"worker-{len(made)}.log")
            made.append(self)

    yield Made
    for w in made:
        w.stop()


def wait_for(check, *, timeout: float, every: float = 1.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")

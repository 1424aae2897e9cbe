"""kill -9 of the worker while the stateful stages take over and while they write their
durable state, on the real stack, with articles flowing (originals with a quote, wire
copies of them) over a stored history.

* History: ``FAULT_STATE_HISTORY`` story records written by the stories stage's own
  writer (all in the hot window, so a takeover loads them) and ``FAULT_STATE_QUOTES``
  quotes grouped by the group stage from the quotes topic.
* Durable write: ``FAULT_STATE_KILLS`` times (stories and group in turn), the worker is
  SIGKILLed when its metrics show a batch of that stage inside its state write
  (``newsflow_stage_step_in_progress{step="write"}``, polled every 20 ms).
* Takeover: after the first stories and the first group write kill, the worker started
  next is SIGKILLed as soon as it logs ``recovering <stage> partition``, before
  ``recovered ...``.

Each killed worker is started again at once (a new process, as a supervisor would).

Afterwards every article is searchable exactly once by id, each article has one story in
every assignment made (replays included), every copy is in its original's story, every
quote is in exactly one group and counted once, nothing is dead-lettered. The takeover
times the logs give go to ``bench/results/state_faults.json``.

A second test: a takeover longer than ``NEWSFLOW_STALL_TIMEOUT`` is not a stall.

CI runs the small form (the defaults); ``make fault-state`` the full one.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from pipeline.core.contracts import Provenance, RawArticle
from pipeline.core.settings import Settings
from pipeline.index.mapping import ensure_index, index_name
from pipeline.index.quotes_mapping import ensure_quotes_index
from pipeline.stream.storystate import StoryState
from pipeline.stream.topics import ensure_topics
from tests.conftest import wait_for
from tests.fault.cluster_kit import Stream, Watch
from tests.fault.state_kit import check, in_flight, quote_history, story_history, wait_log
from tests.integration.conftest import send

pytestmark = [pytest.mark.fault, pytest.mark.integration]
HISTORY = int(os.environ.get("FAULT_STATE_HISTORY", "30000"))
# the stall test's history: its takeover must outlast the 1 s stall timeout even on a quiet
# machine (30,000 records took 1.1 s there)
STALL_HISTORY = int(os.environ.get("FAULT_STATE_STALL_HISTORY", "120000"))
QUOTES = int(os.environ.get("FAULT_STATE_QUOTES", "1500"))
KILLS = int(os.environ.get("FAULT_STATE_KILLS", "2"))
RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "state_faults.json"
TOOK = re.compile(r"recovered (\w+) partition \d+ in ([\d.]+) s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def pipeline_es(isolated: Settings) -> Iterator[None]:
    """The isolated settings' topics, article and quote indices; the indices and the
    story state deleted afterwards."""
    ensure_topics(isolated)
    ensure_index(isolated)
    ensure_quotes_index(isolated)
    yield
    es = Elasticsearch(isolated.es_url)
    es.indices.delete(index=f"{index_name(isolated)},{isolated.quotes_index_alias}*",
                      ignore_unavailable=True)
    StoryState(isolated).drop()
    es.close()


def _drained(settings: Settings) -> bool:
    """Every consumed topic's partitions committed up to their end (the pipeline idle)."""
    admin = KafkaAdminClient(**settings.kafka_client_config())
    consumer = KafkaConsumer(**settings.kafka_client_config())
    try:
        committed = admin.list_group_offsets(settings.app_id)[settings.app_id]
        for topic in (settings.raw_topic, settings.stories_topic, settings.assigned_topic,
                      settings.enriched_topic, settings.quotes_topic):
            parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            for tp, end in consumer.end_offsets(parts).items():
                if end and (tp not in committed or committed[tp].offset < end):
                    return False
        return True
    finally:
        consumer.close()
        admin.close()


def _plan(writes: int) -> list[tuple[str, str]]:
    """The kills in order: during a stories write, during the stories takeover that
    follows, during a group write, during the group takeover that follows, then the
    remaining writes (stories and group in turn).

    >>> _plan(3)[:2], _plan(3)[4:]
    ([('write', 'stories'), ('takeover', 'stories')], [('write', 'stories')])
    """
    plan = [("write", "stories"), ("takeover", "stories"), ("write", "group"),
            ("takeover", "group")]
    return plan + [("write", ("stories", "group")[k % 2]) for k in range(writes - 2)]


def _took(worker) -> list[tuple[str, float]]:  # type: ignore[no-untyped-def]
    return [(m[1], float(m[2])) for m in TOOK.finditer(worker.log.read_text(errors="replace"))]


def test_kill9_during_takeover_and_state_writes_loses_and_doubles_nothing(  # type: ignore[no-untyped-def]
        isolated: Settings, pipeline_es, worker_factory, monkeypatch) -> None:
    started = time.monotonic()
    port = _free_port()
    monkeypatch.setenv("NEWSFLOW_METRICS_PORT", str(port))
    # offsets committed every 5 s: a kill -9 leaves acknowledged, uncommitted work to replay
    monkeypatch.setenv("NEWSFLOW_COMMIT_INTERVAL", "5")
    monkeypatch.setenv("NEWSFLOW_COMMIT_EVERY", "1000000")
    stored = story_history(isolated, articles=HISTORY)
    quote_history(isolated, quotes=QUOTES)
    worker = worker_factory(isolated).start()
    stream = Stream(isolated, rate=2.0).start()
    watch = Watch(isolated, stream).start()
    takeovers: list[dict[str, object]] = []
    writes: list[dict[str, object]] = []
    recoveries: list[tuple[str, float]] = []
    try:
        wait_log(worker, "recovered group partition", timeout=300)
        wait_for(lambda: len(watch.seen) >= 5, timeout=300, what="the first articles indexed")
        for kind, stage in _plan(KILLS):
            if kind == "takeover":  # the worker just started after the last kill
                line = wait_log(worker, f"recovering {stage} partition", timeout=300)
                worker.kill()
                mid = f"recovered {stage} partition" not in worker.log.read_text(
                    errors="replace")
                takeovers.append({"stage": stage, "killed_mid_recovery": mid,
                                  "line": line.split("recovering", 1)[1][:160]})
            else:
                wait_for(lambda s=stage: in_flight(port, s), timeout=300, every=0.02,  # type: ignore[misc]
                         what=f"a {stage} state write in flight")
                worker.kill()
                writes.append({"stage": stage, "at_s": round(time.monotonic() - started, 1)})
            recoveries += _took(worker)
            worker = worker_factory(isolated).start()
        stream.stop()
        wait_for(watch.all_seen, timeout=300, what="every produced article searchable")
        wait_for(lambda: _drained(isolated), timeout=300, what="every topic consumed")
        time.sleep(3)  # a late duplicate would show now
        assert worker.alive(), worker.log.read_text()[-3000:]
        recoveries += _took(worker)
    finally:
        stream.stop()
        watch.stop()
    assert takeovers[0]["killed_mid_recovery"], (
        f"the stories takeover of {stored} records ended before the kill: raise "
        "FAULT_STATE_HISTORY", takeovers)
    counts = check(isolated, stream)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "what": "kill -9 of the one worker during a takeover (on its 'recovering <stage> "
                "partition' log line) and during a state write (metrics: a write in "
                "flight), real Kafka and Elasticsearch, a stream of 2 articles/s",
        "stored_story_records": stored, "history_quotes": QUOTES, "takeover_kills": takeovers,
        "write_kills": writes, "recovery_s": [{"stage": s, "seconds": t} for s, t in recoveries],
        "producer_retries": stream.failures, "run_s": round(time.monotonic() - started, 1),
        **counts}, indent=2) + "\n")
    assert not worker.restarts, "the watchdog restarted a worker"


def test_a_takeover_longer_than_the_stall_timeout_is_not_a_stall(  # type: ignore[no-untyped-def]
        isolated: Settings, pipeline_es, worker_factory, monkeypatch) -> None:
    timeout, every = 1.0, 0.25
    monkeypatch.setenv("NEWSFLOW_STALL_TIMEOUT", str(timeout))
    monkeypatch.setenv("NEWSFLOW_STALL_CHECK", str(every))
    stored = story_history(isolated, articles=STALL_HISTORY)
    arts = [RawArticle.new(url=f"https://stall.example.org/{i}", title=f"Item {i}",
                           text=f"The council met on Monday about item {i} of the budget.",
                           provenance=Provenance(connector="test", source="stall"))
            for i in range(3)]
    send(isolated, isolated.raw_topic, [a.to_bytes() for a in arts],
         keys=[a.id.encode() for a in arts])
    worker = worker_factory(isolated).start()
    line = wait_log(worker, ("recovered stories partition", "worker stalled"), timeout=300)
    assert "worker stalled" not in line and worker.restarts == 0, line
    [(_, seconds)] = [t for t in _took(worker) if t[0] == "stories"][:1]
    assert seconds > timeout + every, (
        f"the takeover of {stored} records took {seconds} s, not longer than the stall "
        f"timeout ({timeout} s): it proves nothing; raise FAULT_STATE_STALL_HISTORY")

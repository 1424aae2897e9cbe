"""Faults of a cluster, on a real local cluster: three KRaft brokers, two Elasticsearch
nodes (``newsflow stack up --kafka-brokers 3 --es-nodes 2``'s code), topics with 3 copies
and 2 in sync, indices with a replica, real worker processes, articles produced steadily
(originals with a quote, wire copies of them, so the stories and group stages matter).

One at a time, the pipeline recovering in between (:mod:`tests.fault.cluster_moves`):

* SIGKILL of the broker leading the stories topic's partition;
* SIGKILL of the broker coordinating the workers' consumer group;
* SIGSTOP of the coordinator's broker past the session timeout, then SIGCONT;
* a rolling restart of every broker, one by one;
* SIGKILL of the Elasticsearch node holding the primary of the articles index;
* a second worker joins, the first is SIGKILLed and the second takes its partitions.

``CLUSTER_FAULTS`` selects them: ``ci`` (the default, in ``make test``: the leader kill
and the pause), ``full`` (all: ``make fault-cluster``) or short names
(``leader,coordinator,pause,rolling,es,worker``).

Afterwards (:mod:`tests.fault.cluster_checks`): every produced article searchable exactly
once, one story per article in every assignment made (replays included), a copy in its
original's story, each quote counted once and each copy's quotes in its original's
groups, nothing dead-lettered, and no worker exit (no exit storm on a coordinator move).
Per fault, the time from the fault until the first article produced after it is
searchable, and the longest time nothing became searchable until the pipeline took the
articles produced after the node was back, go to ``bench/results/cluster_faults.json``
(the full set; another selection writes ``$NEWSFLOW_HOME/cluster_faults.json``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.core.settings import Settings
from tests.conftest import settings_env, wait_for
from tests.fault.cluster_checks import check
from tests.fault.cluster_kit import Stream, Watch, local_cluster
from tests.fault.cluster_moves import AWAY, FAULTS, PAUSE, Run, chosen

pytestmark = [pytest.mark.fault, pytest.mark.integration]
SELECTED = chosen(os.environ.get("CLUSTER_FAULTS"))
FULL = set(SELECTED) == set(FAULTS)
RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "cluster_faults.json"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Settings]:
    with local_cluster(Settings.from_env(), "cluster-fault", prefix="cf") as settings:
        yield settings


def _fault(name: str, run: Run, watch: Watch) -> dict[str, object]:
    """Do the fault, wait for the pipeline to take the articles produced after the node
    (or the worker) was back; the times measured."""
    began, back, node = FAULTS[name](run)
    try:
        wait_for(lambda: watch.first_after(back), timeout=240,
                 what=f"an article produced after the {name} fault searchable")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; {len(watch.seen)} of {len(watch.stream.sent)} "
                             "searchable") from None
    _, seen = watch.first_after(began) or ("", 0.0)
    _, caught_up = watch.first_after(back) or ("", 0.0)
    time.sleep(10)  # the pipeline runs on before the next fault
    return {"fault": name, "node": node, "away_s": round(back - began, 1),
            "recovery_s": round(seen - began, 1),
            "stall_s": round(watch.stall(began, max(caught_up, began)), 1)}


def test_cluster_faults_lose_and_double_nothing(cluster: Settings, worker_factory,  # type: ignore[no-untyped-def]
                                                monkeypatch) -> None:
    started = time.monotonic()
    monkeypatch.setenv("NEWSFLOW_STALL_TIMEOUT", "90")
    setup = subprocess.run([sys.executable, "-m", "pipeline.cli", "setup", "--no-kibana"],
                           env=settings_env(cluster) | {"NEWSFLOW_HOME": str(cluster.home)},
                           capture_output=True, text=True, timeout=240)
    assert setup.returncode == 0, setup.stderr
    run = Run(cluster, workers=[worker_factory(cluster).start()], make_worker=worker_factory)
    stream = Stream(cluster).start()
    watch = Watch(cluster, stream).start()
    faults: list[dict[str, object]] = []
    try:
        wait_for(lambda: len(watch.seen) >= 10, timeout=300, what="the first articles indexed")
        time.sleep(5)
        for name in SELECTED:
            faults.append(_fault(name, run, watch))
        stream.stop()
        wait_for(watch.all_seen, timeout=300, what="every produced article searchable")
        time.sleep(3)  # a late duplicate would show now
    finally:
        stream.stop()
        watch.stop()
        _report(faults, stream, run, time.monotonic() - started)  # kept when a check fails
    for worker in run.workers:
        assert worker.alive(), worker.log.read_text()[-3000:]
    exits = {str(w.log.name): w.exits for w in run.workers + run.retired if w.exits}
    assert exits == {}, f"workers exited: {exits}"
    counts = check(cluster, stream)
    _report(faults, stream, run, time.monotonic() - started, counts)


def _report(faults: list[dict[str, object]], stream: Stream, run: Run, seconds: float,
            counts: dict[str, int] | None = None) -> None:
    path = RESULTS if FULL else Settings.from_env().home / "cluster_faults.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    workers = run.workers + run.retired
    report: dict[str, Any] = {
        "what": "one fault at a time on a local cluster of 3 KRaft brokers and 2 "
                "Elasticsearch nodes (RF 3, min.insync 2, 1 index replica), real workers, "
                f"{stream.rate:g} articles/s; recovery_s: fault -> the first article "
                "produced after it searchable; stall_s: longest time nothing became "
                "searchable until the articles produced after the node was back were; "
                "away_s: fault -> node (or worker) back",
        "away_s": AWAY, "pause_s": PAUSE, "articles": len(stream.sent),
        "copies": sum(1 for s in stream.sent if s.copy_of),
        "producer_retries": stream.failures,
        "worker_processes": len(workers),
        "worker_exits": sum(len(w.exits) for w in workers),
        "worker_restarts": sum(w.restarts for w in workers),
        "run_s": round(seconds, 1), "faults": faults}
    if counts is not None:
        report["checked"] = counts
    path.write_text(json.dumps(report, indent=2) + "\n")

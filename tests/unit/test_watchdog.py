"""The stall watchdog's verdict and the supervisor that starts a stalled worker again."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pipeline.core.settings import Settings
from pipeline.stream import workers
from pipeline.stream.watchdog import STALLED, Progress, lag_of


def test_behind_without_progress_is_a_stall_and_idle_is_not() -> None:
    p = Progress(timeout=60.0, now=0.0)
    assert not p.stalled(lag=3, now=59.0)
    assert p.stalled(lag=3, now=61.0)
    p.made(now=70.0)  # a batch finished (or waited on a service)
    assert not p.stalled(lag=3, now=120.0)
    assert not p.stalled(lag=0, now=500.0)  # idle: nothing to do is progress
    assert not p.stalled(lag=2, now=550.0)
    assert p.stalled(lag=2, now=561.0)


def test_lag_counts_uncommitted_messages_only() -> None:
    assert lag_of({}, {}) == 0
    assert lag_of({("raw", 0): 10, ("raw", 1): 3}, {("raw", 0): 10, ("raw", 1): 5}) == 0
    assert lag_of({("raw", 0): 10}, {("raw", 0): None}) == 10


def test_supervisor_starts_a_stalled_worker_again(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker exiting with STALLED is started again; its clean exit ends the run."""
    runs = tmp_path / "runs"
    script = (f"import pathlib, sys; p = pathlib.Path({str(runs)!r}); "
              f"n = len(p.read_text()) if p.exists() else 0; p.write_text('x' * (n + 1)); "
              f"sys.exit({STALLED} if n == 0 else 0)")
    monkeypatch.setattr(workers, "worker_command", lambda loglevel="info": [
        sys.executable, "-c", script])
    assert workers.run_workers(Settings(), processes=1) == 0
    assert runs.read_text() == "xx"  # stalled once, started again, then exited cleanly


def test_supervisor_reports_a_failing_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "worker_command", lambda loglevel="info": [
        sys.executable, "-c", "import sys; sys.exit(3)"])
    assert workers.run_workers(Settings(), processes=1) == 3


def test_a_lost_coordinator_is_noticed_only_once_one_was_known() -> None:
    from pipeline.stream.watchdog import BrokerWatch

    watch = BrokerWatch()
    assert not watch.lost(None)  # starting: no coordinator yet
    assert not watch.lost(1)
    assert watch.lost(None)  # the broker went away (no grace given)


def test_a_stuck_partition_is_seen_while_another_moves() -> None:
    p = Progress(timeout=60.0, now=0.0)
    moving, stuck = ("u.enriched.v1", 0), ("u.quotes.v1", 0)
    for t in range(10, 200, 10):
        p.made(moving, now=float(t))  # the index agent finishes a batch every 10 s
    assert not p.stalled(lag=7, now=200.0)  # all partitions together: looks alive
    assert p.stuck({moving: 3, stuck: 4}, now=200.0) == [(stuck, 4, 200.0)]
    assert p.stuck({moving: 3, stuck: 0}, now=201.0) == []  # not behind: not stuck


def test_setup_failing_for_good_is_not_progress_but_waiting_on_a_service_is() -> None:
    import asyncio

    from pipeline.core.errors import Backpressure, ConfigError
    from pipeline.stream.batches import Batches

    progress = Progress(timeout=60.0, now=0.0)
    batches = Batches(Settings(), None, None, progress=progress)  # type: ignore[arg-type]
    batches.backoff = 0.001
    failures = [ConfigError("a plain index squats the alias"), Backpressure("away")]

    async def step() -> None:
        if failures:
            raise failures.pop(0)

    async def run() -> None:
        await batches.until_ready("group", step, places=["u.quotes.v1"])

    before = dict(progress.places)
    failures.pop()  # only the squatter: retried, but not progress
    asyncio.run(run())
    assert progress.places == before and progress.last == 0.0
    failures.append(Backpressure("Elasticsearch away"))
    asyncio.run(run())
    assert ("u.quotes.v1", None) in progress.places  # waiting on a service is progress
    assert progress.last == 0.0  # for that topic only


def test_a_coordinator_move_is_not_a_lost_broker() -> None:
    from pipeline.stream.watchdog import BrokerWatch

    watch = BrokerWatch(grace=300.0)
    assert not watch.lost(1, now=0.0)
    assert not watch.lost(None, now=1.0)  # a coordinator error: aiokafka clears it
    assert not watch.lost(2, now=3.0)  # found again on another broker
    assert not watch.lost(None, now=10.0) and not watch.lost(None, now=309.0)
    assert watch.lost(None, now=311.0)  # gone for longer than the stall timeout


def test_a_partition_assigned_after_the_start_is_idle_from_its_assignment() -> None:
    """A worker that gets a partition already behind, a while after it started, is not
    stalled on it at the first check: the partition has been idle since it was assigned."""
    from faust.types import TP

    p = Progress(timeout=1.0, now=0.0)
    tp = TP("u.stories.v1", 0)
    p.on_assigned(None, {tp}, signal=None)
    assert p.stuck({tp: 3}, now=p.places[("u.stories.v1", 0)] + 0.5) == []
    late = Progress(timeout=1.0, now=0.0)  # the same without the signal: idle since 0
    assert late.stuck({tp: 3}, now=p.places[("u.stories.v1", 0)] + 0.5) != []

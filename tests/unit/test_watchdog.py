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
    assert watch.lost(None)  # the broker went away

"""A feed that stopped collecting: no new item for N times its usual gap, per source,
shown by ``newsflow status`` and as a Prometheus metric."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from rich.console import Console

import connectors.alarm
from connectors.alarm import HISTORY, note_pass, stopped
from connectors.errors import SourceConfigError
from connectors.sources import parse_sources
from connectors.state import Health, StateStore
from pipeline.cli.admin import _sources_table
from pipeline.ops.status import sources_report
from tests.unit.test_connector_reliability import (
    FakeProducer,
    feed_source,
    rss_feed,
    run_pass,
    site,
)


def test_no_alarm_before_the_usual_gap_is_known() -> None:
    h = Health("f")
    for t in (0, 600, 1200):  # two gaps: not enough
        note_pass(h, new=1, interval=60, gaps=4, floor=60, now=t)
    assert h.usual_gap is None and not stopped(h, now=10 ** 9)


def test_threshold_is_n_times_the_median_gap_with_a_floor() -> None:
    h = Health("f")
    for t in (0, 600, 1200, 1800, 9000):  # gaps 600, 600, 600, 7200: the median is 600
        note_pass(h, new=3, interval=60, gaps=4, floor=60, now=t)
    assert h.usual_gap == 600 and h.alarm_after == 2400
    note_pass(h, new=0, interval=60, gaps=4, floor=60, now=9000 + 2400)
    assert not stopped(h, now=9000 + 2400)
    assert stopped(h, now=9000 + 2401)
    floored = Health("g")
    for t in (0, 60, 120, 180):
        note_pass(floored, new=1, interval=30, gaps=4, floor=3600, now=t)
    assert floored.alarm_after == 3600  # 4 x 60 s is under the floor
    assert not stopped(floored, now=180 + 3600) and stopped(floored, now=180 + 3601)


def test_passes_without_new_items_add_no_gap_and_the_history_is_bounded() -> None:
    h = Health("f")
    for i in range(100):
        note_pass(h, new=i % 2, interval=10, gaps=4, floor=60, now=i * 10)
    assert len(h.new_gaps) == HISTORY and set(h.new_gaps) == {20.0}


def test_alarm_settings_are_checked() -> None:
    with pytest.raises(SourceConfigError, match="alarm_floor"):
        parse_sources({"sources": [{"name": "f", "type": "rss.v1", "url": "https://e.org/f",
                                    "alarm_floor": 1}]})
    [src] = parse_sources({"sources": [{"name": "f", "type": "rss.v1",
                                        "url": "https://e.org/f", "alarm_gaps": 6}]})
    assert src.spec.alarm_gaps == 6 and src.spec.alarm_floor == 3600


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


def test_a_feed_that_stops_is_reported_by_status_and_the_metric(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(connectors.alarm, "time", clock)
    feeds: list[tuple[int, bytes, dict[str, str]]] = []
    routes: dict[str, list[tuple[int, bytes, dict[str, str]]]] = {"/feed.xml": feeds}
    store = StateStore(tmp_path / "s.sqlite")
    with site(routes) as (base, _):
        items = [(f"/a{i}", f"Story {i}") for i in range(6)]
        feeds += [(200, rss_feed(base, items[:n]), {}) for n in range(1, 6)]
        spec = feed_source(base, full_text="never", name="stops", interval=600,
                           alarm_gaps=4, alarm_floor=600)
        for _ in range(5):  # a new item every 10 min
            [r] = run_pass([spec], store, FakeProducer())
            assert r.new == 1
            clock.now += 600
        h = store.health("stops")
        assert h.usual_gap == 600 and h.alarm_after == 2400
        for _ in range(4):  # then nothing new: passes 10, 20, 30, 40 min after the last
            [r] = run_pass([spec], store, FakeProducer())
            assert r.new == 0 and r.failed is None
            clock.now += 600
        assert REGISTRY.get_sample_value("newsflow_source_stopped", {"source": "stops"}) == 0
        assert not stopped(store.health("stops"), now=clock.now - 600)  # 40 min: not yet
        [r] = run_pass([spec], store, FakeProducer())  # 50 min
    assert REGISTRY.get_sample_value("newsflow_source_stopped", {"source": "stops"}) == 1
    assert REGISTRY.get_sample_value("newsflow_source_seconds_since_new_item",
                                     {"source": "stops"}) == 3000
    [row] = sources_report(tmp_path / "s.sqlite", now=clock.now)
    assert row["stopped"] is True and row["silent_for"] == 3000
    assert "stopped: silent 50.0 min (usual gap 10.0 min)" in _render({"sources": [row]})


def test_a_feed_that_keeps_collecting_is_ok(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(connectors.alarm, "time", clock)
    store = StateStore(tmp_path / "s.sqlite")
    routes: dict[str, list[tuple[int, bytes, dict[str, str]]]] = {"/feed.xml": []}
    with site(routes) as (base, _):
        routes["/feed.xml"] += [(200, rss_feed(base, [(f"/b{i}", f"B {i}")
                                                      for i in range(n)]), {})
                                for n in range(1, 7)]
        spec = feed_source(base, full_text="never", name="fine", alarm_floor=600)
        for _ in range(6):
            run_pass([spec], store, FakeProducer())
            clock.now += 900
    assert REGISTRY.get_sample_value("newsflow_source_stopped", {"source": "fine"}) == 0
    [row] = sources_report(tmp_path / "s.sqlite", now=clock.now)
    assert row["stopped"] is False and "ok" in _render({"sources": [row]})


def _render(report: dict[str, Any]) -> str:
    console = Console(width=400, record=True)
    console.print(_sources_table(report))
    return console.export_text()

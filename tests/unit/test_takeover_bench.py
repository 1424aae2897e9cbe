"""bench/takeover.py's loading deadline: a chunk starts whole or not at all."""

from __future__ import annotations

import time

from bench import takeover


def test_due_and_deadline() -> None:
    assert takeover.due(0.0)
    assert takeover.due(100.0, now=99.9) and not takeover.due(100.0, now=100.0)
    assert takeover.deadline("") == 0.0
    assert takeover.deadline("2026-12-03T17:05:00+00:00") == 1796317500.0
    hh_mm = takeover.deadline("17:05")
    assert time.gmtime(hh_mm)[3:6] == (17, 5, 0)


def test_a_chunk_past_its_deadline_loads_nothing(monkeypatch) -> None:
    def no_bulk(lines: list[str]) -> None:
        raise AssertionError("a chunk past its deadline must not write")

    monkeypatch.setattr(takeover, "_bulk", no_bulk)
    job = ("news-quotes-v1", 0, 20_000, 40_000.0, 20_000, 3, time.time() - 1)
    assert takeover._quote_task(job) == 0

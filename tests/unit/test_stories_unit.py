"""The stories agent's pieces that need no services: its state mapping covers every record
field, a rebalance that gives it the stories partition marks its index stale, and a
takeover logs where it starts and reports progress as it reads."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP

from pipeline.core.settings import Settings
from pipeline.group.copies import Body, StoryIndex
from pipeline.stream.stories import STATE_MAPPING, Stories, StoryState
from pipeline.stream.storystate import Summary
from pipeline.stream.watchdog import Progress
from tests.unit.copies_text import WIRE


def test_the_state_mapping_covers_every_record_field() -> None:
    index = StoryIndex()
    index.assign(Body("a", WIRE))
    assert set(index.record("a")) <= set(STATE_MAPPING["properties"])


def test_getting_the_stories_partition_marks_the_index_stale() -> None:
    settings = Settings.from_env({"NEWSFLOW_TOPIC_PREFIX": "unit"})
    none: Any = None
    stories = Stories(settings=settings, batches=none, stories=none, assigned=none,
                      state=StoryState(settings), stale=False)
    stories.on_assigned(None, {TP(settings.raw_topic, 0)}, signal=None)
    assert not stories.stale
    stories.on_assigned(None, {TP(settings.stories_topic, 0)}, signal=None)
    assert stories.stale


class HeldState(StoryState):
    """The durable state held in a list (the real one is tested on Elasticsearch in
    tests/integration/test_stories_state.py): what recover() reads of it."""

    def __init__(self, settings: Settings, records: list[dict[str, Any]]) -> None:
        super().__init__(settings)
        self.records = records

    def ensure(self) -> None:
        pass

    def watermark(self) -> dict[str, Any] | None:
        return {"offset": 41, "clock": None}

    def summary(self) -> Summary:
        return Summary(len(self.records), len(self.records) - 1, None, None)

    def load(self, *, since: float = -math.inf) -> Iterator[dict[str, Any]]:
        yield from self.records


def test_a_takeover_logs_its_start_and_end_and_reports_progress_as_it_reads(
        caplog: pytest.LogCaptureFixture) -> None:
    """A long rebuild is recovery, not a stall: the watchdog hears from it while it reads
    the stored records (every 1000), and the log says which partition, from where."""
    settings = Settings.from_env({"NEWSFLOW_TOPIC_PREFIX": "unit", "NEWSFLOW_HOT_WINDOW": "0"})
    index = StoryIndex()
    for i in range(2500):
        index.assign(Body(f"a{i}", f"{WIRE} Item {i}."))
    state = HeldState(settings, [index.record(f"a{i}") for i in range(2500)])
    heard: list[float] = []

    class Heard(Progress):
        def made(self, *places: Any, now: float | None = None) -> None:
            assert places == (settings.stories_topic,)
            heard.append(time.monotonic())

    batches: Any = SimpleNamespace(progress=Heard(timeout=60.0))
    none: Any = None
    stories = Stories(settings=settings, batches=batches, stories=none, assigned=none,
                      state=state)
    with caplog.at_level(logging.INFO, logger="newsflow.worker"):
        message = stories.recover(42, partition=0)
    assert "rebuilt from 2500 stored articles" in message
    assert len(stories.index) == 2500
    assert len(heard) >= 4  # the start, records 0, 1000, 2000, the end
    lines = [r.getMessage() for r in caplog.records]
    assert "recovering stories partition 0 (watermark 41, committed 42)" in lines
    assert any(m.startswith("recovered stories partition 0 in ") and "rebuilt" in m
               for m in lines)


def test_a_replay_behind_the_watermark_never_moves_it_back() -> None:
    """Offsets committed behind the state (a crash after the state write, before the
    commit) are processed again; the watermark written with them stays where it was."""
    import asyncio

    from pipeline.core.contracts import RawArticle
    from pipeline.stream.batches import Batches

    settings = Settings.from_env({"NEWSFLOW_TOPIC_PREFIX": "unit", "NEWSFLOW_HOT_WINDOW": "0"})
    written: list[int | None] = []

    class Written(HeldState):
        async def write_async(self, records: list[dict[str, Any]], *, offset: int | None = None,
                              clock: float | None = None) -> list[tuple[str, Any]]:
            written.append(offset)
            raise ConnectionError("stop after the write's arguments are seen")

        async def alias_exists(self) -> bool:
            return True

    none: Any = None
    batches = Batches(settings=settings, enriched=none, dead_letters=none)
    stories = Stories(settings=settings, batches=batches, stories=none, assigned=none,
                      state=Written(settings, []))
    stories.recover(40, partition=0)  # the stored watermark is 41
    raw = RawArticle.new(url="https://example.org/a", text=WIRE, title="A",
                         provenance={"connector": "t", "source": "t"})
    events: Any = [SimpleNamespace(value=raw.to_bytes(), message=SimpleNamespace(
        topic=settings.stories_topic, partition=0, offset=o, key=None, headers=[],
        value=raw.to_bytes()))
        for o in (39, 40)]
    with pytest.raises(ConnectionError):
        asyncio.run(stories.assign(events))
    assert written == [41]

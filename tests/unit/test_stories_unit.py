"""The stories agent's pieces that need no services: its state mapping covers every record
field, and a rebalance that gives it the stories partition marks its index stale."""

from __future__ import annotations

from typing import Any

from faust.types import TP

from pipeline.core.settings import Settings
from pipeline.group.copies import Body, StoryIndex
from pipeline.stream.stories import STATE_MAPPING, Stories, StoryState
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

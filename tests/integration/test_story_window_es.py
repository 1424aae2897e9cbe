"""The bounded story state on real Elasticsearch: a copy 30 days after its original is
found by its band terms in the durable state; a takeover loads only the hot window, and
checks the stored watermark against the offset it resumes from (a deleted or older
state is refused loudly, never taken as "up to date (0 articles)")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pipeline.core.settings import Settings
from pipeline.group.copies import Body, StoryIndex
from pipeline.stream.batches import transient
from pipeline.stream.stories import Stories
from pipeline.stream.storystate import StateLost, StoryState, report
from tests.integration.test_stories_state import state  # noqa: F401 - fixture
from tests.unit.copies_text import SAME_TOPIC, WIRE
from tests.unit.test_copies import combined
from tests.unit.test_story_window import DAY, archive, at, filler

pytestmark = pytest.mark.integration


def _stories(settings: Settings, st: StoryState) -> Stories:
    none: Any = None  # the topics are not used by recover()
    return Stories(settings=settings, batches=none, stories=none, assigned=none, state=st)


def _fill(index: StoryIndex, st: StoryState, bodies: list[Body], *, offset: int) -> int:
    """Place and write one batch per article, as the agent does; the next offset."""
    for b in bodies:
        index.begin()
        index.place(b)
        st.write([index.record(b.id)] if b.id in index else [], offset=offset,
                 clock=index.hot.clock)
        index.commit()
        offset += 1
    return offset


@pytest.fixture
def history(isolated: Settings, state: StoryState  # noqa: F811
            ) -> Iterator[tuple[StoryIndex, StoryState, int]]:
    index = StoryIndex(window=7 * DAY, durable=state)
    bodies = [Body("wire", WIRE, published_at=at(0)),
              *(Body(f"f{d}", filler(d), published_at=at(d)) for d in range(1, 30))]
    yield index, state, _fill(index, state, bodies, offset=0)


def test_a_copy_30_days_later_joins_its_story_through_the_durable_state(
        history: tuple[StoryIndex, StoryState, int]) -> None:
    index, st, offset = history
    assert "wire" not in index
    _fill(index, st, [Body("copy", combined(WIRE), published_at=at(30)),
                      Body("other", SAME_TOPIC, published_at=at(30))], offset=offset)
    assert index.get("copy") is not None and index.get("copy").story == "wire"  # type: ignore[union-attr]
    assert index.get("other").copy_of is None  # type: ignore[union-attr]
    assert index.cold_hits == 1


def test_a_takeover_loads_only_the_hot_window_and_keeps_finding_old_copies(
        isolated: Settings, history: tuple[StoryIndex, StoryState, int]) -> None:
    _, st, offset = history
    stories = _stories(isolated, st)
    message = stories.recover(offset)
    assert "rebuilt from" in message and "30 stored in all" in message, message
    assert 7 <= len(stories.index) <= 9 and stories.index.next_seq == 30
    assert "up to date" in stories.recover(offset)  # the index reflects the watermark
    got = stories.index.assign(Body("copy", combined(WIRE), published_at=at(30)))
    assert got[:2] == ("wire", "wire")
    info = report(isolated)
    assert info["durable_articles"] == 30 and info["watermark_offset"] == offset - 1
    assert 7 <= info["hot_articles"] <= 9 and info["oldest_event"].startswith("2025-03-01")


def test_a_deleted_state_is_refused_loudly(isolated: Settings,
                                           history: tuple[StoryIndex, StoryState, int]) -> None:
    _, st, offset = history
    st.drop()
    stories = _stories(isolated, st)
    with pytest.raises(StateLost, match="deleted") as caught:
        stories.recover(offset)
    assert transient(caught.value)  # the stage waits; nothing is dead-lettered
    assert stories.recover(0).startswith("story index rebuilt from 0")  # a new pipeline


def test_an_older_state_is_refused_loudly(isolated: Settings,
                                          history: tuple[StoryIndex, StoryState, int]) -> None:
    _, st, offset = history
    with pytest.raises(StateLost, match="5 message"):
        _stories(isolated, st).recover(offset + 5)


def test_retention_deletes_only_what_is_older(isolated: Settings,
                                              history: tuple[StoryIndex, StoryState, int]) -> None:
    _, st, _ = history
    assert st.prune(before=at(10).timestamp()) == 10  # "wire" and f1..f9
    assert st.summary().records == 20 and st.watermark() is not None


def test_a_backfill_groups_as_the_live_stream_did(state: StoryState) -> None:  # noqa: F811
    bodies = archive()  # last year's articles, arriving now in a few seconds
    live = StoryIndex()
    expected = [live.assign(b) for b in bodies]
    bounded = StoryIndex(window=7 * DAY, durable=state)
    got = []
    for offset, b in enumerate(bodies):
        bounded.begin()
        got.append(bounded.assign(b))
        state.write([bounded.record(b.id)], offset=offset, clock=bounded.hot.clock)
        bounded.commit()
    assert got == expected
    assert bounded.cold_hits == 3  # copy33, copy50 and fcopy45 found in Elasticsearch

"""The story assignment's durable state in Elasticsearch (pipeline.stream.stories): records
written, the in-memory index rebuilt from them when it differs, left alone when equal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pipeline.core.settings import Settings
from pipeline.group.copies import Body, StoryIndex
from pipeline.stream.stories import Stories, StoryState
from tests.unit.copies_text import FOLLOW_UP, SAME_TOPIC, WIRE
from tests.unit.test_copies import combined, truncated

pytestmark = pytest.mark.integration


@pytest.fixture
def state(isolated: Settings) -> Iterator[StoryState]:
    st = StoryState(isolated)
    st.ensure()
    yield st
    st.drop()
    st.client().close()


def _stories(settings: Settings, state: StoryState, index: StoryIndex | None = None) -> Stories:
    none: Any = None  # the topics are not used by recover()
    return Stories(settings=settings, batches=none, stories=none, assigned=none, state=state,
                   index=index or StoryIndex())


def test_the_index_is_rebuilt_from_the_state(isolated: Settings, state: StoryState) -> None:
    first = StoryIndex()
    docs = [Body("a", WIRE), Body("b", combined(WIRE)), Body("c", FOLLOW_UP)]
    for d in docs:
        first.assign(d)
    state.write([first.record(d.id) for d in docs])
    assert state.summary()[:2] == (3, 2)

    stories = _stories(isolated, state)  # a fresh worker, after a kill -9
    assert "rebuilt from 3" in stories.recover()
    assert [stories.index.assign(d) for d in docs] == [first.assign(d) for d in docs]
    # the next decisions are the ones the first index would have made
    later = [Body("d", truncated(WIRE)), Body("e", SAME_TOPIC)]
    assert [stories.index.assign(d) for d in later] == [first.assign(d) for d in later]
    assert stories.index.next_seq == first.next_seq == 5


def test_an_index_equal_to_the_state_is_kept(isolated: Settings, state: StoryState) -> None:
    index = StoryIndex()
    index.assign(Body("a", WIRE))
    state.write([index.record("a")], offset=0)
    stories = _stories(isolated, state, index)
    stories.offset = 0  # the worker that wrote the state, up to input offset 0
    assert "up to date" in stories.recover(1)
    assert stories.index is index
    behind = StoryIndex()  # a worker that held the partition before someone else did
    assert "rebuilt" in _stories(isolated, state, behind).recover()


def test_rewriting_a_record_is_idempotent(isolated: Settings, state: StoryState) -> None:
    index = StoryIndex()
    index.assign(Body("a", WIRE))
    state.write([index.record("a")])
    state.write([index.record("a")])
    assert state.summary()[:2] == (1, 0)

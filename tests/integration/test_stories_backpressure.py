"""A refused state write is a wait, not a loss: with the story state index blocked as
Elasticsearch's disk flood stage blocks it (``index.blocks.read_only_allow_delete``: every
item answers 429), the stories stage raises Backpressure (transient), its in-memory index
is left as it was (memory changes only after the durable write), nothing is
dead-lettered, and once the block is lifted every article flows through."""

from __future__ import annotations

import time

import pytest
from elasticsearch import Elasticsearch

from pipeline.core.errors import Backpressure
from pipeline.core.settings import Settings
from pipeline.group.copies import Body, StoryIndex
from pipeline.stream.batches import transient
from pipeline.stream.storystate import StoryState
from tests.integration.conftest import docs
from tests.integration.test_big_article import _letters
from tests.integration.test_stories_stream import (  # noqa: F401 - es is a fixture
    COPIES,
    ORIGINAL,
    OTHERS,
    check_one_story,
    es,
    produce,
    wait_indexed,
)
from tests.unit.copies_text import WIRE

pytestmark = pytest.mark.integration
BLOCK = "index.blocks.read_only_allow_delete"


def _block(es: Elasticsearch, name: str, on: bool) -> None:  # noqa: F811
    es.indices.put_settings(index=name, settings={BLOCK: True if on else None})


def test_a_blocked_state_write_is_transient_and_leaves_memory_alone(
        isolated: Settings, es: Elasticsearch) -> None:  # noqa: F811
    state = StoryState(isolated)
    state.ensure()
    index = StoryIndex(window=7 * 86400.0, durable=state)
    index.assign(Body("a", WIRE))
    state.write([index.record("a")], offset=0, clock=index.hot.clock)
    _block(es, state.name, True)
    try:
        index.begin()
        index.place(Body("b", WIRE + "\n\nMore."))
        with pytest.raises(Backpressure) as caught:
            state.write([index.record("b")], offset=1, clock=index.hot.clock)
        assert transient(caught.value) and "429" in str(caught.value)
        index.rollback()
        assert "b" not in index and len(index) == 1 and index.next_seq == 1
    finally:
        _block(es, state.name, False)
    assert state.watermark() == {"id": "~watermark", "offset": 0, "clock": index.hot.clock}


def test_the_stream_waits_out_a_blocked_state_and_loses_nothing(
        isolated: Settings, es: Elasticsearch, worker_factory) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    state = StoryState(isolated)
    state.ensure()
    _block(es, state.name, True)
    worker = worker_factory(isolated).start()
    articles = [ORIGINAL, *COPIES, *OTHERS]
    try:
        produce(isolated, articles)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "Backpressure" not in worker.log.read_text():
            time.sleep(1)
        assert "Backpressure" in worker.log.read_text(), worker.log.read_text()[-3000:]
        assert not docs(es, isolated, [a.id for a in articles])
    finally:
        _block(es, state.name, False)
    got = wait_indexed(es, isolated, [a.id for a in articles], [worker])
    check_one_story(got)
    assert not [x for x in _letters(isolated) if x.stage == "stories"]

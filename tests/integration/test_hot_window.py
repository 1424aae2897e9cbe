"""The quote groups' hot window on the real Elasticsearch: a group untouched for longer
than NEWSFLOW_HOT_WINDOW (event time) leaves memory, and a quote of its words months
later finds it in the index and still adds to it."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pipeline.core.contracts import Quote, QuoteArticle, QuoteSpeaker
from pipeline.core.settings import Settings
from pipeline.group.quotes import MemoryStore, QuoteGroups
from pipeline.index.quotes_mapping import ensure_quotes_index
from pipeline.stream.batches import Batches
from pipeline.stream.quotes import GroupStage
from pipeline.stream.quotestate import COLD_LOOKUPS
from tests.unit.test_batches import Event, Message, Topic
from tests.unit.test_quote_rebuild import tables

pytestmark = pytest.mark.integration
OLD = "“We will never abandon our allies in the region, whatever the pressure.”"
OTHERS = ["“The sanctions will fail, as they always have failed before.”",
          "“Talks with every neighbour will begin on Monday in Geneva.”",
          "“Our harvest this year is the largest the country has ever seen.”"]


def _quote(n: int, words: str, when: datetime) -> Quote:
    return Quote(id=f"q{n}", index=0, kind="direct", content=words,
                 article=QuoteArticle(id=f"a{n}", publisher=f"P{n}", published_at=when),
                 speaker=QuoteSpeaker(canonical="Vladimir Putin", type="person"))


def test_a_cold_group_leaves_memory_and_still_gains_reports(isolated: Settings) -> None:
    settings = Settings.from_env({**{k: str(v) for k, v in {
        "NEWSFLOW_ES_URL": isolated.es_url, "NEWSFLOW_TOPIC_PREFIX": isolated.topic_prefix,
        "NEWSFLOW_INDEX": isolated.index_alias}.items()}, "NEWSFLOW_HOT_WINDOW": "7d"})
    ensure_quotes_index(settings)
    es = Elasticsearch(settings.es_url)
    batches = Batches(settings, Topic(), Topic())  # type: ignore[arg-type]
    stage = GroupStage(settings)
    offset = 0

    async def batch(quotes: list[Quote]) -> None:
        nonlocal offset
        events = [Event(Message(settings.quotes_topic, 0, offset + i, q.to_bytes()))
                  for i, q in enumerate(quotes)]
        offset += len(quotes)
        await stage.handle(batches, events)  # type: ignore[arg-type]

    def stored(gid: str) -> dict[str, Any]:
        es.indices.refresh(index=settings.quotes_index_alias)
        return dict(es.get(index=settings.quotes_index_alias, id=gid)["_source"])

    async def scenario() -> None:
        january, june = datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
        await batch([_quote(0, OLD, january)])
        await batch([_quote(i + 1, w, june) for i, w in enumerate(OTHERS)])
        assert stage.store.get("q0") is None  # months old in event time: not in memory
        assert len(stage.store) == 3 and stored("q0")["bands"]
        await batch([_quote(9, OLD, datetime(2026, 6, 2, tzinfo=UTC))])
        await stage.writer().close()

    try:
        asyncio.run(scenario())
        doc = stored("q0")
        assert doc["reports"] == 2 and doc["state"]["tail"] == [] and \
            {m["quote"] for m in doc["state"]["members"]} == {"q0", "q9"}
        assert stage.store.get("q0") is not None  # hot again
        # a takeover indexes the groups from the rows stored with them: the same LSH as
        # the running stage's (q0's brought back the same way), and as indexing anew
        assert all(stored(g)["state"]["lsh"] for g in ("q0", "q1", "q2", "q3"))
        taken = GroupStage(settings).reload()
        assert len(taken.store) == 4  # type: ignore[arg-type]
        anew = QuoteGroups(MemoryStore(stage.store.groups()))
        assert tables(taken) == tables(stage.groups) == tables(anew)  # type: ignore[arg-type]
    finally:
        es.indices.delete(index=f"{settings.quotes_index_alias}*", ignore_unavailable=True)
        es.close()


def _lookups(outcome: str) -> float:
    return COLD_LOOKUPS.labels(outcome)._value.get()


def test_cold_lookups_run_only_while_the_index_holds_groups_memory_does_not(
        isolated: Settings) -> None:
    """A fresh state asks Elasticsearch nothing per batch until a group leaves the window;
    a takeover that leaves stored groups out looks them up (and finds them)."""
    settings = Settings.from_env({"NEWSFLOW_ES_URL": isolated.es_url,
                                  "NEWSFLOW_TOPIC_PREFIX": isolated.topic_prefix,
                                  "NEWSFLOW_INDEX": isolated.index_alias,
                                  "NEWSFLOW_HOT_WINDOW": "7d"})
    ensure_quotes_index(settings)
    es = Elasticsearch(settings.es_url)
    batches = Batches(settings, Topic(), Topic())  # type: ignore[arg-type]
    january, june = datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
    offset = 0

    async def batch(stage: GroupStage, quotes: list[Quote]) -> None:
        nonlocal offset
        events = [Event(Message(settings.quotes_topic, 0, offset + i, q.to_bytes()))
                  for i, q in enumerate(quotes)]
        offset += len(quotes)
        await stage.handle(batches, events)  # type: ignore[arg-type]

    async def scenario() -> None:
        first = GroupStage(settings)
        skipped, looked = _lookups("skipped"), _lookups("looked_up")
        await batch(first, [_quote(0, OLD, january)])
        await batch(first, [_quote(1, OTHERS[0], january)])
        assert first.cold is False  # everything stored is in memory: no lookup (the first
        # batch has no event time to cut at yet)
        assert _lookups("skipped") == skipped + 1 and _lookups("looked_up") == looked
        await batch(first, [_quote(2, OTHERS[1], june)])  # q0 and q1 leave the window
        await batch(first, [_quote(3, OTHERS[2], june)])
        assert first.cold is True and _lookups("looked_up") == looked + 1
        await first.writer().close()
        # a takeover loads the window only: the two January groups stay in the index
        second = GroupStage(settings)
        await batch(second, [_quote(9, OLD, datetime(2026, 6, 2, tzinfo=UTC))])
        assert second.cold is True and second.store.group_of("q9") == "q0"
        await second.writer().close()
        # a takeover with every stored group inside its window has nothing cold to find
        wide = GroupStage(dataclasses.replace(settings, hot_window=400 * 86400.0))
        await batch(wide, [_quote(10, OTHERS[0], datetime(2026, 6, 3, tzinfo=UTC))])
        assert wide.cold is False and wide.store.group_of("q10") == "q1"
        await wide.writer().close()

    try:
        asyncio.run(scenario())
    finally:
        es.indices.delete(index=f"{settings.quotes_index_alias}*", ignore_unavailable=True)
        es.close()

"""The quote groups' hot window on the real Elasticsearch: a group untouched for longer
than NEWSFLOW_HOT_WINDOW (event time) leaves memory, and a quote of its words months
later finds it in the index and still adds to it."""

from __future__ import annotations

import asyncio
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

"""The quote groups' state on the real Elasticsearch: ``newsflow status --json`` reports
the durable groups after the ``group`` step grouped quotes, and NEWSFLOW_QUOTES_RETENTION
removes the groups whose last report is older (event time) while keeping recent ones."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from elasticsearch import Elasticsearch

from pipeline.core.contracts import Quote, QuoteArticle, QuoteSpeaker
from pipeline.core.settings import Settings
from pipeline.index.quotes_mapping import ensure_quotes_index
from pipeline.stream.batches import Batches
from pipeline.stream.quotes import GroupStage
from pipeline.stream.quotestate import QuoteUpkeep, prune_groups, summary
from tests.conftest import settings_env
from tests.unit.test_batches import Event, Message, Topic

pytestmark = pytest.mark.integration
T0 = datetime(2026, 1, 1, tzinfo=UTC)
WORDS = ["“We will never abandon our allies in the region, whatever the pressure.”",
         "“The sanctions will fail, as they always have failed before.”",
         "“Talks with every neighbour will begin on Monday in Geneva.”",
         "“Our harvest this year is the largest the country has ever seen.”"]


def _quote(n: int, words: str, day: float) -> Quote:
    return Quote(id=f"q{n}", index=0, kind="direct", content=words,
                 article=QuoteArticle(id=f"a{n}", publisher=f"P{n}",
                                      published_at=T0 + timedelta(days=day)),
                 speaker=QuoteSpeaker(canonical="Vladimir Putin", type="person"))


@pytest.fixture
def quotes_env(isolated: Settings) -> Iterator[Settings]:
    """Settings with a 1-day hot window and a 30-day retention; the index, deleted after."""
    settings = Settings.from_env({**os.environ, **settings_env(isolated),
                                  "NEWSFLOW_HOT_WINDOW": "1d",
                                  "NEWSFLOW_QUOTES_RETENTION": "30d"})
    ensure_quotes_index(settings)
    yield settings
    es = Elasticsearch(settings.es_url)
    es.indices.delete(index=f"{settings.quotes_index_alias}*", ignore_unavailable=True)
    es.close()


def _grouped(settings: Settings, batches_of: list[list[Quote]], *, prune_every: int = 10_000,
             after: dict[int, Callable[[GroupStage], None]] | None = None) -> GroupStage:
    """The ``group`` step over the batches, as the agent runs it (from offset 0);
    ``after[i]`` looks at the state after batch ``i``."""
    batches = Batches(settings, Topic(), Topic())  # type: ignore[arg-type]
    stage = GroupStage(settings, upkeep=QuoteUpkeep(settings, prune_every=prune_every))

    async def run() -> None:
        offset = 0
        try:
            for n, quotes in enumerate(batches_of):
                events = [Event(Message(settings.quotes_topic, 0, offset + i, q.to_bytes()))
                          for i, q in enumerate(quotes)]
                offset += len(quotes)
                await stage.handle(batches, events)  # type: ignore[arg-type]
                if after and n in after:
                    after[n](stage)
        finally:
            await stage.writer().close()

    asyncio.run(run())
    return stage


def _ids(settings: Settings) -> set[str]:
    es = Elasticsearch(settings.es_url)
    try:
        es.indices.refresh(index=settings.quotes_index_alias)
        hits = es.search(index=settings.quotes_index_alias, size=100, source=False)
        return {h["_id"] for h in hits["hits"]["hits"]}
    finally:
        es.close()


def test_status_json_reports_the_durable_groups(quotes_env: Settings) -> None:
    _grouped(quotes_env, [[_quote(0, WORDS[0], 0), _quote(1, WORDS[1], 0)],
                          [_quote(2, WORDS[0], 10), _quote(3, WORDS[2], 10)]])
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "status", "--json"],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **settings_env(quotes_env),
                               "NEWSFLOW_HOT_WINDOW": "1d",
                               "NEWSFLOW_QUOTES_RETENTION": "30d"})
    assert proc.returncode in (0, 1), proc.stderr
    state = json.loads(proc.stdout)["quotes_state"]
    assert state["exists"] and state["durable_groups"] == 3  # q0 (with q2), q1, q3
    assert state["oldest_event"].startswith("2026-01-01")  # q1's group: last report day 0
    assert state["newest_event"].startswith("2026-01-11")
    assert state["age_seconds"] == 10 * 86400.0 and state["age"] == "10.0d"
    assert state["hot_groups"] == 2  # within 1 day of the newest report: q0's and q3's
    assert state["hot_window"] == "1d" and state["retention"] == "30d"
    assert state["hot_bytes_estimate"] > 0


def test_retention_removes_old_groups_and_keeps_recent_ones(quotes_env: Settings) -> None:
    def pruned(stage: GroupStage) -> None:
        # day 45 minus 30 days: the group last reported on day 0 is gone, day 20's is kept
        assert _ids(quotes_env) == {"q1", "q2"}
        assert stage.upkeep is not None and stage.upkeep.durable == 2
        assert stage.store.get("q0") is None

    _grouped(quotes_env, [[_quote(0, WORDS[0], 0)], [_quote(1, WORDS[1], 20)],
                          [_quote(2, WORDS[2], 45)],
                          [_quote(3, WORDS[0], 46), _quote(4, WORDS[1], 46)]],
             prune_every=1, after={2: pruned})
    # the deleted group's words, reported again, found a new group; the kept one gains
    assert _ids(quotes_env) == {"q1", "q2", "q3"}
    found = summary(quotes_env, refresh=True)
    assert found is not None and found.groups == 3
    assert found.oldest == (T0 + timedelta(days=45)).timestamp()  # q2's; q1's is day 46
    es = Elasticsearch(quotes_env.es_url)
    try:
        assert es.get(index=quotes_env.quotes_index_alias, id="q1")["_source"]["reports"] == 2
    finally:
        es.close()


def test_prune_deletes_only_what_is_older(quotes_env: Settings) -> None:
    _grouped(quotes_env, [[_quote(0, WORDS[0], 0), _quote(1, WORDS[1], 5)],
                          [_quote(2, WORDS[2], 40), _quote(3, WORDS[3], 40)]])
    ticks: list[int] = []
    assert prune_groups(quotes_env, before=(T0 + timedelta(days=3)).timestamp(),
                        tick=lambda: ticks.append(1)) == ["q0"]
    assert ticks == [1]  # a long pass tells the watchdog it is working
    assert _ids(quotes_env) == {"q1", "q2", "q3"}
    assert prune_groups(quotes_env, before=(T0 + timedelta(days=3)).timestamp()) == []

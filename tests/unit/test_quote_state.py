"""The quote groups' gauges and retention pass (pipeline/stream/quotestate.py) without
Elasticsearch: what memory says, when the index is asked, what a retention pass
forgets. The index side is tested on Elasticsearch in tests/integration/test_quote_state.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from pipeline.core.contracts import Quote, QuoteArticle, QuoteSpeaker
from pipeline.core.errors import ConfigError
from pipeline.core.settings import Settings
from pipeline.group.quotes import QuoteGroups
from pipeline.group.window import HotWindow
from pipeline.stream import quotestate
from pipeline.stream.quotes import GroupStage
from pipeline.stream.quotestate import HOT_BYTES_PER_REPORT, QuoteUpkeep, Summary

DAY = 86400.0
T0 = datetime(2026, 1, 1, tzinfo=UTC)
WORDS = ["We will never abandon our allies in the region, whatever the pressure.",
         "The sanctions will fail, as they always have failed before.",
         "Talks with every neighbour will begin on Monday in Geneva."]


def gauge(name: str) -> float | None:
    return REGISTRY.get_sample_value(name)


def quote(n: int, words: str, day: float) -> Quote:
    return Quote(id=f"q{n}", index=0, kind="direct", content=words,
                 article=QuoteArticle(id=f"a{n}", publisher=f"P{n}",
                                      published_at=T0 + timedelta(days=day)),
                 speaker=QuoteSpeaker(canonical="Vladimir Putin", type="person"))


def loaded(**env: str) -> GroupStage:
    """A stage as after a takeover: groups in memory with their hot window."""
    stage = GroupStage(Settings.from_env({"NEWSFLOW_TOPIC_PREFIX": "u", **env}))
    stage.groups = QuoteGroups(stage.store)
    stage.window = HotWindow(stage.groups, seconds=stage.settings.hot_window)
    return stage


def group(stage: GroupStage, quotes: list[tuple[int, Quote]]) -> None:
    stage.apply(quotes)
    stage._docs.clear()
    stage._removed.clear()


def test_the_retention_is_a_duration_off_by_default() -> None:
    assert Settings.from_env({}).quotes_retention == 0.0
    assert Settings.from_env({"NEWSFLOW_QUOTES_RETENTION": "400d"}).quotes_retention == 400 * DAY
    with pytest.raises(ConfigError, match="NEWSFLOW_QUOTES_RETENTION"):
        Settings.from_env({"NEWSFLOW_QUOTES_RETENTION": "a while"})


def test_the_hot_window_knows_its_least_recently_reported_group() -> None:
    w = HotWindow(QuoteGroups(), seconds=DAY)
    assert w.oldest() is None
    w.touch("g1", 10.0)
    w.touch("g2", 20.0)
    w.touch("g1", 30.0)
    assert w.oldest() == 20.0
    w.forget("g2")
    assert w.oldest() == 30.0
    w.touch("g3", 30.0 + 2 * DAY)
    assert w.expired() == ["g1"] and w.oldest() == 30.0 + 2 * DAY


def test_a_stage_not_loaded_from_the_index_asks_it_nothing(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the index was asked")

    monkeypatch.setattr(quotestate, "summary", refuse)
    monkeypatch.setattr(quotestate, "prune_groups", refuse)
    stage = GroupStage(Settings.from_env({"NEWSFLOW_TOPIC_PREFIX": "u",
                                          "NEWSFLOW_QUOTES_RETENTION": "1d"}))
    stage.groups = QuoteGroups(stage.store)  # no window: a stand-in state (unit tests)
    group(stage, [(0, quote(0, WORDS[0], 0)), (1, quote(1, WORDS[0], 0))])
    QuoteUpkeep(stage.settings, prune_every=1).after_batch(stage, 2)
    assert gauge("newsflow_quote_hot_groups") == 1
    assert gauge("newsflow_quote_hot_bytes") == 2 * HOT_BYTES_PER_REPORT


def test_gauges_count_memory_and_the_last_durable_count(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    asked: list[str] = []

    def summary(settings: Settings, *args: Any, **kwargs: Any) -> Summary:
        asked.append(settings.quotes_index_alias)
        return Summary(groups=12, oldest=(T0 - timedelta(days=100)).timestamp(),
                       newest=(T0 + timedelta(days=3)).timestamp())

    monkeypatch.setattr(quotestate, "summary", summary)
    stage = loaded(NEWSFLOW_HOT_WINDOW="7d")
    group(stage, [(i, quote(i, w, i)) for i, w in enumerate(WORDS)])
    keep = QuoteUpkeep(stage.settings)
    keep.after_batch(stage, 3)
    keep.after_batch(stage, 3)  # counted again only after count_every seconds
    assert asked == [stage.settings.quotes_index_alias]
    assert gauge("newsflow_quote_hot_groups") == 3
    assert gauge("newsflow_quote_durable_groups") == 12
    assert gauge("newsflow_quote_oldest_event_seconds") == T0.timestamp()
    assert gauge("newsflow_quote_durable_age_seconds") == 102 * DAY  # newest seen: day 2


def test_retention_runs_every_prune_every_quotes_and_memory_forgets_what_it_deleted(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[float] = []

    def prune_groups(settings: Settings, *, before: float, **kwargs: Any) -> list[str]:
        calls.append(before)
        return ["q0"]  # the group of day 0, deleted from the index

    monkeypatch.setattr(quotestate, "prune_groups", prune_groups)
    monkeypatch.setattr(quotestate, "summary", lambda *a, **k: None)
    stage = loaded(NEWSFLOW_HOT_WINDOW="0", NEWSFLOW_QUOTES_RETENTION="30d")  # all in memory
    keep = QuoteUpkeep(stage.settings, prune_every=4)
    group(stage, [(0, quote(0, WORDS[0], 0)), (1, quote(1, WORDS[1], 40))])
    keep.after_batch(stage, 2)
    assert calls == [] and stage.store.get("q0") is not None  # not due yet
    group(stage, [(2, quote(2, WORDS[2], 41)), (3, quote(3, WORDS[2], 41))])
    keep.after_batch(stage, 2)
    assert calls == [(T0 + timedelta(days=11)).timestamp()]  # newest event (day 41) - 30d
    assert stage.store.get("q0") is None and "q0" not in stage.window.last  # type: ignore[union-attr]
    assert gauge("newsflow_quote_hot_groups") == 2
    group(stage, [(4, quote(4, WORDS[0], 42))])  # its words again: a new group
    assert stage.store.group_of("q4") == "q4"


def test_a_failed_retention_pass_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    tries: list[float] = []

    def prune_groups(settings: Settings, *, before: float, **kwargs: Any) -> list[str]:
        tries.append(before)
        if len(tries) == 1:
            raise ConnectionError("Elasticsearch away")
        return []

    monkeypatch.setattr(quotestate, "prune_groups", prune_groups)
    monkeypatch.setattr(quotestate, "summary", lambda *a, **k: None)
    stage = loaded(NEWSFLOW_QUOTES_RETENTION="30d")
    group(stage, [(0, quote(0, WORDS[0], 0))])
    keep = QuoteUpkeep(stage.settings, prune_every=1)
    keep.after_batch(stage, 1)  # logged, not raised
    keep.after_batch(stage, 0)
    assert len(tries) == 2
    keep.after_batch(stage, 0)
    assert len(tries) == 2  # done: waits for prune_every more quotes


def test_status_prints_the_quote_state(capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.cli.admin import _print_status

    _print_status({"services": [], "topics": {}, "sources": [], "quotes_state": {
        "exists": True, "index": "news-quotes", "durable_groups": 1234,
        "oldest_event": "2026-01-01T00:00:00+00:00", "newest_event": "2026-03-01T00:00:00+00:00",
        "age": "59.0d", "hot_window": "7d", "hot_groups": 56,
        "hot_bytes_estimate": 3 * 2**20, "retention": "unbounded"}})
    shown = " ".join(capsys.readouterr().out.split())
    assert "quote state: news-quotes, 1234 groups (last reports 2026-01-01" in shown
    assert "age 59.0d); hot window 7d: 56 groups, ~3.0 MiB; retention unbounded" in shown

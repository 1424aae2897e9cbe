"""The quote groups' writes on the real Elasticsearch: one rejected group is that group
alone, a 40 KB URL is stored (not indexed), a deleted index makes the writes wait through
the alias instead of auto-creating a plain index, and setup names (and repairs) a plain
index squatting the alias name instead of failing in a loop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pipeline.core.contracts import Quote, QuoteArticle, QuoteSpeaker
from pipeline.core.errors import Backpressure, ConfigError
from pipeline.core.settings import Settings
from pipeline.group.quotes import QuoteGroups
from pipeline.index.quotes_mapping import QuoteIndexWriter, ensure_quotes_index, quotes_index_name

pytestmark = pytest.mark.integration
SAID = ["“We will never abandon our allies in the region, whatever the pressure.”",
        "“The sanctions will fail, as they always have failed before.”",
        "“Talks with every neighbour will begin on Monday in Geneva.”"]


@pytest.fixture
def es(isolated: Settings) -> Any:
    client = Elasticsearch(isolated.es_url)
    yield client
    client.indices.delete(index=f"{isolated.quotes_index_alias}*", ignore_unavailable=True)
    client.close()


def _docs(url_of_second: str) -> list[dict[str, Any]]:
    groups = QuoteGroups()
    for i, words in enumerate(SAID):
        url = url_of_second if i == 1 else f"https://outlet{i}.example/a"
        groups.add(Quote(id=f"q{i}", index=0, kind="direct", content=words,
                         article=QuoteArticle(id=f"a{i}", url=url, publisher=f"P{i}"),
                         speaker=QuoteSpeaker(canonical="Vladimir Putin", type="person")))
    return [g.to_doc() for g in groups.store.groups()]


def _write(settings: Settings, docs: list[dict[str, Any]], *, retries: int = 8) -> Any:
    async def go() -> Any:
        writer = QuoteIndexWriter(settings)
        writer.bulk.max_item_retries, writer.bulk.base_backoff = retries, 0.05
        try:
            return await writer.write(docs, [])
        finally:
            await writer.close()

    return asyncio.run(go())


def test_one_unindexable_group_is_rejected_alone_and_a_long_url_is_stored(
        isolated: Settings, es: Elasticsearch) -> None:
    ensure_quotes_index(isolated)
    docs = _docs("https://huge.example/" + "x" * 40_000)
    docs[2]["surprise"] = "a field the strict mapping refuses"
    rejected = _write(isolated, docs)
    assert [gid for gid, _ in rejected] == [docs[2]["group"]]
    assert "strict" in str(rejected[0][1])
    es.indices.refresh(index=isolated.quotes_index_alias)
    stored = {h["_id"]: h["_source"] for h in es.search(
        index=isolated.quotes_index_alias, query={"match_all": {}})["hits"]["hits"]}
    assert set(stored) == {docs[0]["group"], docs[1]["group"]}
    assert len(stored[docs[1]["group"]]["first_seen"]["url"]) > 40_000


def test_a_deleted_index_makes_writes_wait_and_setup_names_the_squatter(
        isolated: Settings, es: Elasticsearch) -> None:
    alias = isolated.quotes_index_alias
    ensure_quotes_index(isolated)
    es.indices.delete(index=quotes_index_name(isolated))  # the alias goes with it
    with pytest.raises(Backpressure, match="newsflow setup"):
        _write(isolated, _docs("https://outlet1.example/a"), retries=1)
    assert not es.indices.exists(index=alias)  # nothing auto-created under the alias name
    # a write that does not require the alias (an older worker) squats the name
    es.index(index=alias, id="g-old", document={"group": "g-old", "seq": 3}, version=3,
             version_type="external", refresh=True)
    with pytest.raises(ConfigError, match="--repair"):
        ensure_quotes_index(isolated)
    assert ensure_quotes_index(isolated, repair=True) == quotes_index_name(isolated)
    assert es.indices.exists_alias(name=alias)
    assert es.get(index=alias, id="g-old")["_version"] == 3  # moved, version kept
    assert _write(isolated, _docs("https://outlet1.example/a")) == []


def test_a_rebuild_from_the_index_reports_progress(isolated: Settings, es: Elasticsearch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """A takeover that rebuilds a big state is recovery, not a stall: the watchdog hears
    from it while it loads, and the log says where it starts and how long it took."""
    import logging

    from pipeline.stream.quotes import GroupStage
    from pipeline.stream.watchdog import Progress

    ensure_quotes_index(isolated)
    assert _write(isolated, _docs("https://outlet1.example/a")) == []
    stage = GroupStage(isolated)
    stage.progress = Progress(timeout=60.0, now=0.0)
    stage.resume = (0, 17)
    with caplog.at_level(logging.INFO, logger="newsflow.worker"):
        groups = stage.reload()
    assert len(list(groups.store.groups())) == 3
    assert stage.progress.places[(isolated.quotes_topic, None)] > 0.0
    lines = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("recovering group partition 0 (committed 17)") for m in lines)
    assert any(m.startswith("recovered group partition 0 in ") and "3 quote groups" in m
               for m in lines), lines

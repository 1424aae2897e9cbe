"""The Elasticsearch side on the real local stack: index setup, bulk indexer, search."""

from __future__ import annotations

import asyncio

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient

from pipeline.core.contracts import Attribution, EnrichedArticle, Source, Span
from pipeline.core.errors import Backpressure
from pipeline.core.settings import Settings
from pipeline.index.indexer import Indexer
from pipeline.index.mapping import analyzer_settings, ensure_index, has_analysis_common, index_name
from pipeline.search.query import SearchRequest, search
from pipeline.stream.topics import ensure_topics

pytestmark = pytest.mark.integration


def _article(i: int, **kw: object) -> EnrichedArticle:
    text = f"Officials said the bridge number {i} would reopen next week."
    att = Attribution(kind="indirect",
                      source=Source(text="Officials", start=0, end=9, canonical="Officials",
                                    type="group"),
                      cue=Span(text="said", start=10, end=14),
                      content=Span(text=text[15:-1], start=15, end=len(text) - 1))
    fields: dict[str, object] = {"id": f"a{i}", "text": text, "title": f"Bridge {i}",
                                 "language": "en", "attributions": [att],
                                 "attributed_sources": ["Officials"]}
    fields.update(kw)
    return EnrichedArticle(**fields)  # type: ignore[arg-type]


def _index_refreshed(settings: Settings, es: Elasticsearch, n: int) -> None:
    """Index n sample articles through the real Indexer and make them searchable."""
    indexer = Indexer(settings)

    async def run() -> None:
        try:
            assert await indexer.index([_article(i) for i in range(n)]) == []
        finally:
            await indexer.close()

    asyncio.run(run())
    es.indices.refresh(index=settings.index_alias)


@pytest.fixture
def es(isolated: Settings):  # type: ignore[no-untyped-def]
    client = Elasticsearch(isolated.es_url)
    ensure_index(isolated, client)
    yield client
    client.indices.delete(index=index_name(isolated), ignore_unavailable=True)
    client.close()


def test_index_and_alias_with_detected_analyzer(isolated: Settings, es: Elasticsearch) -> None:
    alias = es.indices.get_alias(name=isolated.index_alias)
    assert list(alias) == [index_name(isolated)]
    analyzer = es.indices.get_settings(index=index_name(isolated))[index_name(isolated)][
        "settings"]["index"]["analysis"]["analyzer"]["nf_text"]
    expected = analyzer_settings(has_analysis_common=has_analysis_common(es))
    assert analyzer["type"] == expected["analyzer"]["nf_text"]["type"]
    mapping = es.indices.get_mapping(index=index_name(isolated))[index_name(isolated)]
    assert mapping["mappings"]["dynamic"] == "strict"
    # the analyzer really analyzes: stop words are dropped on both code paths
    tokens = es.indices.analyze(index=index_name(isolated), analyzer="nf_text",
                                text="The talks and the deal")["tokens"]
    assert [t["token"] for t in tokens][:1] in (["talks"], ["talk"])
    assert ensure_index(isolated, es) == index_name(isolated)  # idempotent


def test_bulk_is_idempotent_and_reports_rejections(isolated: Settings, es: Elasticsearch) -> None:
    indexer = Indexer(isolated)

    async def run() -> list:  # type: ignore[type-arg]
        try:
            first = await indexer.index([_article(i) for i in range(20)])
            again = await indexer.index([_article(i) for i in range(20)])
            # a 40 KB URL is stored, not indexed (ignore_above); an integer out of the
            # mapping's range is that article's own rejection, not its neighbours'
            huge = _article(98, url="https://e.org/" + "x" * 40000)
            wrong = _article(99, attributions=[_article(99).attributions[0].model_copy(
                update={"cue": Span(text="said", start=2**40, end=2**40 + 4)})])
            bad = await indexer.index([_article(97), wrong, huge])
            return [first, again, bad]
        finally:
            await indexer.close()

    first, again, bad = asyncio.run(run())
    assert first == [] and again == []
    es.indices.refresh(index=isolated.index_alias)
    assert es.count(index=isolated.index_alias)["count"] == 22
    assert [(a.id, "400" in str(e)) for a, e in bad] == [("a99", True)]


def test_backpressure_when_elasticsearch_is_unreachable(isolated: Settings) -> None:
    down = Settings.from_env({"NEWSFLOW_ES_URL": "http://127.0.0.1:1"})
    indexer = Indexer(down)

    async def run() -> None:
        try:
            await indexer._bulk([indexer.entry(_article(1))])
        finally:
            await indexer.close()

    with pytest.raises(Backpressure):
        asyncio.run(run())


def test_search_filters_facets_and_hostile_input(isolated: Settings, es: Elasticsearch) -> None:
    _index_refreshed(isolated, es, 3)
    result = search(isolated, SearchRequest(text="bridge", said_by="Officials"))
    assert result["total"] == 3
    assert ["Officials", 3] in result["facets"]["attributed_sources"]
    for hostile in ['bridge AND (', '"unbalanced', "*:* OR _exists_:text", "{\"query\": 1}",
                    "\\", "title:/.*/"]:
        search(isolated, SearchRequest(text=hostile))  # never raises on user input


def test_topics_have_partitions(isolated: Settings) -> None:
    created = ensure_topics(isolated)
    assert set(created) == set(isolated.topics)
    assert {isolated.stories_topic, isolated.assigned_topic} <= set(created)
    admin = KafkaAdminClient(bootstrap_servers=isolated.kafka_bootstrap)
    try:
        meta = {t["name"]: len(t["partitions"]) for t in admin.describe_topics(
            list(isolated.topics))}
    finally:
        admin.close()
    assert meta[isolated.raw_topic] == isolated.partitions
    assert meta[isolated.stories_topic] == 1  # one order for story assignment
    assert meta[isolated.assigned_topic] == isolated.partitions
    assert ensure_topics(isolated) == []


def test_reindex_swaps_alias_atomically(isolated: Settings, es: Elasticsearch) -> None:
    from pipeline.index.mapping import reindex

    _index_refreshed(isolated, es, 7)
    old, new, copied = reindex(isolated, es)
    assert (old, new, copied) == (index_name(isolated, 1), index_name(isolated, 2), 7)
    assert list(es.indices.get_alias(name=isolated.index_alias)) == [new]
    assert es.count(index=isolated.index_alias)["count"] == 7
    es.indices.delete(index=new)


def test_status_reports_topics_lag_and_index(isolated: Settings, es: Elasticsearch) -> None:
    from pipeline.ops.status import collect

    ensure_topics(isolated)
    report = collect(isolated)
    assert report["healthy"]
    raw = report["topics"][isolated.raw_topic]
    assert raw["exists"] and raw["partitions"] == isolated.partitions and raw["messages"] == 0
    assert report["topics"][isolated.stories_topic]["partitions"] == 1
    assert report["index"]["exists"] and report["index"]["documents"] == 0

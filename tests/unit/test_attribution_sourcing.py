"""Sourcing transparency: anonymous sources and the reason given, the stance of each cue,
and how both reach the index, the search filters and the dashboard."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from pipeline.core.contracts import Attribution, EnrichedArticle, Source, Span
from pipeline.enrich.article import Enricher
from pipeline.index.mapping import document, mappings
from pipeline.ops.kibana import ANONYMOUS_FIELDS, saved_objects
from pipeline.search.query import SearchRequest, build_query


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    return Enricher()


def _sources(enricher: Enricher, text: str) -> list[Source]:
    [art] = enricher.enrich([{"id": "s", "text": text}])
    assert isinstance(art, EnrichedArticle)
    return [a.source for a in art.attributions if a.source]


@pytest.mark.parametrize(("text", "source", "reason"), [
    ("A senior official said the negotiations over the port had stalled again.",
     "A senior official", None),
    ("People familiar with the matter said the merger would be announced on Friday.",
     "People familiar with the matter", None),
    ("Sources said the minister would resign before the end of the week.", "Sources", None),
    ("An executive at the firm, who asked not to be named, said the factory would close.",
     "An executive at the firm", None),
    ("The official, who spoke on condition of anonymity because he was not authorized to "
     "discuss the negotiations publicly, said the two sides were far apart.",
     "The official", "because he was not authorized to discuss the negotiations publicly"),
])
def test_anonymous_sources_and_their_reason(enricher: Enricher, text: str, source: str,
                                            reason: str | None) -> None:
    [src] = [s for s in _sources(enricher, text) if s.text == source]
    assert src.anonymous is True
    assert src.anonymity_reason == reason


@pytest.mark.parametrize("text", [
    "Prime Minister Keir Starmer said the economy was growing again.",
    "A senior official, Maria Lopez, said the negotiations over the port had stalled.",
    "The ministry said in a statement that the border crossing would reopen on Monday.",
    "Emmanuel Macron arrived in Berlin. He said that France would support the budget rules.",
])
def test_named_sources_are_not_anonymous(enricher: Enricher, text: str) -> None:
    sources = _sources(enricher, text)
    assert sources and not any(s.anonymous for s in sources), sources


@pytest.mark.parametrize(("text", "stance"), [
    ("The mayor said that the bridge would reopen in May.", "neutral"),
    ("The mayor added that the bridge would reopen in May.", "neutral"),
    ("Prices rose sharply in March, according to the statistics office.", "neutral"),
    ("The company claimed that its new engine used less fuel than any rival.", "distancing"),
    ("Prosecutors alleged that the mayor had taken bribes from the builders.", "distancing"),
    ("The minister confirmed that the embassy would close at the end of the month.",
     "endorsing"),
    ("The club admitted that it had broken the spending rules.", "endorsing"),
])
def test_stance_of_the_cue(enricher: Enricher, text: str, stance: str) -> None:
    [art] = enricher.enrich([{"id": "s", "text": text}])
    assert isinstance(art, EnrichedArticle)
    assert [a.stance for a in art.attributions] == [stance]


def test_new_fields_are_indexed_and_mapped() -> None:
    att = Attribution(kind="indirect", cue=Span(text="said", start=2, end=6),
                      content=Span(text="x", start=7, end=8), rule="speech_clause",
                      stance="neutral",
                      source=Source(text="A", start=0, end=1, anonymous=True,
                                    anonymity_reason="because"))
    doc = document(EnrichedArticle(id="1", text="A said x", attributions=[att]))
    indexed = doc["attributions"][0]
    assert indexed["rule"] == "speech_clause" and indexed["stance"] == "neutral"
    assert indexed["source"]["anonymous"] is True
    props = mappings()["properties"]["attributions"]["properties"]
    assert set(indexed) <= set(props)
    assert set(indexed["source"]) <= set(props["source"]["properties"])
    assert props["stance"]["type"] == "keyword" and props["rule"]["type"] == "keyword"
    assert props["source"]["properties"]["anonymous"] == {"type": "boolean"}
    assert props["source"]["properties"]["anonymity_reason"]["type"] == "text"


def test_search_filters_anonymous_and_stance_on_one_attribution() -> None:
    filters = build_query(SearchRequest(anonymous=True, stance="distancing"))["query"]["bool"][
        "filter"]
    assert filters == [{"nested": {"path": "attributions", "query": {"bool": {"filter": [
        {"term": {"attributions.source.anonymous": True}},
        {"term": {"attributions.stance": "distancing"}}]}}}}]
    assert build_query(SearchRequest())["query"]["bool"]["filter"] == []


def test_cli_rejects_an_unknown_stance() -> None:
    from pipeline.cli.main import app

    result = CliRunner().invoke(app, ["search", "--stance", "hostile"])
    assert result.exit_code == 2


def test_dashboard_has_the_anonymous_sourcing_panel_over_mapped_fields() -> None:
    [vis] = [o for o in saved_objects() if o["id"] == "newsflow-anonymous-sourcing"]
    spec = json.loads(json.loads(vis["attributes"]["visState"])["params"]["spec"])
    body = json.dumps(spec["data"]["url"]["body"])
    for field in ANONYMOUS_FIELDS:
        assert f'"{field}"' in body
    props = mappings()["properties"]
    assert props["provenance"]["properties"]["publisher"]["type"] == "keyword"
    assert props["attributions"]["type"] == "nested"
    dashboard = next(o for o in saved_objects() if o["type"] == "dashboard")
    assert any(r["id"] == vis["id"] for r in dashboard["references"])

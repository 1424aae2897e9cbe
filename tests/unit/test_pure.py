"""Pure functions of the index, search and source resolution, without any service."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from pipeline.core.contracts import Attribution, EnrichedArticle, EntitySummary, Source, Span
from pipeline.enrich.article import Enricher
from pipeline.index.mapping import document, mappings
from pipeline.search.query import SearchRequest, build_query


def _filters(req: SearchRequest) -> list[dict]:  # type: ignore[type-arg]
    return build_query(req)["query"]["bool"]["filter"]


def test_user_text_only_enters_as_values() -> None:
    nasty = 'x") OR _exists_:secret AND {"script": 1}'
    q = build_query(SearchRequest(text=nasty, publisher=nasty, said_by=nasty))
    assert q["query"]["bool"]["must"] == [{"simple_query_string": {
        "query": nasty, "fields": ["title^3", "text", "summary^2"], "default_operator": "and"}}]
    dumped = json.dumps(q)
    assert '"script"' not in dumped.replace(json.dumps(nasty)[1:-1], "")


def test_filters_are_built_per_option() -> None:
    assert build_query(SearchRequest())["query"]["bool"] == {
        "must": [{"match_all": {}}], "filter": []}
    assert _filters(SearchRequest(lang="fr")) == [{"term": {"language": "fr"}}]
    assert _filters(SearchRequest(since="2024-01-01")) == [
        {"range": {"published_at": {"gte": "2024-01-01"}}}]
    [typed] = _filters(SearchRequest(type="person"))
    assert typed["nested"]["query"] == {"term": {"entities.label": "PERSON"}}
    [entity] = _filters(SearchRequest(entity="Vladimir Putin", type="PERSON"))
    assert {"term": {"persons": "Vladimir Putin"}} in entity["bool"]["should"]
    assert {"term": {"organizations": "Vladimir Putin"}} not in entity["bool"]["should"]


@pytest.mark.parametrize(("limit", "size"), [(-5, 0), (3, 3), (5000, 1000)])
def test_limit_is_clamped(limit: int, size: int) -> None:
    assert build_query(SearchRequest(limit=limit))["size"] == size


def test_document_flattens_entities_for_facets_and_drops_spans() -> None:
    span = Span(text="a", start=0, end=1, spans=[[0, 1]])
    art = EnrichedArticle(
        id="1", text="a", published_at=datetime(2024, 1, 1, tzinfo=UTC),
        entity_summary=[
            EntitySummary(canonical="Vladimir Putin", label="PERSON", key="person:vladimir putin",
                          mentions=2, first_offset=0, salience=1.0),
            EntitySummary(canonical="Kremlin", label="FAC", key="facility:kremlin",
                          mentions=1, first_offset=0, salience=0.5),
            EntitySummary(canonical="Tuesday", label="DATE", key="date:tuesday",
                          mentions=1, first_offset=0, salience=0.1)],
        attributions=[Attribution(kind="direct", source=Source(text="a", start=0, end=1),
                                  cue=None, content=span)])
    doc = document(art)
    assert doc["persons"] == ["Vladimir Putin"] and doc["places"] == ["Kremlin"]
    assert doc["organizations"] == [] and "Tuesday" not in json.dumps(doc["places"])
    assert doc["entity_keys"] == ["date:tuesday", "facility:kremlin", "person:vladimir putin"]
    assert doc["attribution_kinds"] == ["direct"]
    assert "spans" not in doc["attributions"][0]["content"]
    unmapped = set(doc) - set(mappings()["properties"])
    assert unmapped == set(), unmapped  # the strict mapping would reject the document


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    return Enricher()


def _sources(enricher: Enricher, text: str) -> list[tuple[str | None, str]]:
    [art] = enricher.enrich([{"id": "x", "text": text}])
    assert isinstance(art, EnrichedArticle)
    return [(a.source.canonical, a.source.type) for a in art.attributions if a.source]


def test_anaphoric_sources_resolve_to_the_source_named_before(enricher: Enricher) -> None:
    text = ("Syria's Al-Watan newspaper reported that the talks had failed. "
            "The same source said that a new round was planned.")
    assert _sources(enricher, text) == [("Al-Watan", "outlet")] * 2


def test_pronouns_resolve_to_the_last_person(enricher: Enricher) -> None:
    text = ("Maria Lopez, the mayor, met reporters on Monday. "
            "She said that the bridge would reopen in May.")
    assert ("Maria Lopez", "person") in _sources(enricher, text)


def test_unnamed_sources_stay_unnamed(enricher: Enricher) -> None:
    assert _sources(enricher, "They said that the vote would be delayed.") == [
        (None, "unnamed")]

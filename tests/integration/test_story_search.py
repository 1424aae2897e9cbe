"""A story shows once in search (Elasticsearch field collapsing on ``story``), with its
copies and outlets counted; ``--all-copies`` lists each copy. On the real local stack."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from pipeline.core.contracts import EnrichedArticle, Provenance
from pipeline.core.settings import Settings
from pipeline.search.query import SearchRequest, search
from tests.integration.conftest import indexed as index_directly

pytestmark = pytest.mark.integration

WIRE = "A cargo ship ran aground on the Danube north of Budapest, blocking river traffic."


def _article(i: str, publisher: str, *, story: str | None, text: str = WIRE,
             copy_of: str | None = None, wire: str | None = "AFP") -> EnrichedArticle:
    return EnrichedArticle(id=i, text=text, title=f"Ship aground ({publisher})", language="en",
                           provenance=Provenance(connector="test", source=publisher.lower(),
                                                 publisher=publisher),
                           published_at=f"2026-11-24T0{len(i)}:00:00Z",  # type: ignore[arg-type]
                           story=story, copy_of=copy_of, similarity=1.0 if copy_of else None,
                           wire=wire)


@pytest.fixture
def indexed(isolated: Settings) -> Iterator[Settings]:
    arts = [_article("w", "Wire Desk", story="w"),
            _article("ca", "Riverside Post", story="w", copy_of="w"),
            _article("cbb", "Europe Today", story="w", copy_of="w"),
            _article("cccc", "Riverside Post", story="w", copy_of="ca"),
            _article("x", "Riverside Post", story="x", wire=None,
                     text="The Danube ferry timetable changes on Monday, the operator said."),
            _article("y", "Europe Today", story=None, wire=None,  # grouped by no one
                     text="Danube cruise bookings fell by a third this autumn."),
            _article("z", "Europe Today", story=None, wire=None,
                     text="A bridge over the Danube will close for repairs in December.")]
    with index_directly(isolated, arts) as settings:
        yield settings


def test_a_story_shows_once_with_its_copies(indexed: Settings) -> None:
    result = search(indexed, SearchRequest(text="Danube"))
    assert result["total"] == 7 and result["stories"] == 4
    by_story = {h["story"]: h for h in result["hits"]}
    assert sorted(by_story) == ["w", "x", "y", "z"]  # ungrouped articles stay apart
    wire = by_story["w"]
    assert wire["copies"] == 3
    assert wire["outlets"] == ["Europe Today", "Riverside Post", "Wire Desk"]
    assert by_story["x"]["copies"] == 0 and by_story["x"]["outlets"] == ["Riverside Post"]
    assert ["AFP", 4] in result["facets"]["wires"]


def test_all_copies_lists_each_with_the_same_counts(indexed: Settings) -> None:
    result = search(indexed, SearchRequest(text="Danube", all_copies=True))
    assert len(result["hits"]) == 7
    copies = [h for h in result["hits"] if h["story"] == "w"]
    assert len(copies) == 4 and {h["copies"] for h in copies} == {3}
    assert {h["copy_of"] for h in copies} == {None, "w", "ca"}


def test_wire_filter(indexed: Settings) -> None:
    result = search(indexed, SearchRequest(wire="AFP", all_copies=True))
    assert {h["id"] for h in result["hits"]} == {"w", "ca", "cbb", "cccc"}


def test_cli_json_carries_story_copies_and_outlets(indexed: Settings,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.cli.main import app

    monkeypatch.setenv("NEWSFLOW_INDEX", indexed.index_alias)
    monkeypatch.setenv("NEWSFLOW_TOPIC_PREFIX", indexed.topic_prefix)
    run = CliRunner().invoke(app, ["search", "cargo ship", "--json"])
    assert run.exit_code == 0, run.output
    hits = json.loads(run.output)["hits"]
    assert [(h["story"], h["copies"], len(h["outlets"])) for h in hits] == [("w", 3, 3)]
    shown = CliRunner().invoke(app, ["search", "cargo ship"])
    assert "+ 3 copies in 3 outlets" in shown.output
    every = CliRunner().invoke(app, ["search", "cargo ship", "--all-copies", "--json"])
    assert len(json.loads(every.output)["hits"]) == 4


def test_a_query_elasticsearch_refuses_is_a_usage_error(indexed: Settings,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A 40 KB name is refused by Elasticsearch (400): exit 2, saying so, not "is it up"."""
    from pipeline.cli.main import app

    monkeypatch.setenv("NEWSFLOW_INDEX", indexed.index_alias)
    monkeypatch.setenv("NEWSFLOW_TOPIC_PREFIX", indexed.topic_prefix)
    for args in (["search", "--entity", "x" * 40_000], ["quotes", "--said-by", "x" * 40_000]):
        run = CliRunner().invoke(app, args)
        assert run.exit_code == 2, run.output
        assert "refused" in run.output and "Is Elasticsearch up" not in run.output

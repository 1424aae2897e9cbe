"""Places linked to the offline gazetteer: the seed article's places, disambiguation by
dateline, qualifier and named countries, demonyms, unlinked places, the main place, and
the accuracy per kind on the labelled set (bench/places_eval.py)."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import yaml

from bench.places_eval import evaluate
from pipeline.core.contracts import Entity
from pipeline.enrich.article import Enricher
from pipeline.enrich.gazetteer import RULES, Gazetteer, gazetteer
from pipeline.enrich.places import dateline, link_entities
from tests.conftest import ROOT

SEED = ROOT / "tests" / "fixtures" / "seed" / "seed-assad-moscow.txt"


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    return Enricher()


def ents(text: str, *names: tuple[str, str]) -> list[Entity]:
    """Entities for the given (name, label) pairs at their first offsets in ``text``."""
    out = []
    for name, label in names:
        start = text.index(name)
        out.append(Entity(text=name, label=label, start=start, end=start + len(name),
                          canonical=name, key=f"place:{name.lower()}"))
    return out


def places(text: str, *names: tuple[str, str]) -> dict[str, Any]:
    linked, main = link_entities(text, ents(text, *names))
    return {"main": main, **{e.canonical: e.place for e in linked}}


def test_seed_article_places_link_and_its_main_place_is_syria(enricher: Enricher) -> None:
    [art] = enricher.enrich([{"id": "seed", "text": SEED.read_text(encoding="utf-8")}])
    assert not isinstance(art, Exception)
    got = {e.canonical: e.place for e in art.entities if e.place and e.label == "GPE"}
    assert {k: (p.geonames_id, p.kind, p.country) for k, p in got.items()
            if k in ("Moscow", "Syria", "Damascus", "Ankara", "Turkey")} == {
        "Moscow": (524901, "city", "RU"), "Syria": (163843, "country", "SY"),
        "Damascus": (170654, "city", "SY"), "Ankara": (323786, "city", "TR"),
        "Turkey": (298795, "country", "TR")}
    assert art.main_place and art.main_place.country == "SY"
    syrian = next(e for e in art.entities if e.label == "NORP" and e.canonical == "Syrian")
    assert syrian.place and syrian.place.geonames_id == 163843


def test_paris_datelined_texas_is_paris_texas() -> None:
    text = "PARIS, Texas (AP) — The council of Paris met on Tuesday."
    got = places(text, ("Paris", "GPE"))
    assert got["main"].geonames_id == 4717560 and got["main"].country == "US"
    assert got["Paris"].geonames_id == 4717560
    assert places("The council of Paris met.", ("Paris", "GPE"))["Paris"].country == "FR"
    assert places("PARIS, Tex. — The council met.")["main"].geonames_id == 4717560


def test_qualifier_and_named_countries_choose() -> None:
    assert places("Police in Birmingham, Alabama, said.",
                  ("Birmingham", "GPE"))["Birmingham"].country == "US"
    assert places("Factories in Birmingham cut jobs.",
                  ("Birmingham", "GPE"))["Birmingham"].country == "GB"
    lebanon = places("The port of Tripoli in Lebanon reopened.", ("Tripoli", "GPE"),
                     ("Lebanon", "GPE"))
    assert lebanon["Tripoli"].country == "LB"
    assert places("Fighting in Tripoli.", ("Tripoli", "GPE"))["Tripoli"].country == "LY"
    assert places("Officials in London, Ontario, said.",
                  ("London", "GPE"))["London"].country == "CA"


def test_georgia_is_the_country_or_the_state_by_the_article() -> None:
    tbilisi = places("TBILISI, Georgia — Georgia's parliament voted.", ("Georgia", "GPE"))
    assert tbilisi["Georgia"].kind == "country" and tbilisi["Georgia"].country == "GE"
    assert tbilisi["main"].name == "Tbilisi"
    atlanta = places("ATLANTA (AP) — Voters across Georgia waited.", ("Georgia", "GPE"))
    assert atlanta["Georgia"].kind == "admin" and atlanta["Georgia"].country == "US"


def test_demonyms_unlinked_places_and_nationalities_that_are_no_place() -> None:
    text = "Syrian officials and Muslim leaders met in Kurdistan and in Xyzzyville."
    got = places(text, ("Syrian", "NORP"), ("Muslim", "NORP"), ("Kurdistan", "LOC"),
                 ("Xyzzyville", "GPE"))
    assert got["Syrian"].country == "SY" and got["Syrian"].kind == "country"
    assert got["Muslim"] is None
    for name in ("Kurdistan", "Xyzzyville"):
        assert got[name].geonames_id is None and got[name].kind == "other"
        assert got[name].lat is None and got[name].name == name
    assert got["main"] is None  # no linked place, no dateline


def test_main_place_is_the_most_mentioned_without_dateline() -> None:
    text = "Aleppo and Damascus. Damascus again. Aleppo once more? Damascus!"
    _, main = link_entities(text, [
        *ents(text, ("Aleppo", "GPE"), ("Damascus", "GPE")),
        Entity(text="Damascus", label="GPE", start=21, end=29, canonical="Damascus",
               key="place:damascus")])
    assert main and main.name == "Damascus"


def test_datelines() -> None:
    assert dateline("DAMASCUS, Syria (Reuters) - Officials said") == \
        dateline("DAMASCUS, Syria — Officials said")
    assert dateline("ST. LOUIS (AP) — x").name == "St. Louis"  # type: ignore[union-attr]
    assert dateline("Russian President Vladimir Putin will hold talks - today") is None


def test_rules_are_data_with_an_example_each() -> None:
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    assert all(section.get("example") for section in rules.values())
    assert "NO" in rules["demonyms"]["names"]  # quoted: YAML would read NO as false


def test_the_gazetteer_is_built_without_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the gazetteer tried the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    g = Gazetteer(yaml.safe_load(RULES.read_text(encoding="utf-8")))
    assert g.countries["TR"].geonames_id == gazetteer().countries["TR"].geonames_id == 298795


def test_labelled_set_accuracy_per_kind(enricher: Enricher) -> None:
    kinds = evaluate(enricher=enricher)["kinds"]
    assert kinds["country"]["accuracy_end_to_end"] >= 0.90
    assert kinds["city"]["accuracy_end_to_end"] >= 0.85
    assert kinds["main_place"]["accuracy_end_to_end"] >= 0.90


def test_a_derived_copy_has_the_places_and_its_own_main_place() -> None:
    from pipeline.core.contracts import EnrichedArticle, Provenance, RawArticle
    from pipeline.enrich.reuse import derive

    body = " Officials in Damascus met envoys from Ankara, and Damascus said talks went well."
    text = "DAMASCUS, Syria (Reuters) —" + body
    linked, main = link_entities(text, ents(text, ("Ankara", "GPE")))
    original = EnrichedArticle(id="o", text=text, entities=linked, main_place=main)
    copy = derive(original, RawArticle.new(
        url="https://example.org/copy", text="LONDON (Reuters) —" + body,
        provenance=Provenance(connector="test", source="copy")))
    assert [e.place.country for e in copy.entities if e.place] == ["TR"]
    assert copy.main_place and copy.main_place.name == "London"

"""One small example per attribution construction, plus the seed article."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.core.contracts import EnrichedArticle
from pipeline.enrich.article import Enricher

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "seed"


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    return Enricher()


def run(enricher: Enricher, text: str) -> EnrichedArticle:
    [art] = enricher.enrich([{"id": "t", "text": text}])
    assert isinstance(art, EnrichedArticle), art
    for a in art.attributions:  # every offset points into the text
        assert text[a.content.start:a.content.end] == a.content.text
        if a.source:
            assert text[a.source.start:a.source.end] == a.source.text
        if a.cue:
            assert text[a.cue.start:a.cue.end] == a.cue.text
    return art


def one(art: EnrichedArticle, kind: str | None = None):  # type: ignore[no-untyped-def]
    found = [a for a in art.attributions if kind is None or a.kind == kind]
    assert found, [a.model_dump() for a in art.attributions]
    return found[0]


def test_indirect_speech(enricher: Enricher) -> None:
    a = one(run(enricher, "Prime Minister Keir Starmer said the economy was growing again."))
    assert a.kind == "indirect" and a.cue.text == "said"
    assert a.source.canonical == "Keir Starmer" and a.source.type == "person"
    assert a.content.text == "the economy was growing again"


def test_direct_quote_after_cue(enricher: Enricher) -> None:
    text = "Angela Merkel told reporters: “We will not give up on Europe.”"
    a = one(run(enricher, text))
    assert a.source.canonical == "Angela Merkel"
    assert "We will not give up on Europe" in a.content.text


def test_quote_first_then_speaker(enricher: Enricher) -> None:
    text = '"The plan is dead," said John Smith, a senior official.'
    a = one(run(enricher, text))
    assert a.kind == "direct" and a.source.canonical == "John Smith"
    assert a.content.text.startswith('"The plan is dead')


def test_according_to(enricher: Enricher) -> None:
    a = one(run(enricher, "Prices rose sharply in March, according to the statistics office."),
            "according_to")
    assert a.source.text == "the statistics office" and a.cue.text == "according to"
    assert a.content.text == "Prices rose sharply in March"


def test_citing_chain(enricher: Enricher) -> None:
    text = ("The Guardian, citing Reuters, reported that the talks had collapsed "
            "after two days.")
    art = run(enricher, text)
    main = next(a for a in art.attributions if a.kind != "citing")
    cited = one(art, "citing")
    assert main.source.canonical == "The Guardian" or main.source.canonical == "Guardian"
    assert cited.source.canonical == "Reuters" and cited.source.type == "outlet"
    assert main.cited_via == ["Reuters"]


def test_pronoun_resolves_to_person(enricher: Enricher) -> None:
    text = ("Emmanuel Macron arrived in Berlin on Monday. "
            "He said that France would support the new budget rules.")
    a = one(run(enricher, text))
    assert a.source.text == "He" and a.source.canonical == "Emmanuel Macron"


def test_anonymous_sources_are_kept(enricher: Enricher) -> None:
    a = one(run(enricher, "Officials said the bridge would reopen next week."))
    assert a.source.text == "Officials" and a.source.type == "group"


def test_the_newspaper_resolves_to_outlet(enricher: Enricher) -> None:
    text = ("The Washington Post published new documents on Sunday. "
            "The newspaper reported that the agency had ignored repeated warnings.")
    a = next(x for x in run(enricher, text).attributions if x.source and
         x.source.text == "The newspaper")
    assert a.source.type == "outlet" and "Washington Post" in (a.source.canonical or "")


def test_no_attribution_in_plain_narration(enricher: Enricher) -> None:
    art = run(enricher, "The river burst its banks overnight and flooded three villages.")
    assert art.attributions == []


def test_non_english_gets_no_english_enrichment(enricher: Enricher) -> None:
    art = run(enricher, "Le gouvernement a présenté mardi son projet de budget pour "
                        "l'année prochaine, a déclaré le ministre.")
    assert art.language == "fr" and art.entities == [] and art.attributions == []


def _gold() -> list[tuple[int, int, int, int]]:
    spans, events = {}, []
    for line in (FIX / "seed-assad-moscow_gold.ann").read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if parts[0].startswith("T"):
            _, rng = parts[1].split(" ", 1)
            s, e = rng.split(" ")[:2]
            spans[parts[0]] = (int(s), int(e))
        elif parts[0].startswith("E"):
            roles = dict(x.split(":") for x in parts[1].split())
            events.append((*spans[roles["Content"]], *spans[roles["Source"]]))
    return events


def test_seed_article_all_eight_attributions(enricher: Enricher) -> None:
    text = (FIX / "seed-assad-moscow.txt").read_text(encoding="utf-8")
    art = run(enricher, text)
    gold = _gold()
    assert len(gold) == 8
    found = 0
    for cs, ce, ss, se in gold:
        for a in art.attributions:
            overlap = min(ce, a.content.end) - max(cs, a.content.start)
            union = max(ce, a.content.end) - min(cs, a.content.start)
            if overlap / union >= 0.3 and a.source and a.source.start < se and \
                    a.source.end > ss:
                found += 1
                break
    assert found == 8
    # the chain "Al-Watan newspaper, citing Russia’s Vendamasti, reported": one report
    # carrying the citation, one citing link, and no report whose cue is "citing"
    report = next(a for a in art.attributions if a.cue and a.cue.text == "reported")
    assert report.cited_via == ["Vendamasti"]
    assert [a.kind for a in art.attributions if a.cue and a.cue.text == "citing"] == ["citing"]


def test_seed_sources_resolve_to_canonical(enricher: Enricher) -> None:
    text = (FIX / "seed-assad-moscow.txt").read_text(encoding="utf-8")
    expected = json.loads((FIX / "entities.json").read_text())["attributed_sources"]
    art = run(enricher, text)
    got = {a.source.text: a.source.canonical for a in art.attributions if a.source}
    for surface, canonical in expected.items():
        assert got.get(surface) == canonical, surface


def test_seed_canonical_entities(enricher: Enricher) -> None:
    text = (FIX / "seed-assad-moscow.txt").read_text(encoding="utf-8")
    expected = json.loads((FIX / "entities.json").read_text())
    art = run(enricher, text)
    by_label: dict[str, set[str]] = {}
    for e in art.entities:
        by_label.setdefault(e.label, set()).add(e.canonical)
    for label in ("PERSON", "ORG", "OUTLET", "GPE"):
        assert set(expected[label]) <= by_label.get(label, set()), label
    # every surface form of a person resolves to its canonical name
    for canonical, forms in expected["PERSON"].items():
        for form in forms:
            hits = [e for e in art.entities if form in e.text or e.text in form]
            assert hits and all(e.canonical == canonical for e in hits
                                if e.label == "PERSON"), form

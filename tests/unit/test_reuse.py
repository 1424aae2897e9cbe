"""Copies' enrichment derived from their original's (pipeline.enrich.reuse): spans land on
the copy's own text, what the copy lacks is dropped, and the batch runner falls back to
spaCy when it holds no original or the copy says too much of its own."""

from __future__ import annotations

import pytest

from pipeline.core.contracts import AssignedArticle, EnrichedArticle, Provenance, RawArticle
from pipeline.enrich.article import Enricher
from pipeline.enrich.reuse import Aligner, NotDerivable, ReusingEnricher, derive
from tests.unit.copies_text import FOLLOW_UP, WIRE
from tests.unit.test_copies import combined, paragraph_removed, truncated


def raw(name: str, text: str) -> RawArticle:
    return RawArticle.new(url=f"https://samples.newsflow.invalid/{name}", text=text,
                          provenance=Provenance(connector="test", source=name,
                                                publisher=name.title()))


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    return Enricher()


@pytest.fixture(scope="module")
def original(enricher: Enricher) -> EnrichedArticle:
    [art] = enricher.enrich([raw("wire", WIRE)])
    assert isinstance(art, EnrichedArticle) and art.entities and art.attributions
    return art


def _anchored(art: EnrichedArticle) -> None:
    for e in art.entities:
        assert art.text[e.start:e.end] == e.text
    for a in art.attributions:
        for span in (a.content, a.cue, a.source):
            if span is not None:
                assert art.text[span.start:span.end] == span.text


@pytest.mark.parametrize("transform", [combined, paragraph_removed],
                         ids=lambda f: f.__name__)
def test_derived_spans_are_the_copys_own(original: EnrichedArticle, transform) -> None:  # type: ignore[no-untyped-def]
    copy = derive(original, raw("copy", transform(WIRE)))
    _anchored(copy)
    assert copy.provenance is not None and copy.provenance.publisher == "Copy"
    assert {e.canonical for e in copy.entities} <= {e.canonical for e in original.entities}
    assert copy.entities and copy.attributions
    assert copy.language == original.language


def test_what_the_copy_lacks_is_dropped(original: EnrichedArticle) -> None:
    paras = WIRE.split("\n\n")
    copy = derive(original, raw("copy", "\n\n".join(paras[:3] + paras[4:])))
    farkas = [a for a in original.attributions if "refloated" in a.content.text]
    assert farkas and not [a for a in copy.attributions if "refloated" in a.content.text]


def test_a_text_that_is_mostly_new_is_not_derived(original: EnrichedArticle) -> None:
    with pytest.raises(NotDerivable):
        derive(original, raw("follow", FOLLOW_UP))


def test_the_aligner_finds_a_span_near_an_edit() -> None:
    al = Aligner("The ship, said Gabor Farkas, ran aground.",
                 "The vessel, said Gabor Farkas on Tuesday, ran aground.")
    assert al.span(15, 27) == (17, 29)


def test_the_batch_derives_copies_and_stamps_stories(enricher: Enricher) -> None:
    reuse = ReusingEnricher(enricher)
    items = [AssignedArticle(article=raw("wire", WIRE), story="w"),
             AssignedArticle(article=raw("a", combined(WIRE)), story="w",
                             copy_of=raw("wire", "").id, similarity=0.9, wire="AFP"),
             AssignedArticle(article=raw("b", truncated(WIRE)), story="w",
                             copy_of="not-held", similarity=1.0)]
    out = reuse.enrich(items)
    assert [type(o) for o in out] == [EnrichedArticle] * 3
    assert (reuse.derived, reuse.enriched) == (1, 2)
    _, second, third = out
    assert isinstance(second, EnrichedArticle) and isinstance(third, EnrichedArticle)
    assert (second.story, second.copy_of, second.similarity, second.wire) == (
        "w", items[1].copy_of, 0.9, "AFP")
    assert third.copy_of == "not-held" and third.entities  # enriched by spaCy instead
    _anchored(second)
    # the next batch derives from what this one produced
    again = reuse.enrich([AssignedArticle(article=raw("c", truncated(WIRE)), story="w",
                                          copy_of=items[1].article.id)])
    assert reuse.derived == 2 and isinstance(again[0], EnrichedArticle)

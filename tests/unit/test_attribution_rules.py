"""The rule registry: every construction's examples yield an attribution with that rule."""

from __future__ import annotations

import pytest

from pipeline.core.contracts import EnrichedArticle
from pipeline.enrich import cues
from pipeline.enrich.article import Enricher
from pipeline.enrich.postpass import POST_PASSES, SENTENCE_PASSES
from pipeline.enrich.rules import CONSTRUCTIONS

EXAMPLES = [(c.name, ex) for c in CONSTRUCTIONS for ex in c.examples] + [
    (p.adds, ex) for p in POST_PASSES if p.adds for ex in p.examples]


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    return Enricher()


def _attributions(enricher: Enricher, text: str) -> EnrichedArticle:
    [art] = enricher.enrich([{"id": "t", "text": text}])
    assert isinstance(art, EnrichedArticle), art
    assert art.language == "en", "an example must read as English"
    return art


@pytest.mark.parametrize(("rule", "example"), EXAMPLES, ids=[f"{r}:{e[:30]}" for r, e in
                                                              EXAMPLES])
def test_each_example_yields_its_rule(enricher: Enricher, rule: str, example: str) -> None:
    art = _attributions(enricher, example)
    assert rule in {a.rule for a in art.attributions}, [a.model_dump() for a in
                                                        art.attributions]


def test_registry_is_well_formed() -> None:
    names = [c.name for c in CONSTRUCTIONS]
    assert len(names) == len(set(names))
    for c in CONSTRUCTIONS:
        assert c.examples and c.description and c.type, c.name
        ways = [c.build, c.find, c.find_text, c.link]
        assert sum(w is not None for w in ways) == 1, c.name
        assert bool(c.patterns) == (c.build is not None or c.link is not None), c.name
        for pattern in c.patterns:
            assert pattern[0]["RIGHT_ID"] == "cue", c.name
    assert [p.name for p in SENTENCE_PASSES] == ["chain_links", "dedupe"]
    assert [p.name for p in POST_PASSES][-1] == "in_text_order"
    assert all(bool(p.adds) == bool(p.examples) for p in POST_PASSES)


def test_lexicon_is_loaded_once_and_classed() -> None:
    assert cues.lexicon() is cues.lexicon()
    assert {"say", "tell"} <= cues.SPEECH_ONLY and "publish" in cues.REPORT
    assert "believe" in cues.COGNITION and cues.CUE_VERBS >= cues.SPEECH | cues.COGNITION
    assert cues.NOMINAL["call"] == "for" and cues.NOMINAL["condemn"] is None
    assert "according to" in cues.ACCORDING_TO


@pytest.mark.parametrize(("cue", "stance"), [
    ("say", "neutral"), ("tell", "neutral"), ("accord to", "neutral"), ("add", "neutral"),
    ("claim", "distancing"), ("allege", "distancing"), ("insist", "distancing"),
    ("purport", "distancing"), ("confirm", "endorsing"), ("acknowledge", "endorsing"),
    ("reveal", "endorsing"), ("admit", "endorsing"), ("point out", "endorsing"),
    ("have claim", "distancing")])
def test_stance_of_cue_lemmas(cue: str, stance: str) -> None:
    assert cues.stance_of(cue) == stance


def test_newspaper_with_its_name_in_apposition(enricher: Enricher) -> None:
    art = _attributions(enricher, "The newspaper Al-Watan reported that the talks between "
                                  "the two delegations had failed on Tuesday.")
    [a] = [a for a in art.attributions if a.rule == "speech_clause"]
    assert a.source is not None and a.source.text == "The newspaper Al-Watan"
    assert (a.source.canonical, a.source.type) == ("Al-Watan", "outlet")

"""The cue gate returns exactly what the plain DependencyMatcher returns, in its order."""

from __future__ import annotations

import pytest
from spacy.language import Language
from spacy.matcher import DependencyMatcher

from pipeline.enrich.attribution import CONSTRUCTIONS
from pipeline.enrich.cuegate import CueGate
from pipeline.enrich.nlp import load_model
from pipeline.enrich.registry import gated, matcher

EXAMPLES = [ex for c in CONSTRUCTIONS for ex in c.examples]
MIXED = ("The weather was mild on Tuesday. \"We will not back down,\" the mayor said, "
         "adding that talks would resume. Prices rose.\n\nAccording to the ministry, "
         "output fell, and analysts believe the trend will hold. Nobody called it a crisis, "
         "citing the figures. The minister told reporters the plan was, in her words, "
         "\"sound\". Shares were flat.")


@pytest.fixture(scope="module")
def nlp() -> Language:
    return load_model()


def test_the_shipped_patterns_are_gated(nlp: Language) -> None:
    assert gated(nlp.vocab, CONSTRUCTIONS) is not None


@pytest.mark.parametrize("text", [*EXAMPLES, MIXED, "", "No cue here at all."])
def test_gate_equals_plain_matcher(nlp: Language, text: str) -> None:
    doc = nlp(text)
    plain = matcher(nlp.vocab, CONSTRUCTIONS)
    gate = gated(nlp.vocab, CONSTRUCTIONS)
    assert gate is not None
    assert gate(doc) == plain(doc)


def test_the_mixed_text_has_matches_and_skipped_sentences(nlp: Language) -> None:
    doc = nlp(MIXED)
    gate = gated(nlp.vocab, CONSTRUCTIONS)
    assert gate is not None and gate(doc)
    live = {doc[r].sent.start for r in gate.live_roots(doc)}
    assert 0 < len(live) < len(list(doc.sents))


def test_a_cue_node_without_words_turns_the_gate_off(nlp: Language) -> None:
    pattern = [{"RIGHT_ID": "cue", "RIGHT_ATTRS": {"POS": "VERB"}}]
    m = DependencyMatcher(nlp.vocab)
    m.add("any_verb", [pattern])
    assert CueGate.of(m, [pattern]) is None

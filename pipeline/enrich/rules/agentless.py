"""Agentless constructions: the content is attributed, but to nobody named ("it was
reported that …", "the plant is said to have closed", "the plant has reportedly
closed"). The attribution has a cue and no source."""

from __future__ import annotations

from spacy.tokens import Doc, Span

from pipeline.enrich import cues
from pipeline.enrich.found import Found
from pipeline.enrich.registry import Construction, Match
from pipeline.enrich.syntax import content_range, kind_of, subtree, verb_cue, words

EXPLETIVES = {"it", "this"}


def _passive(m: Match, sent: Span, doc: Doc) -> Found | None:
    verb = m["cue"]
    if any(c.dep_ == "agent" for c in verb.children):
        return None
    subj = next((c for c in verb.children if c.dep_ == "nsubjpass"), None)
    clause = next((c for c in verb.children if c.dep_ == "ccomp"), None)
    infinitive = next((c for c in verb.children if c.dep_ == "xcomp"), None)
    if subj is not None and subj.lower_ in EXPLETIVES and clause is not None:
        toks = subtree(clause)  # "it was reported that …"
        if words(toks) < 2:
            return None
        content = content_range(doc, toks)
        return Found(kind_of(doc, content), content, verb_cue(verb), None)
    if subj is not None and infinitive is not None and \
            verb.lemma_.lower() in cues.AGENTLESS_INFINITIVE and \
            any(c.lower_ == "to" for c in infinitive.children):
        first = content_range(doc, subtree(subj))  # "the plant is said to have closed"
        rest = content_range(doc, subtree(infinitive))
        f = Found("indirect", first, verb_cue(verb), None)
        f.extra.append(rest)
        return f
    return None


AGENTLESS_PASSIVE = Construction(
    name="agentless_passive", type="agentless",
    description="A passive reporting verb with no agent: 'it was reported that …' (the "
                "clause), 'X is said to have …' (X and the infinitive).",
    examples=("It was reported that the old mill had been sold to a developer.",
              "The old mill is said to have been sold to a developer last year."),
    patterns=([{"RIGHT_ID": "cue", "RIGHT_ATTRS": {"LEMMA": {"IN": sorted(cues.CUE_VERBS)},
                                                   "POS": "VERB"}},
               {"LEFT_ID": "cue", "REL_OP": ">", "RIGHT_ID": "auxpass",
                "RIGHT_ATTRS": {"DEP": "auxpass"}}],),
    build=_passive)


def _hedged(m: Match, sent: Span, doc: Doc) -> Found | None:
    adverb = m["cue"]
    head = adverb.head
    toks = [t for t in subtree(head) if t.i != adverb.i]
    if head.pos_ not in {"VERB", "AUX"} or words(toks) < 3:
        return None
    content = content_range(doc, toks)
    return Found("indirect", content, (adverb.idx, adverb.idx + len(adverb)), None)


HEDGED = Construction(
    name="hedge_adverb", type="agentless",
    description="An adverb that attributes its clause to an unnamed report: 'reportedly', "
                "'allegedly' (lexicon 'hedges'); the clause it modifies is the content.",
    examples=("The old mill has reportedly been sold to a developer from the city.",),
    patterns=([{"RIGHT_ID": "cue", "RIGHT_ATTRS": {"LOWER": {"IN": sorted(cues.HEDGES)},
                                                   "DEP": "advmod"}}],),
    build=_hedged)

"""Constructions around a phrase rather than a verb: "…, according to X", "X's claim that
…", and the citing links of a chain ("X, citing Y, reported …")."""

from __future__ import annotations

import re
from typing import Any

from spacy.tokens import Doc, Span

from pipeline.enrich import cues
from pipeline.enrich.found import Found, Range, doc_text
from pipeline.enrich.registry import Construction, Match
from pipeline.enrich.syntax import (
    content_range,
    kind_of,
    source_range,
    span_chars,
    subject,
    subtree,
    trim,
    verb_cue,
    words,
)


def _according_patterns() -> tuple[list[dict[str, Any]], ...]:
    """'according to' -> according . to > pobj (one pattern per form of the lexicon)."""
    out = []
    for form in sorted(cues.ACCORDING_TO):
        parts = form.split()
        nodes: list[dict[str, Any]] = [{"RIGHT_ID": "cue", "RIGHT_ATTRS": {"LOWER": parts[0]}}]
        for k, word in enumerate(parts[1:], 1):
            nodes.append({"LEFT_ID": nodes[-1]["RIGHT_ID"], "REL_OP": ".",
                          "RIGHT_ID": f"w{k}", "RIGHT_ATTRS": {"LOWER": word}})
        nodes.append({"LEFT_ID": nodes[-1]["RIGHT_ID"], "REL_OP": ">", "RIGHT_ID": "source",
                      "RIGHT_ATTRS": {"DEP": "pobj"}})
        out.append(nodes)
    return tuple(out)


def _according(m: Match, sent: Span, doc: Doc) -> Found | None:
    tok, pobj = m["cue"], m["source"]
    last = doc[pobj.head.i]
    phrase = {t.i for t in tok.subtree} | {t.i for t in last.subtree} | {tok.i, last.i}
    rest = [t for t in sent if t.i not in phrase]
    if not rest:
        return None
    before = [t for t in rest if t.i < tok.i]
    after = [t for t in rest if t.i > max(phrase)]
    body = before if words(before) >= 3 else after
    if words(body) < 3 and sent.start > 0:
        body = list(doc[sent.start - 1].sent)  # "…isolation. According to X." style
    if not body:
        return None
    return Found("according_to", content_range(doc, body), (tok.idx, last.idx + len(last)),
                 span_chars(subtree(pobj)))


ACCORDING_TO = Construction(
    name="according_to", type="prepositional",
    description="'…, according to X' (or 'According to X, …'): the rest of the sentence is "
                "the content; alone in its sentence, the sentence before.",
    examples=("The factory will close in June, according to two people who work there.",
              "According to the fire brigade, the blaze started in the kitchen."),
    patterns=_according_patterns(), build=_according)


def _noun_clause(m: Match, sent: Span, doc: Doc) -> Found | None:
    """'his claim that the vote was rigged': a speech noun with a that-clause."""
    noun, clause = m["cue"], m["clause"]
    content = content_range(doc, subtree(clause))
    cue = (noun.idx, noun.idx + len(noun))
    owner = next((c for c in noun.children if c.dep_ == "poss"), None)
    if owner is None:
        prep = next((c for c in noun.children if c.dep_ == "prep" and c.lower_ in {"by", "from",
                                                                                 "of"}), None)
        owner = next((g for g in prep.children if g.dep_ == "pobj"), None) if prep else None
    verb = noun.head.head if noun.dep_ == "pobj" and noun.head.dep_ == "prep" else None
    if owner is None and verb is not None and verb.lemma_.lower() in cues.CUE_VERBS:
        owner, cue = subject(verb), verb_cue(verb)  # "X said in a statement that …"
    return Found(kind_of(doc, content), content, cue, source_range(owner))


NOUN_CLAUSE = Construction(
    name="noun_clause", type="nominal",
    description="A noun of saying with a that-clause: 'the governor's claim that …'; the "
                "possessor or the 'by/from/of' object is the source.",
    examples=("The governor's claim that the budget was balanced drew laughter in the hall.",
              "The ministry said in a statement that the border crossing would reopen on "
              "Monday."),
    patterns=([{"RIGHT_ID": "cue", "RIGHT_ATTRS": {"LEMMA": {"IN": sorted(cues.SPEECH_NOUNS)},
                                                   "POS": "NOUN"}},
               {"LEFT_ID": "cue", "REL_OP": ">", "RIGHT_ID": "clause",
                "RIGHT_ATTRS": {"DEP": {"IN": ["acl", "ccomp"]}}},
               {"LEFT_ID": "clause", "REL_OP": ">", "RIGHT_ID": "that",
                "RIGHT_ATTRS": {"LOWER": "that", "DEP": "mark"}}],),
    build=_noun_clause)


GLOSS = re.compile(r",[”\"’»]?(?=\s+(?:in which|which|where|whose|while)\s)")


def core_claim(doc: Doc, content: Range) -> Range:
    """The cited source's claim without the reporter's trailing gloss (", in which …")."""
    text = doc_text(doc)[content[0]:content[1]]
    cut = [m.end() for m in GLOSS.finditer(text)]
    if cut and cut[-1] > len(text) // 3:
        return trim(doc, content[0], content[0] + cut[-1])
    return content


def _citing(m: Match, sent: Span, doc: Doc, found: list[Found]) -> list[Found]:
    tok = m["cue"]
    return [Found("citing", core_claim(doc, f.content), (tok.idx, tok.idx + len(tok)),
                  source_range(m["source"]), cites_for=f.content)
            for f in found if f.kind != "citing"]


CITING = Construction(
    name="citing", type="chain",
    description="'X, citing Y, reported …': a link from the sentence's report to the source "
                "it cites (the report's cited_via names Y); not a report of its own.",
    examples=("The radio station, citing a police spokesman, said the road was closed.",),
    patterns=([{"RIGHT_ID": "cue", "RIGHT_ATTRS": {"LOWER": {"IN": sorted(cues.CITING)}}},
               {"LEFT_ID": "cue", "REL_OP": ">", "RIGHT_ID": "source",
                "RIGHT_ATTRS": {"DEP": {"IN": ["dobj", "pobj"]}}}],),
    link=_citing)

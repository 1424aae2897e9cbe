"""Constructions around a reporting verb: "X said (that) …", "“…,” X said", "X said: …",
"“…,” said X.", "X called it a …", and verbs whose object is the content ("X condemned
the move", "X called for talks").

The verb constructions are tried in the order of ``pipeline.enrich.rules.CONSTRUCTIONS``;
once one has used a verb, the later ones leave it alone.
"""

from __future__ import annotations

import re
from typing import Any

from spacy.tokens import Doc, Span, Token

from pipeline.enrich import cues
from pipeline.enrich.found import Found, Range, doc_text
from pipeline.enrich.registry import Construction, Match
from pipeline.enrich.syntax import (
    content_child,
    content_range,
    kind_of,
    quotes,
    source_range,
    subject,
    subtree,
    trim,
    verb_cue,
    words,
)

VERB = {"IN": ["VERB", "AUX"]}
ABBREVIATION = re.compile(r"\b(?:[A-Z][a-z]{0,3}|[A-Z](?:\.[A-Z])+)\.")


def _cue(lemmas: frozenset[str] | set[str], pos: dict[str, Any] | None = None
         ) -> dict[str, Any]:
    return {"RIGHT_ID": "cue", "RIGHT_ATTRS": {"LEMMA": {"IN": sorted(lemmas)},
                                               "POS": pos or VERB}}


def _child(right_id: str, attrs: dict[str, Any], left: str = "cue") -> dict[str, Any]:
    return {"LEFT_ID": left, "REL_OP": ">", "RIGHT_ID": right_id, "RIGHT_ATTRS": attrs}


def _passive_without_agent(verb: Token) -> bool:
    passive = any(c.dep_ in {"nsubjpass", "auxpass"} for c in verb.children)
    return passive and subject(verb) is None


def _free(verb: Token) -> bool:
    """A cue verb the complement constructions did not take: no complement, not agentless."""
    return content_child(verb) is None and not _passive_without_agent(verb)


def _found(doc: Doc, content: Range, cue: Range, subj: Token | None) -> Found:
    return Found(kind_of(doc, content), content, cue, source_range(subj))


def _clause(m: Match, sent: Span, doc: Doc) -> Found | None:
    verb = m["cue"]
    if _passive_without_agent(verb):
        return None
    tok = content_child(verb)
    if tok is None or (tok.dep_ == "xcomp" and verb.lemma_.lower() not in cues.COGNITION):
        return None
    toks = subtree(tok)
    if words(toks) < 2:
        return None
    return _found(doc, content_range(doc, toks), verb_cue(verb), subject(verb))


COMPLEMENT = _child("content", {"DEP": {"IN": ["ccomp", "xcomp"]}})

SPEECH_CLAUSE = Construction(
    name="speech_clause", type="reporting verb",
    description="A verb of saying or reporting with a clause complement: the subject said "
                "the clause (with or without 'that', quoted or not).",
    examples=("The mayor said that the bridge would reopen in May.",
              "Our correspondent reported the road had been closed for a week.",
              "She told reporters she had never met the man."),
    patterns=([_cue(cues.SPEECH), COMPLEMENT],), build=_clause)

BELIEF_CLAUSE = Construction(
    name="belief_clause", type="reporting verb",
    description="A verb of thinking, believing or intending with a clause: the subject's "
                "belief or intention.",
    examples=("The farmers believe the new dam will ruin the valley.",
              "Most economists expect interest rates to fall next spring."),
    patterns=([_cue(cues.COGNITION - cues.SPEECH), COMPLEMENT],), build=_clause)


def _infinitive(m: Match, sent: Span, doc: Doc) -> Found | None:
    """'X vowed to appeal' / 'X urged the council to act': the infinitive (with the one
    urged) is the content."""
    verb, inf = m["cue"], m["content"]
    if _passive_without_agent(verb) or not any(c.dep_ == "aux" and c.lower_ == "to"
                                               for c in inf.children):
        return None
    toks = subtree(inf)
    if inf.dep_ == "xcomp":  # "urged the council to act": the council is part of it
        objs = [t for c in verb.children if c.dep_ == "dobj" and c.i < inf.i
                for t in c.subtree]
        toks = sorted(objs + toks, key=lambda t: t.i)
    if words(toks) < 2:
        return None
    return _found(doc, content_range(doc, toks), verb_cue(verb), subject(verb))


INTENT_INFINITIVE = Construction(
    name="intent_infinitive", type="reporting verb",
    description="A verb of committing, urging or refusing with an infinitive: the subject "
                "vowed, urged or declined what the infinitive says.",
    examples=("The union vowed to fight the closure of the plant in court.",
              "The governor urged residents to leave the coast before the storm."),
    patterns=([_cue(cues.INTENT), _child("content", {"DEP": {"IN": ["xcomp", "ccomp"]}})],),
    build=_infinitive)


def _frame_like(verb: Token) -> bool:
    """An adverbial clause that is really a speech frame: after its head, finite, with its
    own subject and no subordinator ("…, he said", not "after he said", "while showing")."""
    return verb.i > verb.head.i and verb.tag_ not in {"VBG", "VBN"} and \
        not any(c.dep_ == "mark" for c in verb.children) and \
        any(c.dep_ == "nsubj" for c in verb.children)


def _frame(m: Match, sent: Span, doc: Doc) -> Found | None:
    """'“…,” he said, …': the verb hangs off the quote; the rest of the sentence is said."""
    verb = m["cue"]
    if not _free(verb) or (verb.dep_ == "advcl" and not _frame_like(verb)):
        return None
    exclude = {t.i for t in verb.subtree}
    toks = [t for t in sent if t.i not in exclude]
    if words(toks) < 2:
        return None
    before = [t for t in toks if t.i < min(exclude)]
    after = [t for t in toks if t.i > max(exclude)]
    if words(before) and words(after):  # "The harvest, the farmers said, was poor": 2 parts
        f = _found(doc, content_range(doc, before), verb_cue(verb), subject(verb))
        f.extra.append(content_range(doc, after))
        f.kind = kind_of(doc, (f.content[0], f.extra[0][1]))
        return f
    return _found(doc, content_range(doc, toks), verb_cue(verb), subject(verb))


QUOTE_FRAME = Construction(
    name="quote_frame", type="quote",
    description="A reporting verb inserted in or after the sentence it reports "
                "(parataxis): the rest of the sentence is the content.",
    examples=("The school, the treasurer said, had no money left for new books.",),
    patterns=([{**_cue(cues.CUE_VERBS), "RIGHT_ATTRS": {
        "LEMMA": {"IN": sorted(cues.CUE_VERBS)}, "POS": VERB,
        "DEP": {"IN": ["parataxis", "advcl"]}}}],),
    build=_frame)


def _colon_after(verb: Token, doc: Doc) -> bool:
    nxt = verb.i + 1
    while nxt < len(doc) and doc[nxt].dep_ in {"prt", "advmod"} and nxt - verb.i < 3:
        nxt += 1
    return nxt < len(doc) and doc[nxt].text == ":"


def _after_colon(verb: Token, doc: Doc) -> Range | None:
    """'X said:' -> the rest of the paragraph, or the next paragraph if the colon ends it."""
    text = doc_text(doc)
    colon = text.find(":", verb.idx)
    start = colon + 1
    para_end = text.find("\n\n", start)
    para_end = len(text) if para_end == -1 else para_end
    if not text[start:para_end].strip():
        start = para_end
        while start < len(text) and text[start].isspace():
            start += 1
        para_end = text.find("\n\n", start)
        para_end = len(text) if para_end == -1 else para_end
    content = trim(doc, start, para_end)
    return content if content[1] - content[0] > 3 else None


def _colon(m: Match, sent: Span, doc: Doc) -> Found | None:
    verb = m["cue"]
    if not _free(verb) or not _colon_after(verb, doc):
        return None
    content = _after_colon(verb, doc)
    if content is None:
        return None
    return _found(doc, content, (verb.idx, doc[verb.i + 1].idx + 1), subject(verb))


COLON_CUE = Construction(
    name="colon_cue", type="quote",
    description="A reporting verb followed by a colon: the rest of the paragraph (or the "
                "next paragraph when the colon ends the line) is the content.",
    examples=("The coach said:\n\n“Nobody leaves this dressing room before the final whistle.”",),
    patterns=([_cue(cues.CUE_VERBS)],), build=_colon)


def _quote_before(verb: Token, doc: Doc) -> Range | None:
    """'“…,” said X.' parsed as two sentences: the quote just before the cue."""
    text = doc_text(doc)
    for qs, qe in reversed(quotes(doc)):
        if qe > verb.idx:
            continue
        between = ABBREVIATION.sub("", text[qe:verb.idx])  # "Ms. Berg said" is one sentence
        close = len(between) <= 60 and "\n" not in between and not any(c in between
                                                                         for c in ".?!")
        if close and (text[qe - 2:qe - 1] in {",", "?", "!", "—"} or text[qe - 1] in ","):
            return qs, qe
        return None
    return None


def _after_quote(m: Match, sent: Span, doc: Doc) -> Found | None:
    verb = m["cue"]
    if not _free(verb):
        return None
    q = _quote_before(verb, doc)
    if q is None:
        return None
    subj = subject(verb)
    if subj is None or q[0] <= subj.idx < q[1]:  # the parse took a word of the quote
        subj = _inverted_subject(verb)
    return Found("direct", q, verb_cue(verb), source_range(subj))


def _inverted_subject(verb: Token) -> Token | None:
    """'“…,” said the mayor': the speaker after the verb (often parsed as its object)."""
    for child in verb.rights:
        if child.dep_ in {"nsubj", "dobj", "attr", "appos", "npadvmod", "oprd", "dative"} \
                and child.pos_ in {"PROPN", "NOUN", "PRON"} and child.ent_type_ != "DATE":
            return child
    return None


QUOTE_BEFORE = Construction(
    name="quote_before", type="quote",
    description="A quote ending in a comma, question or exclamation mark just before the "
                "speech verb (parsed as a sentence of its own): “…,” said X.",
    examples=("“No more delays, no more excuses,” wrote the editor in a furious column.",
              "“It is over for this old mill!” Anna Berg shouted."),
    patterns=([_cue(cues.SPEECH)],), build=_after_quote)


def _call_it(m: Match, sent: Span, doc: Doc) -> Found | None:
    verb = m["cue"]
    if not _free(verb):
        return None
    toks = sorted((t for c in verb.children if c.dep_ in {"dobj", "oprd"} for t in c.subtree),
                  key=lambda t: t.i)
    if words(toks) < 2:
        return None
    return _found(doc, content_range(doc, toks), verb_cue(verb), subject(verb))


CALL_IT = Construction(
    name="call_it", type="nominal",
    description="'X called Y Z': the naming (object and predicate) is the content.",
    examples=("The union called the new contract a betrayal of the workers.",),
    patterns=([_cue({"call"}), _child("oprd", {"DEP": "oprd"})],), build=_call_it)


def _nominal(m: Match, sent: Span, doc: Doc) -> Found | None:
    """'X criticized the plan' / 'X called for a ceasefire': the object is the content."""
    verb, obj = m["cue"], m["obj"]
    if verb.lemma_.lower() in cues.CUE_VERBS and not _free(verb):
        return None
    subj = subject(verb)
    if subj is not None and subj.lower_ in {"which", "that"} and verb.dep_ == "relcl":
        subj = verb.head  # "the documents that show …" -> the documents
    if subj is None or subj.lower_ in {"it", "this", "that", "which", "there"}:
        return None
    if obj.pos_ == "PRON":
        return None
    toks = subtree(obj)
    if words(toks) < 2 and obj.pos_ not in {"PROPN", "NOUN"}:
        return None
    cue = (verb.idx, verb.idx + len(verb))
    if "prep" in m:
        p = m["prep"]
        if cues.NOMINAL.get(verb.lemma_.lower()) != p.lower_:
            return None  # "called for", not "called on"
        cue = (min(verb.idx, p.idx), max(verb.idx + len(verb), p.idx + len(p)))
    return _found(doc, content_range(doc, toks), cue, subj)


def _nominal_patterns() -> tuple[list[dict[str, Any]], ...]:
    """Two patterns: a verb and its object; a verb, a preposition and its object (which
    verb takes which preposition is checked in ``_nominal``: one pattern is faster than
    one per preposition)."""
    plain = {v for v, p in cues.NOMINAL.items() if p is None}
    with_prep = {v for v, p in cues.NOMINAL.items() if p}
    preps = sorted({p for p in cues.NOMINAL.values() if p})
    return ([_cue(plain, {"IN": ["VERB"]}), _child("obj", {"DEP": "dobj"})],
            [_cue(with_prep, {"IN": ["VERB"]}),
             _child("prep", {"DEP": {"IN": ["prep", "prt"]}, "LOWER": {"IN": preps}}),
             _child("obj", {"DEP": {"IN": ["pobj", "pcomp"]}}, "prep")])


NOMINAL_OBJECT = Construction(
    name="nominal_object", type="nominal",
    description="A verb of judging or asking whose object (or prepositional object) is the "
                "content: 'condemned the move', 'called for talks'.",
    examples=("The opposition leader condemned the closure of the rural hospitals.",
              "The teachers called for an independent inquiry into the exam leak."),
    patterns=_nominal_patterns(), build=_nominal)

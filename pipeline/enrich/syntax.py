"""Token and character-range helpers shared by the attribution constructions.

A construction finds tokens (a cue, its subject, its complement); these helpers turn
them into character ranges: the source phrase without relative clauses, the content
with adjacent quote marks and without edge punctuation::

    >>> from pipeline.enrich.nlp import load_model
    >>> doc = load_model()("The newspaper Al-Watan, which is based in Damascus, reported it.")
    >>> doc.text[slice(*source_range(doc[1]))]
    'The newspaper Al-Watan'
"""

from __future__ import annotations

from spacy.tokens import Doc, Token

from pipeline.core.vocabulary import QUOTE_CLOSE, QUOTE_OPEN
from pipeline.enrich.found import Range, doc_text
from pipeline.enrich.quotes import quote_spans

EDGE_PUNCT = ",;:—–-"


def trim(doc: Doc, start: int, end: int) -> Range:
    """The range without surrounding spaces and separating punctuation."""
    text = doc_text(doc)
    while start < end and (text[start].isspace() or text[start] in EDGE_PUNCT):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in EDGE_PUNCT + "."):
        end -= 1
    return start, end


def span_chars(tokens: list[Token]) -> Range:
    return tokens[0].idx, tokens[-1].idx + len(tokens[-1])


def subtree(tok: Token) -> list[Token]:
    return sorted(tok.subtree, key=lambda t: t.i)


def words(tokens: list[Token]) -> int:
    return len([t for t in tokens if not t.is_punct])


def content_range(doc: Doc, tokens: list[Token]) -> Range:
    """Characters of the tokens, with adjacent quote marks, trimmed of edge punctuation."""
    return trim(doc, *extend_quotes(doc, *span_chars(tokens)))


def contiguous(tokens: list[Token], anchor: Token) -> list[Token]:
    """Keep the run of consecutive tokens around ``anchor``."""
    idx = {t.i for t in tokens}
    lo = hi = anchor.i
    while lo - 1 in idx:
        lo -= 1
    while hi + 1 in idx:
        hi += 1
    return [t for t in tokens if lo <= t.i <= hi]


def subject(verb: Token) -> Token | None:
    """The speaker of a verb: its subject, passive agent, or the subject it shares."""
    for child in verb.children:
        if child.dep_ == "nsubj":
            return child
    for child in verb.children:
        if child.dep_ == "agent":
            for gc in child.children:
                if gc.dep_ == "pobj":
                    return gc
    if verb.dep_ in {"conj", "xcomp", "advcl"} and verb.head.pos_ in {"VERB", "AUX"}:
        return subject(verb.head)
    if verb.dep_ == "pcomp" and verb.head.dep_ == "prep" and verb.head.head.pos_ in {"VERB",
                                                                                    "AUX"}:
        return subject(verb.head.head)  # "X sang before asking her …" -> X
    if verb.dep_ == "acl" and verb.head.pos_ in {"NOUN", "PROPN"}:
        return verb.head  # "a statement saying that …"
    return None


def _naming_appos(tok: Token, head: Token) -> bool:
    """'The newspaper Al-Watan': a name in apposition with no comma is part of the phrase."""
    if tok.dep_ != "appos" or tok.head.i != head.i or tok.pos_ != "PROPN":
        return False
    between = [t for t in head.doc[head.i + 1:min(x.i for x in tok.subtree)]]
    return not any(t.is_punct for t in between)


def source_tokens(head: Token) -> list[Token]:
    """The source phrase: the subject's subtree without relative clauses or appositions."""
    inside = {x.i for x in head.subtree}
    keep: list[Token] = []
    for t in sorted(head.subtree, key=lambda t: t.i):
        chain = [a for a in [t, *t.ancestors] if a.i in inside and a.i != head.i]
        if any(a.dep_ in {"relcl", "acl"} or (a.dep_ == "appos" and not _naming_appos(a, head))
               for a in chain):
            continue
        keep.append(t)
    keep = contiguous(keep, head)
    breaks = [i for i, t in enumerate(keep) if "\n" in t.text_with_ws and t.i < head.i]
    if breaks:  # a source never spans a line break ("12:15 p.m.\n\nTrump says")
        keep = keep[breaks[-1] + 1:]
    while keep and (keep[0].is_space or keep[0].is_punct):
        keep = keep[1:]
    while keep and keep[-1].is_punct:
        keep.pop()
    return keep or [head]


def source_range(tok: Token | None) -> Range | None:
    return span_chars(source_tokens(tok)) if tok is not None else None


def content_child(verb: Token) -> Token | None:
    for dep in ("ccomp", "xcomp"):
        for child in verb.children:
            if child.dep_ == dep:
                return child
    return None


def kind_of(doc: Doc, content: Range) -> str:
    """direct (a whole quote), mixed (quote marks inside) or indirect."""
    s = doc_text(doc)[content[0]:content[1]].strip()
    if s and s[0] in QUOTE_OPEN and s[-1] in QUOTE_CLOSE + ".,":
        return "direct"
    if any(q in s for q in "\"“”«»"):
        return "mixed"
    return "indirect"


def verb_cue(verb: Token) -> Range:
    """The verb plus a following particle or auxiliary within two tokens ("pointed out")."""
    toks = [verb] + [c for c in verb.children if c.dep_ in {"aux", "auxpass", "neg", "prt"}
                     and verb.i < c.i <= verb.i + 2]
    return span_chars(sorted(toks, key=lambda t: t.i))


def quotes(doc: Doc) -> list[Range]:
    """The quotation spans of the text (computed once per document)."""
    if "newsflow_quotes" not in doc.user_data:
        doc.user_data["newsflow_quotes"] = quote_spans(doc_text(doc))
    cached: list[Range] = doc.user_data["newsflow_quotes"]
    return cached


def extend_quotes(doc: Doc, start: int, end: int) -> Range:
    """Include an opening or closing quote mark adjacent to the content."""
    text = doc_text(doc)
    if start > 0 and text[start - 1] in QUOTE_OPEN:
        start -= 1
    if end < len(text) and text[end] in QUOTE_CLOSE:
        end += 1
    elif end + 1 < len(text) and text[end] in ",." and text[end + 1] in QUOTE_CLOSE:
        end += 2
    return start, end


def paragraph(text: str, pos: int) -> Range:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return start, len(text) if end == -1 else end

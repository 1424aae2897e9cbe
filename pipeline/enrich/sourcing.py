"""Sourcing transparency: is a source anonymous, and does the article say why?

A source is anonymous when it names nobody and either its head is a word for an unnamed
informant (lexicon ``anonymity.heads``: "a senior official", "people familiar with the
matter", "sources") or the sentence says it is withheld (``anonymity.markers``: "who
asked not to be named", "on condition of anonymity"). The reason is the clause the
sentence gives for it ("because he was not authorized to …")::

    >>> from pipeline.enrich.nlp import load_model
    >>> doc = load_model()("A senior official, who asked not to be named because he was "
    ...                    "not authorized to discuss the talks, said they had failed.")
    >>> anonymity(doc, 0, 17, named=False)
    (True, 'because he was not authorized to discuss the talks')
"""

from __future__ import annotations

import re
from functools import lru_cache

from spacy.tokens import Doc, Span

from pipeline.enrich import cues
from pipeline.enrich.found import doc_text

CLAUSE_END = re.compile(r"[,;:.!?—–()\n\"“”]")


@lru_cache(maxsize=1)
def _markers() -> re.Pattern[str]:
    words = sorted(cues.ANONYMITY_MARKERS, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", re.I)


@lru_cache(maxsize=1)
def _reasons() -> re.Pattern[str]:
    openers = "|".join(re.escape(w) for w in sorted(cues.REASON_OPENERS))
    bare = "|".join(re.escape(w) for w in sorted(cues.BARE_REASONS, key=len, reverse=True))
    return re.compile(rf"\b(?:(?:{openers})\s+\w+\s+(?:was|were|is|are|had|has|did|do|does|"
                      rf"feared|wanted|could|would)\b|(?:{bare}))", re.I)


def _names_a_person(phrase: Span) -> bool:
    """The phrase, or a name in apposition to it, is a person's name."""
    appos = [t for c in phrase.root.children if c.dep_ == "appos" for t in c.subtree]
    return any(t.ent_type_ == "PERSON" for t in [*phrase, *appos])


def _reason(doc: Doc, start: int, end: int) -> str | None:
    """The reason stated after an anonymity marker, up to the end of its clause."""
    text = doc_text(doc)
    m = _reasons().search(text, start, end)
    first = doc.char_span(m.start(), m.end(), alignment_mode="expand") if m else None
    if m is None or first is None:
        return None
    verb = first[0] if first[0].pos_ in {"VERB", "AUX"} else first[0].head
    end = min(end, max(t.idx + len(t) for t in verb.subtree))
    stop = CLAUSE_END.search(text, m.start(), end)
    reason = text[m.start():stop.start() if stop else end].strip()
    return reason if len(reason.split()) >= 3 else None


def anonymity(doc: Doc, start: int, end: int, *, named: bool) -> tuple[bool, str | None]:
    """(anonymous, stated reason) for the source at ``start:end``; ``named``: it resolved
    to a named entity (a person, an organisation, an outlet) of the article."""
    span = doc.char_span(start, end, alignment_mode="expand")
    if span is None or named:
        return False, None
    head = span.root
    low = head.lower_
    if low in cues.PRONOUNS_PERSON | cues.PRONOUNS_GROUP | cues.PRONOUNS_THING \
            or head.pos_ == "PROPN" or _names_a_person(span):
        return False, None
    text = doc_text(doc)
    sent = head.sent
    marker = _markers().search(text, start, sent.end_char)
    if low not in cues.ANONYMOUS_HEADS and marker is None:
        return False, None
    reason = _reason(doc, marker.start(), sent.end_char) if marker else None
    return True, reason

"""Resolve attribution sources to canonical entities and source types, and say which
sources are anonymous (``pipeline.enrich.sourcing``).

"he" -> the last person named before; "the newspaper" -> the last outlet;
"the same source" -> the source of the previous attribution; "a press release
from the Syrian presidency" -> a document of "Syrian presidency"; "Western
analysts" -> a group; "officials" stays an anonymous group.
"""

from __future__ import annotations

from spacy.tokens import Doc

from pipeline.core.contracts import Attribution, Source, Span
from pipeline.core.vocabulary import SOURCE_TYPES
from pipeline.enrich import cues
from pipeline.enrich.entities import EntityIndex, Mention, normalize_name
from pipeline.enrich.found import Found, doc_text
from pipeline.enrich.sourcing import anonymity

ARTICLES = ("the ", "a ", "an ", "some ", "many ", "several ", "other ", "two ", "three ")


def _last(index: EntityIndex, before: int, labels: set[str]) -> Mention | None:
    prior = [m for m in index.mentions if m.end <= before and m.label in labels]
    return prior[-1] if prior else None


def _best_entity(ents: list[Mention], text: str, start: int, end: int) -> Mention | None:
    if not ents:
        return None
    # Skip possessors ("Syria’s Al-Watan"): an entity directly followed by 's.
    owned = [m for m in ents if text[m.end:m.end + 2] not in {"’s", "'s"}] or ents
    rank = {"PERSON": 0, "OUTLET": 1, "ORG": 2, "GPE": 3, "NORP": 4}
    return sorted(owned, key=lambda m: (rank.get(m.label, 5), -m.end))[0]


def _head_word(phrase: str) -> str:
    """The last word before a preposition: 'a press release from X' -> 'release'."""
    head = ""
    for w in phrase.lower().replace("’s", "").split():
        if w in {"of", "from", "by", "at", "in", "for", "with"} and head:
            break
        head = w
    return head.strip(",.;:")


def _plain(phrase: str) -> str:
    p = normalize_name(phrase)
    low = p.lower()
    for art in ARTICLES:
        if low.startswith(art):
            return p[len(art):]
    return p


class SourceResolver:
    """Walks the attributions in order, remembering sources for anaphora."""

    def __init__(self, doc: Doc, index: EntityIndex) -> None:
        self.doc, self.index, self.text = doc, index, doc_text(doc)
        self.previous: Source | None = None

    def resolve(self, start: int, end: int) -> Source:
        phrase = self.text[start:end]
        low = phrase.lower().strip()
        canonical, typ = self._classify(low, phrase, start, end)
        named = canonical is not None and typ in {"person", "outlet", "document"}
        anonymous, reason = anonymity(self.doc, start, end, named=named)
        src = Source(text=phrase, start=start, end=end, canonical=canonical, type=typ,  # type: ignore[arg-type]
                     anonymous=anonymous, anonymity_reason=reason)
        self.previous = src
        return src

    def _classify(self, low: str, phrase: str, start: int, end: int) -> tuple[str | None, str]:
        if low in cues.ANAPHORIC_SOURCES and self.previous is not None:
            return self.previous.canonical, self.previous.type
        if low in cues.PRONOUNS_PERSON:
            m = _last(self.index, start, {"PERSON"})
            return (m.canonical, "person") if m else (None, "person")
        if low in cues.PRONOUNS_THING:
            m = _last(self.index, start, {"OUTLET", "ORG"})
            return (m.canonical, SOURCE_TYPES[m.label]) if m else (None, "unnamed")
        if low in cues.PRONOUNS_GROUP or low in {"we", "i", "you"}:
            if self.previous is not None and low in cues.PRONOUNS_GROUP and \
                    self.previous.type in {"group", "organization", "outlet"}:
                return self.previous.canonical, self.previous.type
            return None, "unnamed"
        head = _head_word(phrase)
        inside = self.index.at(start, end)
        if not inside and low.startswith("the ") and head in cues.OUTLET_NOUNS:
            m = _last(self.index, start, {"OUTLET"})
            return (m.canonical, "outlet") if m else (None, "outlet")
        if not inside and low.startswith("the ") and head in cues.INSTITUTION_NOUNS:
            # "the ministry" -> the last organisation with that word in its name
            prior = [m for m in self.index.mentions if m.end <= start and m.label == "ORG"
                     and head in m.text.lower().split()]
            if prior:
                return prior[-1].canonical, "organization"
        ents = [m for m in inside if m.label != "NORP" or head == m.text.lower()]
        best = _best_entity(ents, self.text, start, end)
        if head in cues.DOCUMENT_NOUNS:
            return (best.canonical if best else _plain(phrase)), "document"
        if best is not None:
            return best.canonical, SOURCE_TYPES.get(best.label, "organization")
        if head in cues.GROUP_NOUNS or (head.endswith("s") and not low.startswith("the ")):
            return _plain(phrase), "group"
        return _plain(phrase), "unnamed"


def resolve_all(found: list[Found], doc: Doc, index: EntityIndex) -> list[Attribution]:
    resolver = SourceResolver(doc, index)
    text = doc_text(doc)
    out: list[Attribution] = []
    by_content: dict[tuple[int, int], Attribution] = {}
    for f in sorted(found, key=lambda f: ((f.source or f.cue or f.content)[0], f.kind == "citing")):
        source = resolver.resolve(*f.source) if f.source else None
        cue = Span(text=text[f.cue[0]:f.cue[1]], start=f.cue[0], end=f.cue[1]) if f.cue else None
        start, end = f.content
        parts = None
        if f.extra:
            parts = [list(f.content), *[list(r) for r in f.extra]]
            end = max(end, *(e for _, e in f.extra))
        content = Span(text=text[start:end], start=start, end=end, spans=parts)
        att = Attribution(kind=f.kind, source=source, cue=cue, content=content,  # type: ignore[arg-type]
                          rule=f.rule, stance=f.stance)
        if f.cites_for in by_content and source and source.canonical:
            by_content[f.cites_for].cited_via.append(source.canonical)
        if f.kind != "citing":
            by_content.setdefault(f.content, att)
        out.append(att)
    return sorted(out, key=lambda a: (a.content.start, a.kind == "citing"))

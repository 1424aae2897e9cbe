"""The passes after the constructions, as two explicit ordered lists.

``SENTENCE_PASSES`` run on what the constructions found in one sentence;
``POST_PASSES`` on the whole document's attributions, in this order:

1. ``inside_quotes`` drops attributions nested in someone's quote ("I think", "they said");
2. ``whole_quotes`` grows a content cut inside a quote to the whole quote;
3. ``continuation`` adds the next quote of a split quote (“One,” she said. “Two.”);
4. ``orphan_quotes`` adds quotes no attribution covers, credited to a nearby speaker;
5. ``second_hand`` drops attributions whose cue is inside another one's content;
6. ``stance`` gives each attribution its cue's stance (lexicon ``stance``);
7. ``in_text_order`` sorts by position.

    >>> [p.name for p in POST_PASSES]  # doctest: +NORMALIZE_WHITESPACE
    ['inside_quotes', 'whole_quotes', 'continuation', 'orphan_quotes', 'second_hand', 'stance',
     'in_text_order']
"""

from __future__ import annotations

from spacy.tokens import Doc

from pipeline.core.vocabulary import QUOTE_CLOSE
from pipeline.enrich import cues
from pipeline.enrich.found import Found, Range, doc_text
from pipeline.enrich.registry import PostPass
from pipeline.enrich.syntax import paragraph, quotes


def _chain_links(doc: Doc, found: list[Found]) -> list[Found]:
    """A 'citing X' link replaces any report found on the same cue word."""
    link_cues = {f.cue for f in found if f.kind == "citing"}
    return [f for f in found if f.kind == "citing" or f.cue not in link_cues]


def _dedupe(doc: Doc, found: list[Found]) -> list[Found]:
    """One attribution per cue and kind: the one with the longest content."""
    out: list[Found] = []
    for f in sorted(found, key=lambda f: -(f.content[1] - f.content[0])):
        if any(g.cue == f.cue and g.kind == f.kind for g in out):
            continue
        out.append(f)
    return sorted(out, key=lambda f: f.content[0])


SENTENCE_PASSES: tuple[PostPass, ...] = (
    PostPass("chain_links", _chain_links.__doc__ or "", _chain_links),
    PostPass("dedupe", _dedupe.__doc__ or "", _dedupe),
)


LAYOUT_RULES = {"speaker_label", "dash_credit"}


def _inside_quotes(doc: Doc, found: list[Found]) -> list[Found]:
    """An attribution wholly inside someone's quote ("“I think they said it was over,” X
    said") is the quoted speaker's hedge or second-hand report, not the article's: the
    quote itself is the attribution. (On PolNeAR dev, 87% of these were not in the gold.)"""
    spans = quotes(doc)

    def nested(f: Found) -> bool:
        if f.cue is None or f.rule in LAYOUT_RULES:
            return False
        return any(qs < f.cue[0] < qe and qs <= f.content[0] and f.content[1] <= qe
                   for qs, qe in spans)

    return [f for f in found if not nested(f)]


def _whole_quotes(doc: Doc, found: list[Found]) -> list[Found]:
    """A content cut inside a quote grows to the whole quote (multi-sentence quotes)."""
    for f in found:
        if f.kind in {"citing", "according_to"} or f.rule in LAYOUT_RULES:
            continue  # a layout credit is exactly its quote
        start, end = f.content
        for qs, qe in quotes(doc):
            overlaps = qs < end and qe > start
            cue_inside = f.cue is not None and qs <= f.cue[0] < qe
            if overlaps and not cue_inside and (qs < start or qe > end) and qe - qs < 3000:
                start, end = min(start, qs), max(end, qe)
        f.content = (start, end)
    return found


def _continuation(doc: Doc, found: list[Found]) -> list[Found]:
    """'“Part one,” she said. “Part two.”': the second quote continues the first."""
    text = doc_text(doc)
    for f in found:
        if f.cue is None or f.extra or f.rule in LAYOUT_RULES or f.content[1] > f.cue[0] or \
                text[f.content[1] - 1] not in QUOTE_CLOSE + ",'":
            continue
        for qs, qe in quotes(doc):
            if qs <= f.cue[1]:
                continue
            between = text[f.cue[1]:qs]
            if "\n\n" not in between and len(between) < 60 and between.count(".") <= 1:
                f.extra.append((qs, qe))
            break
    return found


MAX_CONTINUATION = 600  # characters from the last attribution to a quote that continues it


def _orphan_quotes(doc: Doc, found: list[Found]) -> list[Found]:
    """Quotes of six words or more covered by no attribution: the nearby speaker's."""
    text = doc_text(doc)
    covered = [f.content for f in found] + [r for f in found for r in f.extra]
    spans = quotes(doc)
    speakers = [f for f in found if f.source is not None and _speaker(text, f.source, spans)]
    out = []
    for start, end in spans:
        if any(s <= start and end <= e for s, e in covered):
            continue
        if len(text[start:end].split()) < 6:
            continue
        out.append(Found("direct", (start, end), None, _nearby_speaker(text, start, speakers),
                         rule="orphan_quote"))
    return found + out


PRONOUNS = cues.PRONOUNS_PERSON | cues.PRONOUNS_GROUP | cues.PRONOUNS_THING


def _speaker(text: str, source: Range, spans: list[Range]) -> bool:
    """A source that can speak a quote: not itself inside a quote, not "I"/"you"/"we"."""
    if any(qs <= source[0] < qe for qs, qe in spans):
        return False
    return text[source[0]:source[1]].lower() not in {"i", "you", "we", "me", "us"}


def _nearby_speaker(text: str, pos: int, found: list[Found]) -> Range | None:
    """The speaker of a quote with no cue: one named in its paragraph, else the speaker
    of the last attribution before it (a quote paragraph continues its speaker)."""
    p0, p1 = paragraph(text, pos)
    sources = [f.source for f in found if f.source is not None]
    same = [s for s in sources if p0 <= s[0] < p1]
    named = [s for s in same if text[s[0]:s[1]].lower() not in PRONOUNS]
    if named or same:  # a name before a pronoun: "Warren said. “…” she said. “…”"
        return min(named or same, key=lambda s: abs(s[0] - pos))
    before = [f for f in found if f.source is not None and f.content[1] <= pos]
    if before:
        last = max(before, key=lambda f: f.content[1])
        if pos - last.content[1] < MAX_CONTINUATION:
            return last.source
    return None


def _second_hand(doc: Doc, found: list[Found]) -> list[Found]:
    """An attribution whose cue is inside another attribution's content ("The mayor said
    the governor plans to close the port") is the outer source's report about the inner
    one, not the inner source's own statement: only the outer attribution is kept, so the
    governor is not credited with words he may never have said. Layout credits are kept.
    (On PolNeAR dev, 78% of these were not in the gold; dropping them raised lenient F1
    by 0.028.)"""

    def second_hand(f: Found) -> bool:
        if f.cue is None or f.rule in LAYOUT_RULES:
            return False
        return any(g is not f and g.content != f.content and g.content[0] <= f.content[0]
                   and f.content[1] <= g.content[1] and g.content[0] <= f.cue[0] < g.content[1]
                   for g in found)

    return [f for f in found if not second_hand(f)]


def _stance(doc: Doc, found: list[Found]) -> list[Found]:
    """The stance of each cue, from the lemmas of its words (lexicon ``stance``)."""
    for f in found:
        if f.cue is None:
            continue
        span = doc.char_span(*f.cue, alignment_mode="expand")
        lemmas = " ".join(t.lemma_.lower() for t in span) if span is not None else ""
        f.stance = cues.stance_of(lemmas or doc_text(doc)[f.cue[0]:f.cue[1]])
    return found


def _in_text_order(doc: Doc, found: list[Found]) -> list[Found]:
    """Attributions in the order of their contents."""
    return sorted(found, key=lambda f: f.content[0])


POST_PASSES: tuple[PostPass, ...] = (
    PostPass("inside_quotes", _inside_quotes.__doc__ or "", _inside_quotes),
    PostPass("whole_quotes", _whole_quotes.__doc__ or "", _whole_quotes),
    PostPass("continuation", _continuation.__doc__ or "", _continuation),
    PostPass("orphan_quotes", _orphan_quotes.__doc__ or "", _orphan_quotes,
             adds="orphan_quote", examples=(
        "“We will not sell the farm to anyone, not now and not ever.”",)),
    PostPass("second_hand", _second_hand.__doc__ or "", _second_hand),
    PostPass("stance", _stance.__doc__ or "", _stance),
    PostPass("in_text_order", _in_text_order.__doc__ or "", _in_text_order),
)

"""Source attribution inside the text: who said, reported or was cited for what.

The engine runs the registered constructions (``pipeline.enrich.rules.CONSTRUCTIONS``,
spaCy DependencyMatcher patterns and small functions over the dependency parse, with
their words in ``rules/lexicon.yaml``) sentence by sentence, then the ordered post-passes
(``pipeline.enrich.postpass``). Each attribution found says which rule found it; the
sources are resolved to the article's canonical entities afterwards
(``pipeline.enrich.resolve``)::

    >>> from pipeline.enrich.nlp import load_model
    >>> doc = load_model()("The minister said the talks had failed.")
    >>> [(doc.text[slice(*f.source)], f.rule) for f in find_raw(doc) if f.source]
    [('The minister', 'speech_clause')]
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict

from spacy.tokens import Doc, Span

from pipeline.enrich.found import Found, doc_text
from pipeline.enrich.postpass import POST_PASSES, SENTENCE_PASSES
from pipeline.enrich.registry import Construction, Match, matches
from pipeline.enrich.rules import CONSTRUCTIONS


def _tag(found: list[Found], rule: str) -> list[Found]:
    for f in found:
        f.rule = f.rule or rule
    return found


def find_in_sentence(sent: Span, doc: Doc, found_by: dict[str, list[Match]],
                     constructions: tuple[Construction, ...] = CONSTRUCTIONS) -> list[Found]:
    """Run the sentence constructions in order; a cue word serves the first that uses it."""
    found: list[Found] = []
    used: set[int] = set()  # cue start offsets already taken

    def take(f: Found | None, rule: str) -> None:
        if f is None or (f.cue is not None and f.cue[0] in used):
            return
        if f.cue is not None:
            used.add(f.cue[0])
        found.extend(_tag([f], rule))

    for c in constructions:
        if c.build is not None:
            for m in found_by.get(c.name, []):
                if m["cue"].idx not in used:
                    take(c.build(m, sent, doc), c.name)
        elif c.find is not None:
            for f in c.find(sent, doc):
                take(f, c.name)
    for c in constructions:
        if c.link is not None:
            for m in found_by.get(c.name, []):
                found.extend(_tag(c.link(m, sent, doc, found), c.name))
    for p in SENTENCE_PASSES:
        found = p.run(doc, found)
    return found


def _by_sentence(doc: Doc, sents: list[Span]) -> list[dict[str, list[Match]]]:
    """The pattern matches of the document, grouped by the sentence of their cue."""
    starts = [s.start for s in sents]
    out: list[dict[str, list[Match]]] = [defaultdict(list) for _ in sents]
    for name, ms in matches(doc, CONSTRUCTIONS).items():
        for m in ms:
            out[bisect_right(starts, m["cue"].i) - 1][name].append(m)
    return out


def find_raw(doc: Doc) -> list[Found]:
    """Every attribution of ``doc`` with character ranges, sources unresolved."""
    text = doc_text(doc)
    out: list[Found] = []
    for c in CONSTRUCTIONS:
        if c.find_text is not None:
            out.extend(_tag(c.find_text(text), c.name))
    labelled = [f.content for f in out]
    sents = list(doc.sents)
    for sent, found_by in zip(sents, _by_sentence(doc, sents), strict=True):
        if any(s <= sent.start_char < e for s, e in labelled):
            continue
        out.extend(find_in_sentence(sent, doc, found_by))
    for p in POST_PASSES:
        out = p.run(doc, out)
    return out

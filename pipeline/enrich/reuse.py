"""Enrichment of copies, derived from their original's instead of running spaCy again.

A syndicated copy says what its original says, with a dateline, a cut or a copy-edit of
difference. Its entities and attributions are the original's, re-anchored to the copy's
offsets: the two texts are aligned word by word (``difflib``), every span is moved along
its aligned run and kept only if the copy has exactly its text there (else looked for
near where it should be); what cannot be found is dropped::

    >>> from pipeline.core.contracts import Entity, Provenance
    >>> text = ("Russian President Vladimir Putin met Syrian leader Bashar al-Assad in Moscow "
    ...         "on Wednesday for talks on the war and on relations with Turkey.")
    >>> original = EnrichedArticle(id="a", text=text, entities=[Entity(
    ...     text="Bashar al-Assad", label="PERSON", start=51, end=66,
    ...     canonical="Bashar al-Assad", key="person:bashar al-assad")])
    >>> copy = derive(original, RawArticle.new(url="https://x.example/b", text="MOSCOW (AFP) "
    ...               "— " + text, provenance=Provenance(connector="t", source="t")))
    >>> [(e.start, copy.text[e.start:e.end]) for e in copy.entities]
    [(66, 'Bashar al-Assad')]

:class:`ReusingEnricher` runs a batch of assigned articles: originals (and copies whose
original it does not hold) through the :class:`~pipeline.enrich.article.Enricher`, the
others derived from the originals it keeps (a bounded, most-recent cache).
"""

from __future__ import annotations

import bisect
import logging
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, TypeVar

from prometheus_client import Counter
from pydantic import BaseModel

from pipeline.core.contracts import (
    AssignedArticle,
    Attribution,
    EnrichedArticle,
    Entity,
    RawArticle,
    Span,
)
from pipeline.core.errors import EnrichmentError
from pipeline.core.text import clean_text
from pipeline.enrich.article import Enricher, _summary
from pipeline.enrich.places import link_entities

log = logging.getLogger("newsflow.enrich")
REUSED = Counter("newsflow_enrichment_reused_total",
                 "Copies whose enrichment was derived from their original's, not spaCy's")
TOKEN = re.compile(r"\S+")
NEAR = 300  # characters around the expected place a span's text is looked for
COVERAGE = 0.85  # share of the copy's words that must be its original's to derive it


class NotDerivable(EnrichmentError):
    """The copy says too much its original does not: it is enriched on its own."""
S = TypeVar("S", bound=BaseModel)


@dataclass
class Aligner:
    """Maps character offsets of one text to another, along their common word runs."""

    source: str
    target: str

    def __post_init__(self) -> None:
        a = [(m.start(), m.end()) for m in TOKEN.finditer(self.source)]
        b = [(m.start(), m.end()) for m in TOKEN.finditer(self.target)]
        words_a = [self.source[s:e] for s, e in a]
        words_b = [self.target[s:e] for s, e in b]
        self.starts = [s for s, _ in a]
        self.a, self.b = a, b
        # source token index -> target token index, for every token of a common run
        self.to: dict[int, int] = {}
        matcher = SequenceMatcher(None, words_a, words_b, autojunk=False)
        for i, j, n in matcher.get_matching_blocks():
            for k in range(n):
                self.to[i + k] = j + k
        self.coverage = len(self.to) / len(b) if b else 1.0

    def _token(self, offset: int) -> int:
        return max(0, bisect.bisect_right(self.starts, offset) - 1)

    def _guess(self, offset: int) -> int:
        """Where ``offset`` should be in the target: by the nearest aligned token before."""
        t = self._token(offset)
        while t >= 0 and t not in self.to:
            t -= 1
        if t < 0:
            return offset
        return self.b[self.to[t]][0] + (offset - self.a[t][0])

    def span(self, start: int, end: int) -> tuple[int, int] | None:
        """The target offsets of source ``[start, end)``, if the target has that text."""
        text = self.source[start:end]
        if not text:
            return None
        ts, te = self._token(start), self._token(max(start, end - 1))
        if ts in self.to and te in self.to:
            ns = self.b[self.to[ts]][0] + (start - self.a[ts][0])
            ne = self.b[self.to[te]][0] + (end - self.a[te][0])
            if self.target[ns:ne] == text:
                return ns, ne
        guess = self._guess(start)
        lo = max(0, guess - NEAR)
        window = self.target[lo:guess + NEAR + len(text)]
        found = [m.start() + lo for m in re.finditer(re.escape(text), window)]
        if not found:
            return None
        ns = min(found, key=lambda p: abs(p - guess))
        return ns, ns + len(text)


def _moved(span: S | None, al: Aligner) -> S | None:
    """A span (any Span model, extra fields kept) at its place in the target, or None."""
    if span is None:
        return None
    assert isinstance(span, Span)
    parts = span.spans
    if parts:
        moved = [al.span(s, e) for s, e in parts]
        if any(p is None for p in moved):
            return None
        new_parts = [list(p) for p in moved if p is not None]
        start, end = new_parts[0][0], new_parts[-1][1]
        if end < start:
            return None
        return span.model_copy(update={"start": start, "end": end, "spans": new_parts,
                                       "text": al.target[start:end]})
    where = al.span(span.start, span.end)
    if where is None:
        return None
    return span.model_copy(update={"start": where[0], "end": where[1]})


def _attribution(att: Attribution, al: Aligner) -> Attribution | None:
    content = _moved(att.content, al)
    source = _moved(att.source, al)
    cue = _moved(att.cue, al)
    if content is None or (att.source and source is None) or (att.cue and cue is None):
        return None
    return att.model_copy(update={"content": content, "source": source, "cue": cue})


def _entity(ent: Entity, al: Aligner) -> Entity | None:
    where = al.span(ent.start, ent.end)
    return ent.model_copy(update={"start": where[0], "end": where[1]}) if where else None


def _fields(raw: RawArticle) -> dict[str, Any]:
    """What a copy keeps of its own: everything but the enrichment."""
    data = raw.model_dump(exclude={"schema_version", "content_hash", "language"})
    for key in ("title", "text", "summary"):
        if data.get(key):
            data[key] = clean_text(data[key])
    return data


def derive(original: EnrichedArticle, raw: RawArticle) -> EnrichedArticle:
    """The copy's enrichment from its original's (language, entities and their places,
    attributions); the main place is the copy's own (its dateline may differ)."""
    fields = _fields(raw)
    al = Aligner(original.text, fields["text"])
    if al.coverage < COVERAGE:
        raise NotDerivable(f"article {raw.id}: {al.coverage:.0%} of its words are its "
                           f"original's, under {COVERAGE:.0%}")
    entities = [e for e in (_entity(x, al) for x in original.entities) if e is not None]
    entities, main_place = link_entities(fields["text"], entities)  # the copy's dateline
    attributions = [a for a in (_attribution(x, al) for x in original.attributions)
                    if a is not None]
    sources = sorted({a.source.canonical for a in attributions
                      if a.source and a.source.canonical})
    return EnrichedArticle(**fields, language=original.language,
                           language_confidence=original.language_confidence,
                           entities=entities, entity_summary=_summary(entities,
                                                                      len(fields["text"])),
                           attributions=attributions, attributed_sources=sources,
                           main_place=main_place,
                           enrichment_version=original.enrichment_version)


class ReusingEnricher:
    """Enriches assigned articles, deriving copies from the originals it holds."""

    def __init__(self, enricher: Enricher, *, keep: int = 1024) -> None:
        self.enricher = enricher
        self.keep = keep
        self.cache: OrderedDict[str, EnrichedArticle] = OrderedDict()
        self.derived = 0
        self.enriched = 0

    def _remember(self, art: EnrichedArticle) -> None:
        self.cache[art.id] = art
        self.cache.move_to_end(art.id)
        while len(self.cache) > self.keep:
            self.cache.popitem(last=False)

    def enrich(self, items: Sequence[AssignedArticle]
               ) -> list[EnrichedArticle | EnrichmentError]:
        """Enrich a batch in order; a failing article yields its error, the others go on.

        Copies whose original is held (or comes earlier in the batch) are derived; the
        others, and copies that cannot be derived, go through spaCy together.
        """
        out: list[EnrichedArticle | EnrichmentError | None] = [None] * len(items)
        ids = {it.article.id for it in items}
        copies = [i for i, it in enumerate(items)
                  if it.copy_of and (it.copy_of in self.cache or it.copy_of in ids)]
        fresh = [i for i in range(len(items)) if i not in set(copies)]
        self._run(items, fresh, out)
        failed = []
        for i in copies:  # in order: a copy may come after its original in the batch
            it = items[i]
            original = self.cache.get(it.copy_of or "")
            try:
                if original is None:
                    raise NotDerivable(f"article {it.article.id}: original not enriched")
                out[i] = self._stamp(derive(original, it.article), it)
                self.derived += 1
            except Exception:  # noqa: BLE001 - a copy that cannot be derived goes to spaCy
                failed.append(i)
        self._run(items, failed, out)
        if copies:
            REUSED.inc(len(copies) - len(failed))
            log.info("%d of %d copies derived from their original's enrichment",
                     len(copies) - len(failed), len(copies))
        return [o for o in out if o is not None]

    def _run(self, items: Sequence[AssignedArticle], which: list[int],
             out: list[EnrichedArticle | EnrichmentError | None]) -> None:
        if not which:
            return
        results = self.enricher.enrich([items[i].article for i in which])
        for i, res in zip(which, results, strict=True):
            out[i] = self._stamp(res, items[i])
        self.enriched += len(which)

    def _stamp(self, res: EnrichedArticle | EnrichmentError, item: AssignedArticle
               ) -> EnrichedArticle | EnrichmentError:
        if isinstance(res, EnrichmentError):
            return res
        res = res.model_copy(update={"story": item.story, "copy_of": item.copy_of,
                                     "similarity": item.similarity, "wire": item.wire})
        self._remember(res)
        return res

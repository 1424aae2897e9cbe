"""Enrich articles: language, canonical entities, source attribution, provenance.

The same code serves the Faust agent and ``newsflow enrich``::

    >>> [art] = Enricher().enrich([{"id": "1", "text": "The minister said the talks had failed."}])
    >>> [(a.kind, a.source.text, a.content.text) for a in art.attributions]
    [('indirect', 'The minister', 'the talks had failed')]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from pipeline.core.contracts import EnrichedArticle, Entity, EntitySummary, RawArticle
from pipeline.core.errors import EnrichmentError
from pipeline.core.text import clean_text
from pipeline.enrich.attribution import find_raw
from pipeline.enrich.entities import EntityIndex, canonicalise, entity_key
from pipeline.enrich.found import doc_text
from pipeline.enrich.nlp import detect_language, load_model
from pipeline.enrich.resolve import resolve_all

MAX_TEXT_CHARS = 1_000_000
ENGLISH_MIN_CONFIDENCE = 0.5


def _entities(index: EntityIndex) -> list[Entity]:
    return [Entity(text=m.text, label=m.label, start=m.start, end=m.end, canonical=m.canonical,
                   key=entity_key(m.canonical, m.label)) for m in index.mentions]


def _summary(entities: list[Entity], length: int) -> list[EntitySummary]:
    groups: dict[str, list[Entity]] = defaultdict(list)
    for e in entities:
        groups[e.key].append(e)
    if not groups:
        return []
    most = max(len(v) for v in groups.values())
    out = []
    for key, ms in groups.items():
        first = min(m.start for m in ms)
        salience = 0.7 * len(ms) / most + 0.3 * (1 - first / max(length, 1))
        out.append(EntitySummary(canonical=ms[0].canonical, label=ms[0].label, key=key,
                                 mentions=len(ms), first_offset=first,
                                 salience=round(salience, 4), outlet=ms[0].label == "OUTLET"))
    return sorted(out, key=lambda s: -s.salience)


def _as_fields(item: RawArticle | dict[str, Any]) -> dict[str, Any]:
    if isinstance(item, RawArticle):
        data = item.model_dump()
        data.pop("schema_version", None)
        data.pop("content_hash", None)
        data.pop("language", None)
        return data
    if not isinstance(item.get("text"), str) or not item.get("id"):
        raise EnrichmentError("an input needs a string 'id' and a string 'text'")
    keep = {"id", "text", "title", "url", "summary", "authors", "published_at", "tags"}
    data = {k: v for k, v in item.items() if k in keep}
    data["id"] = str(data["id"])
    if isinstance(item.get("source"), str):
        data["tags"] = [*data.get("tags", []), f"source:{item['source']}"]
    return data


class Enricher:
    """Runs the whole enrichment on batches of articles with one spaCy model."""

    def __init__(self, nlp: Language | None = None, *, batch_size: int = 16,
                 model: str | None = None) -> None:
        self.nlp = nlp or load_model(model)
        self.batch_size = batch_size

    def enrich(self, items: Sequence[RawArticle | dict[str, Any]]
               ) -> list[EnrichedArticle | EnrichmentError]:
        """Enrich a batch; a failing article yields its error, the others go on."""
        prepared: list[dict[str, Any] | EnrichmentError] = []
        for item in items:
            try:
                prepared.append(self._prepare(item))
            except EnrichmentError as exc:
                prepared.append(exc)
        english = [p for p in prepared if isinstance(p, dict) and p["language"] == "en"]
        # A memory zone frees the strings this batch added to the vocabulary when it ends,
        # so a long-running worker does not grow with every new word it has seen; no Doc
        # outlives the zone (results are plain pydantic models).
        with self.nlp.memory_zone():
            docs = self.nlp.pipe((p["text"] for p in english), batch_size=self.batch_size)
            by_id: dict[int, Doc] = {id(p): d for p, d in zip(english, docs, strict=True)}
            out = [p if isinstance(p, EnrichmentError) else self._safe_finish(p, by_id)
                   for p in prepared]
        return out

    def _safe_finish(self, p: dict[str, Any], by_id: dict[int, Doc]
                     ) -> EnrichedArticle | EnrichmentError:
        try:
            return self._finish(p, by_id.get(id(p)))
        except Exception as exc:  # noqa: BLE001 - one article must not sink the batch
            return EnrichmentError(f"article {p.get('id')}: {type(exc).__name__}: {exc}")

    def _prepare(self, item: RawArticle | dict[str, Any]) -> dict[str, Any]:
        fields = _as_fields(item)
        for key in ("title", "text", "summary"):  # stored text == enriched text
            if fields.get(key):
                fields[key] = clean_text(fields[key])
        text = fields["text"]
        if len(text) > MAX_TEXT_CHARS:
            raise EnrichmentError(f"article {fields['id']}: text has {len(text):,} characters, "
                                  f"over the limit of {MAX_TEXT_CHARS:,}")
        lang, conf = detect_language(f"{fields.get('title') or ''}\n{text}")
        hint = item.language if isinstance(item, RawArticle) else None
        if lang != "en" or conf < ENGLISH_MIN_CONFIDENCE:
            lang = lang if conf >= ENGLISH_MIN_CONFIDENCE else (hint or lang)
        fields["language"], fields["language_confidence"] = lang, round(conf, 4)
        if lang == "en" and conf < ENGLISH_MIN_CONFIDENCE:
            fields["language"] = "und"
        return fields

    def _finish(self, fields: dict[str, Any], doc: Doc | None) -> EnrichedArticle:
        if doc is None:  # not English: indexed with its language, no English-only enrichment
            return EnrichedArticle(**fields)
        provenance = fields.get("provenance") or {}
        publishers = {p for p in (provenance.get("publisher"), provenance.get("source")) if p}
        index = canonicalise(doc, publishers=publishers)
        entities = _entities(index)
        attributions = resolve_all(find_raw(doc), doc, index)
        sources = sorted({a.source.canonical for a in attributions
                          if a.source and a.source.canonical})
        return EnrichedArticle(**fields, entities=entities,
                               entity_summary=_summary(entities, len(doc_text(doc))),
                               attributions=attributions, attributed_sources=sources)


def enrich_lines(enricher: Enricher, lines: Iterable[dict[str, Any]],
                 *, batch: int = 32) -> Iterable[EnrichedArticle | EnrichmentError]:
    """Stream helper for the CLI: enrich dicts in batches, preserving order."""
    buf: list[dict[str, Any]] = []
    for line in lines:
        buf.append(line)
        if len(buf) >= batch:
            yield from enricher.enrich(buf)
            buf = []
    if buf:
        yield from enricher.enrich(buf)

"""Enrich articles: language, canonical entities and their places, source attribution,
provenance.

The same code serves the Faust agent and ``newsflow enrich``::

    >>> [art] = Enricher().enrich([{"id": "1", "text": "The minister said the talks had failed."}])
    >>> [(a.kind, a.source.text, a.content.text) for a in art.attributions]
    [('indirect', 'The minister', 'the talks had failed')]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.core.contracts import (
    EnrichedArticle,
    Entity,
    EntitySummary,
    Provenance,
    RawArticle,
)
from pipeline.core.errors import EnrichmentError
from pipeline.core.text import clean_text
from pipeline.enrich.attribution import find_raw
from pipeline.enrich.entities import EntityIndex, canonicalise, entity_key
from pipeline.enrich.found import doc_text
from pipeline.enrich.nlp import detect_language, load_model
from pipeline.enrich.places import link_entities
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


def _id_text(value: object) -> object:
    """An integer id as text (a bool is no id); anything else is left to validation."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class ArticleInput(BaseModel):
    """An article to enrich given as a mapping, e.g. a line of ``newsflow enrich``.

    Unknown keys are ignored; a known key of the wrong type is an error. Without a
    ``provenance``, one is made (connector "offline", ``source`` or "newsflow enrich",
    ``publisher``); a given one without a publisher takes ``publisher``. ``source`` is
    also kept as the tag ``source:<source>``::

        >>> ArticleInput(id=7, text="Hi.", publisher="X").fields()["provenance"]["publisher"]
        'X'
    """

    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, BeforeValidator(_id_text), Field(min_length=1)]
    text: str
    title: str | None = None
    url: str | None = None
    canonical_url: str | None = None
    summary: str | None = None
    authors: list[str] = Field(default_factory=list)
    published_at: datetime | None = None
    tags: list[str] = Field(default_factory=list)
    source: str | None = None
    publisher: str | None = None
    provenance: Provenance | None = None

    def fields(self) -> dict[str, Any]:
        """The fields an :class:`EnrichedArticle` takes from this input."""
        data = self.model_dump(exclude={"source", "publisher", "provenance"})
        if self.source:
            data["tags"] = [*self.tags, f"source:{self.source}"]
        data["provenance"] = self._provenance().model_dump()
        return data

    def _provenance(self) -> Provenance:
        if self.provenance is None:
            return Provenance(connector="offline", source=self.source or "newsflow enrich",
                              publisher=self.publisher)
        if self.publisher and not self.provenance.publisher:
            return self.provenance.model_copy(update={"publisher": self.publisher})
        return self.provenance


def input_problems(exc: ValidationError) -> str:
    """A validation error in one line: ``field: problem; ...`` (at most three)."""
    parts = [": ".join(filter(None, (".".join(str(x) for x in e["loc"]), e["msg"])))
             for e in exc.errors()[:3]]
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _as_fields(item: RawArticle | ArticleInput | dict[str, Any]) -> dict[str, Any]:
    if isinstance(item, RawArticle):
        data = item.model_dump()
        data.pop("schema_version", None)
        data.pop("content_hash", None)
        data.pop("language", None)
        return data
    if isinstance(item, dict):
        try:
            item = ArticleInput.model_validate(item)
        except ValidationError as exc:
            raise EnrichmentError(f"invalid input: {input_problems(exc)}") from None
    return item.fields()


class Enricher:
    """Runs the whole enrichment on batches of articles with one spaCy model."""

    def __init__(self, nlp: Language | None = None, *, batch_size: int = 16,
                 model: str | None = None) -> None:
        self.nlp = nlp or load_model(model)
        self.batch_size = batch_size

    def enrich(self, items: Sequence[RawArticle | ArticleInput | dict[str, Any]]
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

    def _prepare(self, item: RawArticle | ArticleInput | dict[str, Any]) -> dict[str, Any]:
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
        entities, main_place = link_entities(doc_text(doc), _entities(index))
        attributions = resolve_all(find_raw(doc), doc, index)
        sources = sorted({a.source.canonical for a in attributions
                          if a.source and a.source.canonical})
        return EnrichedArticle(**fields, entities=entities,
                               entity_summary=_summary(entities, len(doc_text(doc))),
                               attributions=attributions, attributed_sources=sources,
                               main_place=main_place)


def enrich_lines(enricher: Enricher, lines: Iterable[ArticleInput | dict[str, Any]],
                 *, batch: int = 32) -> Iterable[EnrichedArticle | EnrichmentError]:
    """Stream helper for the CLI: enrich inputs in batches, preserving order."""
    buf: list[ArticleInput | dict[str, Any]] = []
    for line in lines:
        buf.append(line)
        if len(buf) >= batch:
            yield from enricher.enrich(buf)
            buf = []
    if buf:
        yield from enricher.enrich(buf)

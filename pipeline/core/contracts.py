"""The message contracts, declared once and shared by producers and consumers.

* :class:`RawArticle` (v1): what every connector produces onto the raw topic;
* :class:`EnrichedArticle` (v1): what the enrich agent produces and the indexer reads;
* :class:`DeadLetter`: a message a stage could not handle, with the reason;
* :class:`Quote` (v1): one attribution of an enriched article as a record of its own
  (who said what, where and when it was reported), on the quotes topic.

JSON on the wire, versioned by ``schema_version``; a consumer rejects versions it does
not know::

    >>> a = RawArticle.new(url="https://example.org/a?utm_source=x", text="Body.",
    ...                    provenance=Provenance(connector="rss.v1", source="ex"))
    >>> a.canonical_url
    'https://example.org/a'
    >>> RawArticle.from_bytes(a.to_bytes()) == a
    True
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from courlan import normalize_url
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
)

from pipeline.core.errors import ContractError
from pipeline.core.vocabulary import SourceType

RAW_SCHEMA_VERSION = 1


def canonicalize_url(url: str) -> str:
    """Normalise a URL (courlan: lower-case host, no fragment, no tracking params)."""
    try:
        return str(normalize_url(url.strip(), strict=True))
    except Exception:  # noqa: BLE001 - courlan raises assorted errors on junk URLs
        return url.strip()


def article_id(canonical_url: str) -> str:
    """A stable id for an article: the first 32 hex digits of SHA-256 of its canonical URL."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:32]


def content_hash(title: str | None, text: str) -> str:
    return hashlib.sha256(f"{title or ''}\n{text}".encode()).hexdigest()[:32]


class Provenance(BaseModel):
    """Where an article came from and how it was fetched."""

    model_config = ConfigDict(extra="forbid")

    connector: str
    connector_version: int = 1
    source: str
    publisher: str | None = None
    feed_url: str | None = None
    fetched_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None


Access = Literal["free", "paywalled", "registration", "unknown"]
"""How the article is accessible: from schema.org ``isAccessibleForFree``, paywall and
registration markers, a teaser-length body (connectors.page). Never bypassed."""


class Image(BaseModel):
    """An image of the article, by URL (never downloaded); ``lead``: the page's own."""

    model_config = ConfigDict(extra="forbid")
    url: str
    caption: str | None = None
    credit: str | None = None
    lead: bool = False


class RawArticle(BaseModel):
    """One article as a connector saw it (schema version 1)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    id: str
    url: str
    canonical_url: str
    title: str | None = None
    text: str
    summary: str | None = None
    authors: list[str] = Field(default_factory=list)
    published_at: datetime | None = None
    language: str | None = None
    tags: list[str] = Field(default_factory=list)
    content_hash: str
    version: int = 1
    provenance: Provenance
    access: Access = "unknown"
    images: list[Image] = Field(default_factory=list)

    @classmethod
    def new(cls, *, url: str, text: str, provenance: Provenance, **fields: Any) -> RawArticle:
        """Build an article, deriving canonical URL, id and content hash."""
        canonical = fields.pop("canonical_url", None) or canonicalize_url(url)
        return cls(id=article_id(canonical), url=url, canonical_url=canonical, text=text,
                   content_hash=content_hash(fields.get("title"), text),
                   provenance=provenance, **fields)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes | str) -> RawArticle:
        """Parse a message; any problem raises :class:`ContractError` with the reason."""
        return parse_message(cls, data, f"RawArticle v{RAW_SCHEMA_VERSION}")


M = TypeVar("M", bound=BaseModel)


def parse_message(model: type[M], data: bytes | str, what: str) -> M:
    """Validate a JSON message against its contract, or raise ContractError saying why."""
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        raise ContractError(f"not a valid {what}: {exc.error_count()} error(s): "
                            f"{_short(exc)}") from exc


def _short(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors()[:3]:
        loc = ".".join(str(x) for x in e["loc"]) or "<message>"
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)


ENRICHED_SCHEMA_VERSION = 1
ENRICHMENT_VERSION = "1.1.0"  # 1.1: places (entity place, main_place)

DeadLetterStage = Literal["decode", "enrich", "index", "connector", "quotes", "group",
                          "funnel", "stories"]


class Span(BaseModel):
    """A piece of the article text: ``text == article.text[start:end]``.

    ``spans`` lists the parts of a discontinuous piece ("“Part one,” she said. “Part
    two.”"): then ``start``/``end`` enclose all parts.
    """

    model_config = ConfigDict(extra="forbid")
    text: str
    start: int
    end: int
    spans: list[list[int]] | None = None

    @model_serializer(mode="wrap")
    def _drop_empty_spans(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("spans") is None:
            data.pop("spans", None)
        return data


class Source(Span):
    canonical: str | None = None
    type: SourceType = "unnamed"
    # Unnamed on purpose ("a senior official", "people familiar with the matter"), and the
    # reason the article gives for it ("because he was not authorized to speak publicly").
    anonymous: bool = False
    anonymity_reason: str | None = None


class Attribution(BaseModel):
    """Who said or reported what: source (may be None), cue and content."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["direct", "indirect", "mixed", "according_to", "citing"]
    source: Source | None
    cue: Span | None
    content: Span
    cited_via: list[str] = Field(default_factory=list)
    rule: str | None = None  # the construction that found it (docs/attribution.md)
    stance: Literal["neutral", "distancing", "endorsing"] | None = None  # of the cue


PlaceKind = Literal["country", "admin", "city", "other"]


class Place(BaseModel):
    """A place linked to the GeoNames gazetteer (``pipeline.enrich.places``): its
    GeoNames id, canonical name, kind, ISO 3166-1 alpha-2 country and coordinates. An
    unlinked place keeps its name, kind ``other`` and null id, country and coordinates."""

    model_config = ConfigDict(extra="forbid")
    geonames_id: int | None = None
    name: str
    kind: PlaceKind = "other"
    country: str | None = None
    lat: float | None = None
    lon: float | None = None


class Entity(BaseModel):
    """One mention of a named entity, resolved to its canonical name in the article;
    a GPE, LOC or NORP mention naming a place has its ``place``."""

    model_config = ConfigDict(extra="forbid")
    text: str
    label: str
    start: int
    end: int
    canonical: str
    key: str
    place: Place | None = None

    @model_serializer(mode="wrap")
    def _drop_no_place(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("place") is None:
            data.pop("place", None)
        return data


class EntitySummary(BaseModel):
    """One canonical entity of the article, with its mentions counted."""

    model_config = ConfigDict(extra="forbid")
    canonical: str
    label: str
    key: str
    mentions: int
    first_offset: int
    salience: float
    outlet: bool = False


class EnrichedArticle(BaseModel):
    """An article after enrichment (schema version 1)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    id: str
    url: str | None = None
    canonical_url: str | None = None
    title: str | None = None
    text: str
    summary: str | None = None
    authors: list[str] = Field(default_factory=list)
    published_at: datetime | None = None
    tags: list[str] = Field(default_factory=list)
    version: int = 1
    provenance: Provenance | None = None
    language: str | None = None
    language_confidence: float | None = None
    entities: list[Entity] = Field(default_factory=list)
    entity_summary: list[EntitySummary] = Field(default_factory=list)
    attributions: list[Attribution] = Field(default_factory=list)
    attributed_sources: list[str] = Field(default_factory=list)
    # where the article is set: its dateline, else its most-mentioned linked place
    main_place: Place | None = None
    enrichment_version: str = ENRICHMENT_VERSION
    enriched_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    # The story the article belongs to (the id of the story's first article), the earliest
    # article it copies and how similar they are (pipeline.group.copies), and the wire
    # agency it carries (pipeline.group.wire). None where grouping did not run.
    story: str | None = None
    copy_of: str | None = None
    similarity: float | None = None
    wire: str | None = None
    access: Access = "unknown"
    images: list[Image] = Field(default_factory=list)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes | str) -> EnrichedArticle:
        """Parse a message; any problem raises :class:`ContractError` with the reason."""
        return parse_message(cls, data, f"EnrichedArticle v{ENRICHED_SCHEMA_VERSION}")


QUOTE_SCHEMA_VERSION = 1


def quote_id(article: str, words: str, speaker: str | None = None, occurrence: int = 0) -> str:
    """A stable id for a quote of an article (32 hex digits), from what it says: the
    article id, the reported ``words`` (normalised by the caller), the credited
    ``speaker`` and the ``occurrence`` of those words by that speaker in the article (0
    for the first). Not from its position: a corrected article (a new version) keeps the
    ids of its unchanged quotes, so replaying it duplicates nothing, and gives changed
    words a new id, so they are grouped.

    >>> quote_id("a1", "we are ready") == quote_id("a1", "we are ready")
    True
    >>> len({quote_id("a1", "we are ready"), quote_id("a1", "we are ready to talk"),
    ...      quote_id("a1", "we are ready", "Putin"), quote_id("a1", "we are ready", None, 1)})
    4
    """
    key = f"quote:{article}:{speaker or ''}:{occurrence}:{words}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class QuoteArticle(BaseModel):
    """The article a quote was reported in."""

    model_config = ConfigDict(extra="forbid")
    id: str
    url: str | None = None
    title: str | None = None
    publisher: str | None = None
    published_at: datetime | None = None
    language: str | None = None


class QuoteSpeaker(BaseModel):
    """Who the article credits: its words (``text``), the canonical name, the entity key;
    ``anonymous`` when the article withholds the name on purpose."""

    model_config = ConfigDict(extra="forbid")
    text: str | None = None
    canonical: str | None = None
    key: str | None = None
    type: SourceType = "unnamed"
    anonymous: bool = False


class Quote(BaseModel):
    """One attribution of one enriched article, as a record of its own (schema version 1).

    ``index`` is its position in the article's ``attributions``; ``id`` derives from the
    article id, the words and the speaker (:func:`quote_id`), so a replay gives the same
    id and a correction's changed words a new one. ``kind``
    is the attribution's kind (direct, indirect, mixed, according_to, citing, ...);
    ``content`` is the reported words (the parts of a split quote joined by " … ");
    ``sentence`` the sentence(s) of the article around them.
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    id: str
    index: int
    article: QuoteArticle
    speaker: QuoteSpeaker = Field(default_factory=QuoteSpeaker)
    cue: str | None = None
    kind: str
    content: str
    cited_via: list[str] = Field(default_factory=list)
    sentence: str = ""
    enrichment_version: str = ENRICHMENT_VERSION

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes | str) -> Quote:
        """Parse a message; any problem raises :class:`ContractError` with the reason."""
        return parse_message(cls, data, f"Quote v{QUOTE_SCHEMA_VERSION}")


class AssignedArticle(BaseModel):
    """A raw article with its story assignment: what the stories agent produces for the
    enrich agent (``<prefix>.assigned.v1``); ``copy_of`` lets enrichment reuse the
    original's."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    article: RawArticle
    story: str
    copy_of: str | None = None
    similarity: float | None = None
    wire: str | None = None

    @property
    def id(self) -> str:
        return self.article.id

    @property
    def text(self) -> str:
        return self.article.text

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes | str) -> AssignedArticle:
        """Parse a message; any problem raises :class:`ContractError` with the reason."""
        return parse_message(cls, data, "AssignedArticle v1")


DEAD_LETTER_MAX_PAYLOAD = 8 * 1024 * 1024
"""Default cap on the original bytes a dead letter keeps (base64 makes them 4/3 larger)."""


class DeadLetter(BaseModel):
    """A message a stage could not handle: the reason, where it came from, its bytes.

    At most ``max_payload`` bytes of the original are kept (``truncated`` says when it was
    cut), so a letter always fits in a Kafka message; ``payload_size`` and ``payload_sha256``
    describe the whole original, and ``topic``/``partition``/``offset`` say where it was::

        >>> letter = DeadLetter.of(stage="decode", exc=ValueError("bad"), payload=b"abcdef",
        ...                        max_payload=4)
        >>> letter.payload(), letter.payload_size, letter.truncated, letter.replayable
        (b'abcd', 6, True, False)
    """

    model_config = ConfigDict(extra="forbid")

    stage: DeadLetterStage
    error_type: str
    error: str
    article_id: str | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    payload_b64: str
    payload_size: int
    payload_sha256: str | None = None  # absent from letters written before it existed
    truncated: bool = False
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def of(cls, *, stage: DeadLetterStage, exc: BaseException,
           payload: bytes, article_id: str | None = None, topic: str | None = None,
           partition: int | None = None, offset: int | None = None,
           max_payload: int = DEAD_LETTER_MAX_PAYLOAD) -> DeadLetter:
        kept = payload[:max(0, max_payload)]
        return cls(stage=stage, error_type=type(exc).__name__, error=str(exc)[:2000],
                   article_id=article_id[:200] if article_id else article_id, topic=topic,
                   partition=partition, offset=offset,
                   payload_b64=base64.b64encode(kept).decode("ascii"),
                   payload_size=len(payload), payload_sha256=hashlib.sha256(payload).hexdigest(),
                   truncated=len(kept) < len(payload))

    def payload(self) -> bytes:
        return base64.b64decode(self.payload_b64)

    @property
    def replayable(self) -> bool:
        """True when the letter holds the whole original message (it can be re-produced)."""
        if self.truncated:
            return False
        data = self.payload()
        if self.payload_sha256 is not None:
            return hashlib.sha256(data).hexdigest() == self.payload_sha256
        return len(data) == self.payload_size

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")

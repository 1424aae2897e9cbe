"""Contracts of the enriched topic and the dead-letter topic (pydantic, versioned).

The enrichment agent produces :class:`EnrichedArticle`; the indexer consumes it.
Any stage that cannot handle a message produces a :class:`DeadLetter` carrying
the stage, the reason and the original payload, so nothing is ever lost.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from connectors.contract import Provenance, parse_message

ENRICHED_SCHEMA_VERSION = 1
ENRICHMENT_VERSION = "1.0.0"

SourceType = Literal["person", "organization", "outlet", "document", "group", "unnamed"]


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


class Attribution(BaseModel):
    """Who said or reported what: source (may be None), cue and content."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["direct", "indirect", "mixed", "according_to", "citing"]
    source: Source | None
    cue: Span | None
    content: Span
    cited_via: list[str] = Field(default_factory=list)


class Entity(BaseModel):
    """One mention of a named entity, resolved to its canonical name in the article."""

    model_config = ConfigDict(extra="forbid")
    text: str
    label: str
    start: int
    end: int
    canonical: str
    key: str


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
    enrichment_version: str = ENRICHMENT_VERSION
    enriched_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes | str) -> EnrichedArticle:
        """Parse a message; any problem raises :class:`ContractError` with the reason."""
        return parse_message(cls, data, f"EnrichedArticle v{ENRICHED_SCHEMA_VERSION}")


class DeadLetter(BaseModel):
    """A message a stage could not handle, with the reason and the original bytes."""

    model_config = ConfigDict(extra="forbid")

    stage: Literal["decode", "enrich", "index", "connector"]
    error_type: str
    error: str
    article_id: str | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    payload_b64: str
    payload_size: int
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def of(cls, *, stage: Literal["decode", "enrich", "index", "connector"], exc: BaseException,
           payload: bytes, article_id: str | None = None, topic: str | None = None,
           partition: int | None = None, offset: int | None = None,
           max_payload: int = 12 * 1024 * 1024) -> DeadLetter:
        kept = payload[:max_payload]
        return cls(stage=stage, error_type=type(exc).__name__, error=str(exc)[:2000],
                   article_id=article_id, topic=topic, partition=partition, offset=offset,
                   payload_b64=base64.b64encode(kept).decode("ascii"),
                   payload_size=len(payload))

    def payload(self) -> bytes:
        return base64.b64decode(self.payload_b64)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")

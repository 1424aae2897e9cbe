"""The raw-article contract: what every connector produces onto the raw topic.

Declared once here and shared by the producer (connector runner) and the
consumer (the enrichment agent). JSON on the wire, versioned by
``schema_version``; a consumer rejects versions it does not know::

    >>> a = RawArticle.new(url="https://example.org/a?utm_source=x", text="Body.",
    ...                    provenance=Provenance(connector="rss.v1", source="ex"))
    >>> a.canonical_url
    'https://example.org/a'
    >>> RawArticle.from_bytes(a.to_bytes()) == a
    True
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from courlan import normalize_url
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import ContractError

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

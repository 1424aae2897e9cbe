"""What the story index reads of an article, and what it asks of a durable state.

An article's event time is when it was published, or when it arrived where that is
missing (or later than its arrival)::

    >>> from datetime import UTC, datetime
    >>> event_time(Body("a", "text", published_at=datetime(2026, 1, 1, tzinfo=UTC)), 0.0)
    1767225600.0
    >>> event_time(Body("b", "text"), 42.0)
    42.0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class Article(Protocol):
    """What the index reads of an article: a RawArticle or an EnrichedArticle will do
    (``published_at`` and ``provenance.fetched_at``, when it has them, give its event time)."""

    @property
    def id(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def authors(self) -> list[str]: ...


class Durable(Protocol):
    """The durable state's candidate lookup: records (:func:`record_of`) sharing one of
    ``terms`` (LSH band terms) with event time before ``before``, earliest first."""

    def candidates(self, terms: list[str], *, before: float, size: int
                   ) -> list[dict[str, Any]]: ...


@dataclass
class Body:
    """A bare article for the index (tests, benchmarks): id, text, optional authors and
    publication time."""

    id: str
    text: str
    authors: list[str] = field(default_factory=list)
    published_at: datetime | None = None


def event_time(article: object, default: float) -> float:
    """Epoch seconds of an article's event: ``published_at`` (not after its arrival),
    else its arrival (``provenance.fetched_at``), else ``default``."""
    published = getattr(article, "published_at", None)
    prov = getattr(article, "provenance", None)
    fetched = getattr(prov, "fetched_at", None) if prov is not None else None
    arrived = fetched.timestamp() if isinstance(fetched, datetime) else None
    if isinstance(published, datetime):
        when = published.timestamp()
        return min(when, arrived) if arrived is not None else when
    return arrived if arrived is not None else default

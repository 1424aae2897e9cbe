"""A quote group's member: one quote record reported by one article (the group itself,
bounded, is :class:`pipeline.group.bounded.QuoteGroup`)::

    >>> from pipeline.group.speakers import Speaker
    >>> m = Member(quote="q1", article="a1", publisher="Wire", seq=1,
    ...            published_at="2026-11-02T10:00:00+00:00",
    ...            speaker=Speaker(canonical="Putin", type="person"))
    >>> Member.from_dict(m.as_dict()) == m
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipeline.group.speakers import Speaker

NEVER = datetime.max.replace(tzinfo=UTC)


def _when(value: str | None) -> datetime:
    """A member's publication time for ordering; unknown sorts last, naive is UTC."""
    if not value:
        return NEVER
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return NEVER
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass(slots=True)
class Member:
    """One report of the group's words: a quote record, where it came from, who it credits."""

    quote: str
    article: str
    seq: int
    url: str | None = None
    title: str | None = None
    publisher: str | None = None
    published_at: str | None = None
    language: str | None = None
    speaker: Speaker = field(default_factory=Speaker)
    kind: str = "direct"
    cue: str | None = None
    cited_via: list[str] = field(default_factory=list)
    variant: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"quote": self.quote, "article": self.article, "seq": self.seq, "url": self.url,
                "title": self.title, "publisher": self.publisher,
                "published_at": self.published_at, "language": self.language,
                "speaker": self.speaker.as_list(), "kind": self.kind, "cue": self.cue,
                "cited_via": self.cited_via, "variant": self.variant}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Member:
        return cls(**{**data, "speaker": Speaker.from_list(data["speaker"])})

    @property
    def order(self) -> tuple[datetime, int]:
        """Earliest publication first; ties (and unknown dates) by arrival."""
        return (_when(self.published_at), self.seq)

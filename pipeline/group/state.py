"""A quote group's state: its members (one per quote record) and what follows from them.

The state is all a group is: its id, the distinct renderings of its words (``variants``)
and its members. Everything shown about a group (first report, reports, publishers,
speakers, contested) is derived from the members, so a group rebuilt from its stored
document (:meth:`QuoteGroup.from_doc`) is the group that was written::

    >>> from pipeline.group.speakers import Speaker
    >>> g = QuoteGroup(id="q1", founded=1)
    >>> g.add(Member(quote="q1", article="a1", publisher="Wire", seq=1,
    ...              published_at="2026-11-02T10:00:00+00:00",
    ...              speaker=Speaker(canonical="Putin", type="person")), "We are ready.")
    >>> g.add(Member(quote="q2", article="a2", publisher="Daily", seq=2,
    ...              published_at="2026-11-02T09:00:00+00:00",
    ...              speaker=Speaker(canonical="Vladimir Putin", type="person")), "We are ready")
    >>> g.first.article, g.reports, g.publishers, g.speaker.canonical, g.contested
    ('a2', 2, ['Wire', 'Daily'], 'Vladimir Putin', False)
    >>> QuoteGroup.from_doc(g.to_doc()) == g
    True
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from pipeline.group.speakers import Chains, Speaker, chain, contested
from pipeline.group.text import words

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


@dataclass
class QuoteGroup:
    """The same words reported by one or more articles."""

    id: str
    founded: int  # arrival number (seq) of the quote that founded the group
    seq: int = 0  # arrival number of the last quote that changed it (its version)
    variants: list[str] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)  # ids of younger groups merged into it

    def _variant(self, content: str) -> int:
        key = words(content)
        for i, variant in enumerate(self.variants):
            if words(variant) == key:
                return i
        self.variants.append(content)
        return len(self.variants) - 1

    def add(self, member: Member, content: str) -> None:
        """Add a report; ``content`` becomes a new variant unless its words are known."""
        member.variant = self._variant(content)
        self.members.append(member)
        self.seq = max(self.seq, member.seq)

    def absorb(self, other: QuoteGroup, seq: int) -> None:
        """Merge a younger group into this one (a fuller report proved them one quote)."""
        for m in other.members:
            self.members.append(replace(m, variant=self._variant(other.variants[m.variant])))
        self.merged += [other.id, *other.merged]
        self.seq = max(self.seq, seq)

    @property
    def first(self) -> Member:
        """The first report: earliest ``published_at``, ties by arrival."""
        return min(self.members, key=lambda m: m.order)

    @property
    def reports(self) -> int:
        """How many articles carried the words."""
        return len({m.article for m in self.members})

    @property
    def publishers(self) -> list[str]:
        return list(dict.fromkeys(m.publisher for m in self.members if m.publisher))

    @property
    def credited(self) -> list[Speaker]:
        return list(dict.fromkeys(m.speaker for m in self.members))

    @property
    def speakers(self) -> list[str]:
        """Every canonical speaker credited, in order of first credit."""
        return list(dict.fromkeys(m.speaker.canonical for m in self.members
                                  if m.speaker.canonical))

    @property
    def chains(self) -> Chains:
        """Citing chains of the credits ("X, citing Y"): linked speakers do not contest."""
        return frozenset().union(*(chain(m.speaker, m.cited_via) for m in self.members))

    def credited_elsewhere(self, article: str) -> list[Speaker]:
        """The credits of the group from articles other than ``article``."""
        return list(dict.fromkeys(m.speaker for m in self.members if m.article != article))

    @property
    def contested(self) -> bool:
        """Two incompatible named speakers are credited with these words by different
        articles (one article crediting two sources for the same words nests them:
        "Reuters reported that officials said ...")."""
        articles: dict[Speaker, set[str]] = {}
        for m in self.members:
            if m.speaker.named:
                articles.setdefault(m.speaker, set()).add(m.article)
        credited = list(articles)
        chains = self.chains
        for i, a in enumerate(credited):
            for b in credited[i + 1:]:
                apart = articles[a] != articles[b] or len(articles[a]) > 1
                if apart and contested([a, b], chains):
                    return True
        return False

    @property
    def speaker(self) -> Speaker:
        """The named speaker credited most often (ties: the longer name, then the first);
        without any, the first report's credit."""
        named = [m.speaker for m in self.members if m.speaker.named]
        if not named:
            return self.first.speaker
        counts = Counter(s.canonical for s in named)
        order = {c: i for i, c in reversed(list(enumerate(s.canonical for s in named)))}
        best = min(counts, key=lambda c: (-counts[c], -len(c or ""), order[c]))
        return next(s for s in named if s.canonical == best)

    @property
    def content(self) -> str:
        """The fullest rendering of the words (most words; ties: the first)."""
        return max(self.variants, key=lambda v: (len(words(v)), -self.variants.index(v)))

    @property
    def kind(self) -> str:
        counts = Counter(m.kind for m in self.members)
        return max(counts, key=lambda k: (counts[k], -next(
            i for i, m in enumerate(self.members) if m.kind == k)))

    def to_doc(self) -> dict[str, Any]:
        """The group's Elasticsearch document: what is searched and shown, plus the state
        (``state``: variants and members, stored but not indexed) it is rebuilt from."""
        first = self.first
        last = max((m for m in self.members if m.published_at), key=lambda m: m.order,
                   default=None)
        return {
            "group": self.id, "content": self.content, "texts": self.variants,
            "kind": self.kind, "kinds": sorted({m.kind for m in self.members}),
            "speaker": {k: v for k, v in self.speaker.as_dict().items()},
            "speakers": self.speakers,
            "speaker_keys": list(dict.fromkeys(m.speaker.key for m in self.members
                                               if m.speaker.key)),
            "contested": self.contested, "reports": self.reports,
            "mentions": len(self.members), "publishers": self.publishers,
            "publisher_count": len(self.publishers),
            "languages": sorted({m.language for m in self.members if m.language}),
            "cited_via": sorted({c for m in self.members for c in m.cited_via}),
            "first_seen": {"article_id": first.article, "quote_id": first.quote,
                           "url": first.url, "title": first.title,
                           "publisher": first.publisher, "published_at": first.published_at},
            "published_at": first.published_at,
            "last_published_at": last.published_at if last else None,
            "founded": self.founded, "seq": self.seq, "merged": self.merged,
            "state": {"variants": self.variants,
                      "members": [m.as_dict() for m in self.members]},
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> QuoteGroup:
        state = doc["state"]
        return cls(id=doc["group"], founded=int(doc["founded"]), seq=int(doc["seq"]),
                   variants=list(state["variants"]), merged=list(doc.get("merged") or []),
                   members=[Member.from_dict(m) for m in state["members"]])

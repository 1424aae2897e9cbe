"""A bounded quote group as its Elasticsearch document, and back.

The document holds what is searched and shown (``content``, ``speakers``, ``reports``,
``first_seen``, ...) and, under ``state`` (stored, not indexed), what the group is
rebuilt from: its variants, the members it keeps and its summaries. A document of the
earlier form (every member, no summaries) is read by replaying its members.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.group.speakers import Speaker
from pipeline.group.state import Member


@dataclass
class Credit:
    """One speaker's credit in a group: how often, and the first two articles giving it
    (enough to tell whether two credits come from different articles)."""

    count: int = 0
    articles: list[str] = field(default_factory=list)

    def add(self, article: str, n: int = 1) -> None:
        self.count += n
        if article not in self.articles and len(self.articles) < 2:
            self.articles.append(article)


def _member(m: Member | None) -> dict[str, Any] | None:
    return m.as_dict() if m is not None else None


def to_doc(g: Any) -> dict[str, Any]:
    """The document of a :class:`~pipeline.group.bounded.QuoteGroup`."""
    first, last = g.first, g.last
    return {
        "group": g.id, "content": g.content, "texts": g.variants,
        "kind": g.kind, "kinds": sorted(g.kinds),
        "speaker": g.speaker.as_dict(), "speakers": g.speakers,
        "speaker_keys": list(dict.fromkeys(s.key for s in g.credits if s.key)),
        "contested": g.contested, "reports": g.reports, "mentions": g.mentions,
        "publishers": g.publishers, "publisher_count": len(g.publisher_counts),
        "languages": sorted(g.languages), "cited_via": sorted(g.cited),
        "first_seen": {"article_id": first.article, "quote_id": first.quote,
                       "url": first.url, "title": first.title,
                       "publisher": first.publisher, "published_at": first.published_at},
        "published_at": first.published_at,
        "last_published_at": last.published_at if last else None,
        "founded": g.founded, "seq": g.seq, "merged": g.merged,
        "state": {
            "variants": g.variants,
            "members": [m.as_dict() for m in g.head],
            "tail": [m.as_dict() for m in g.tail],
            "summary": {
                "mentions": g.mentions, "reports": g.reports,
                "first": _member(first), "last": _member(last),
                "publishers": g.publisher_counts, "kinds": g.kinds,
                "credits": [[s.as_list(), c.count, c.articles] for s, c in g.credits.items()],
                "languages": sorted(g.languages), "cited": sorted(g.cited),
                "chains": sorted(sorted(pair) for pair in g.chains),
            },
        },
    }


def fields_of(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The constructor fields of a group stored with summaries (None: the earlier form,
    to be rebuilt from its members)."""
    state = doc["state"]
    summary = state.get("summary")
    if summary is None:
        return None
    first, last = summary["first"], summary["last"]
    return {
        "id": doc["group"], "founded": int(doc["founded"]), "seq": int(doc["seq"]),
        "variants": list(state["variants"]), "merged": list(doc.get("merged") or []),
        "head": [Member.from_dict(m) for m in state["members"]],
        "tail": [Member.from_dict(m) for m in state.get("tail", [])],
        "mentions": int(summary["mentions"]), "reports": int(summary["reports"]),
        "first": Member.from_dict(first) if first else None,
        "last": Member.from_dict(last) if last else None,
        "publisher_counts": dict(summary["publishers"]), "kinds": dict(summary["kinds"]),
        "credits": {Speaker.from_list(s): Credit(n, list(arts))
                    for s, n, arts in summary["credits"]},
        "languages": set(summary["languages"]), "cited": set(summary["cited"]),
        "chains": frozenset(frozenset(p) for p in summary["chains"]),
    }

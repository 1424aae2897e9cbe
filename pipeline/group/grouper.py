"""Group articles as they arrive: their story (wire copies) and their quotes' groups.

:class:`Grouper` is what ``newsflow group`` runs, one article at a time in arrival order.
Stories come from a collaborator with one method, ``assign(article) -> (story, copy_of,
similarity)``; without one, every article is its own story. The quotes of a copy land in
the same quote groups as its original's because quote groups are made by content::

    >>> from pipeline.core.contracts import Attribution, EnrichedArticle, Span
    >>> def article(i):
    ...     text = "“We will not back down now or ever,” the minister said."
    ...     att = Attribution(kind="direct", source=None, cue=None,
    ...                       content=Span(text=text[:37], start=0, end=37))
    ...     return EnrichedArticle(id=f"a{i}", text=text, attributions=[att])
    >>> grouper = Grouper()
    >>> first, copy = grouper.add(article(1)), grouper.add(article(2))
    >>> copy.to_json()  # doctest: +NORMALIZE_WHITESPACE
    {'id': 'a2', 'story': 'a2', 'copy_of': None, 'similarity': None,
     'quotes': [{'index': 0, 'group': '...'}]}
    >>> copy.quotes == first.quotes
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from pipeline.core.contracts import EnrichedArticle
from pipeline.group.quotes import QuoteGroups
from pipeline.group.records import quotes_of


class Stories(Protocol):
    """Assigns an article to a story: ``(story id, id of the article it copies or None,
    similarity to it or None)``."""

    def assign(self, article: EnrichedArticle) -> tuple[str, str | None, float | None]: ...


class OwnStory:
    """Every article is a story of its own (until wire-copy detection plugs in)."""

    def assign(self, article: EnrichedArticle) -> tuple[str, str | None, float | None]:
        return article.id, None, None


@dataclass(frozen=True)
class QuoteRef:
    """The group of the ``index``-th attribution of an article."""

    index: int
    group: str


@dataclass
class GroupResult:
    """What grouping says about one article (one line of ``newsflow group``)."""

    id: str
    story: str
    copy_of: str | None = None
    similarity: float | None = None
    quotes: list[QuoteRef] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "story": self.story, "copy_of": self.copy_of,
                "similarity": self.similarity,
                "quotes": [{"index": q.index, "group": q.group} for q in self.quotes]}


class Grouper:
    """Stories and quote groups for articles added in arrival order."""

    def __init__(self, *, stories: Stories | None = None,
                 quotes: QuoteGroups | None = None) -> None:
        self.stories: Stories = stories or OwnStory()
        self.quotes = quotes if quotes is not None else QuoteGroups()

    def add(self, article: EnrichedArticle) -> GroupResult:
        story, copy_of, similarity = self.stories.assign(article)
        refs = [QuoteRef(q.index, self.quotes.add(q)) for q in quotes_of(article)]
        return GroupResult(id=article.id, story=story, copy_of=copy_of,
                           similarity=similarity, quotes=refs)

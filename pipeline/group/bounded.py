"""A quote group whose cost does not grow with its reports.

A group keeps at most :data:`HEAD` of its first members and :data:`TAIL` of its latest
(the others are summarized, not stored), at most :data:`MAX_VARIANTS` renderings of its
words, and running summaries of everything shown about it (first and last report,
reports, mentions, publishers with their counts, credits with the articles that made
them, kinds, languages, citing chains). Adding a report updates the summaries in O(1)
and the matching reads them (:meth:`QuoteGroup.credited_elsewhere`, ``chains``) in
O(distinct speakers), so a group of 8,000 reports costs what a group of 10 does, and its
document stays bounded (~120 KB at most) however many reports it gains::

    >>> from pipeline.group.speakers import Speaker
    >>> putin = Speaker(canonical="Putin", type="person")
    >>> g = QuoteGroup(id="q0", founded=1)
    >>> for i in range(1000):
    ...     g.add(Member(quote=f"q{i}", article=f"a{i}", publisher=f"P{i % 3}", seq=i + 1,
    ...                  speaker=putin), "We are ready.")
    >>> g.mentions, g.reports, len(g.members), g.publisher_counts["P0"]
    (1000, 1000, 256, 334)
    >>> QuoteGroup.from_doc(g.to_doc()) == g
    True

Exact while a group has at most ``HEAD + TAIL`` members (nearly all groups). Beyond, the
distinct-article count ``reports`` is kept incrementally: a report from an article whose
other reports of these words were all summarized away counts again (an article's quotes
arrive together, so this is rare).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from pipeline.group.bounded_doc import Credit, fields_of, to_doc
from pipeline.group.speakers import Chains, Speaker, chain, contested
from pipeline.group.state import Member
from pipeline.group.text import words

HEAD = 32  # first members kept (the earliest evidence)
TAIL = 224  # latest members kept (replays and retries find their quotes here)
MAX_VARIANTS = 64  # renderings kept; later ones are reports of the nearest kept one
T = TypeVar("T")


@dataclass
class QuoteGroup:
    """The same words reported by one or more articles (bounded: see the module)."""

    id: str
    founded: int  # arrival number (seq) of the quote that founded the group
    seq: int = 0  # arrival number of the last quote that changed it (its version)
    variants: list[str] = field(default_factory=list)
    head: list[Member] = field(default_factory=list)
    tail: list[Member] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)  # ids of younger groups merged into it
    mentions: int = 0
    reports: int = 0
    first: Member | None = None  # earliest published_at, ties by arrival
    last: Member | None = None  # latest published_at
    publisher_counts: dict[str, int] = field(default_factory=dict)
    credits: dict[Speaker, Credit] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)
    languages: set[str] = field(default_factory=set)
    cited: set[str] = field(default_factory=set)
    chains: Chains = frozenset()
    _kept: Counter[str] = field(default_factory=Counter, repr=False, compare=False)
    dropped: list[str] = field(default_factory=list, repr=False, compare=False)
    # what matching needs of each variant, made once (at most MAX_VARIANTS of each)
    _words: list[list[str]] = field(default_factory=list, repr=False, compare=False)
    _prepared: dict[int, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._kept = Counter(m.article for m in self.members)
        self._words = [words(v) for v in self.variants]

    def prepared(self, i: int, make: Callable[[str], T]) -> T:
        """Variant ``i`` as ``make`` prepares it for matching, made once and kept with the
        group (bounded like the variants: at most :data:`MAX_VARIANTS`)."""
        known = self._prepared.get(i)
        if known is None:
            known = self._prepared[i] = make(self.variants[i])
        return known

    @property
    def members(self) -> list[Member]:
        """The members kept: the first ``HEAD`` and the latest ``TAIL``."""
        return self.head + self.tail

    def _variant(self, content: str) -> int:
        key = words(content)
        if len(self._words) != len(self.variants):  # variants set from outside
            self._words = [words(v) for v in self.variants]
        for i, known in enumerate(self._words):
            if known == key:
                return i
        if len(self.variants) >= MAX_VARIANTS:
            return 0
        self.variants.append(content)
        self._words.append(key)
        return len(self.variants) - 1

    def add(self, member: Member, content: str) -> None:
        """Add a report; ``content`` becomes a new variant unless its words are known."""
        member.variant = self._variant(content)
        self._count(member, new_report=self._kept[member.article] == 0)
        self._keep(member)
        self.seq = max(self.seq, member.seq)

    def _count(self, m: Member, *, new_report: bool) -> None:
        """The summaries of one more member."""
        self.mentions += 1
        self.reports += new_report
        if self.first is None or m.order < self.first.order:
            self.first = m
        if m.published_at and (self.last is None or m.order > self.last.order):
            self.last = m
        if m.publisher:
            self.publisher_counts[m.publisher] = self.publisher_counts.get(m.publisher, 0) + 1
        self.credits.setdefault(m.speaker, Credit()).add(m.article)
        self.kinds[m.kind] = self.kinds.get(m.kind, 0) + 1
        if m.language:
            self.languages.add(m.language)
        self.cited.update(c for c in m.cited_via if c)
        links = chain(m.speaker, m.cited_via)
        if not links <= self.chains:
            self.chains = self.chains | links

    def _keep(self, m: Member) -> None:
        self._kept[m.article] += 1
        if len(self.head) < HEAD:
            self.head.append(m)
            return
        self.tail.append(m)
        if len(self.tail) > TAIL:
            old = self.tail.pop(0)
            self._kept[old.article] -= 1
            self.dropped.append(old.quote)

    def absorb(self, other: QuoteGroup, seq: int) -> None:
        """Merge a younger group into this one (a fuller report proved them one quote)."""
        overlap = sum(1 for a in other._kept if other._kept[a] and self._kept[a])
        self.mentions += other.mentions
        self.reports += other.reports - overlap
        for m in (other.first, other.last):
            if m is not None:
                if self.first is None or m.order < self.first.order:
                    self.first = m
                if m.published_at and (self.last is None or m.order > self.last.order):
                    self.last = m
        for p, n in other.publisher_counts.items():
            self.publisher_counts[p] = self.publisher_counts.get(p, 0) + n
        for s, credit in other.credits.items():
            mine = self.credits.setdefault(s, Credit())
            for i, art in enumerate(credit.articles):
                mine.add(art, credit.count if i == 0 else 0)
        for k, n in other.kinds.items():
            self.kinds[k] = self.kinds.get(k, 0) + n
        self.languages |= other.languages
        self.cited |= other.cited
        self.chains = self.chains | other.chains
        for m in sorted(other.members, key=lambda x: x.seq):
            self._keep(replace(m, variant=self._variant(other.variants[m.variant])))
        self.dropped += other.dropped
        self.merged += [other.id, *other.merged]
        self.seq = max(self.seq, seq)

    def take_dropped(self) -> list[str]:
        """The quote ids no longer kept since the last call (to forget their lookup)."""
        out, self.dropped = self.dropped, []
        return out

    @property
    def publishers(self) -> list[str]:
        return list(self.publisher_counts)

    @property
    def credited(self) -> list[Speaker]:
        return list(self.credits)

    @property
    def speakers(self) -> list[str]:
        """Every canonical speaker credited, in order of first credit."""
        return list(dict.fromkeys(s.canonical for s in self.credits if s.canonical))

    def credited_elsewhere(self, article: str) -> list[Speaker]:
        """The credits of the group from articles other than ``article``."""
        return [s for s, c in self.credits.items()
                if len(c.articles) > 1 or (c.articles and c.articles[0] != article)]

    @property
    def contested(self) -> bool:
        """Two incompatible named speakers are credited with these words by different
        articles (one article crediting two sources for the same words nests them)."""
        named = [(s, c) for s, c in self.credits.items() if s.named]
        for i, (a, ca) in enumerate(named):
            for b, cb in named[i + 1:]:
                apart = ca.articles != cb.articles or len(ca.articles) > 1
                if apart and contested([a, b], self.chains):
                    return True
        return False

    @property
    def speaker(self) -> Speaker:
        """The named speaker credited most often (ties: the longer name, then the first);
        without any, the first report's credit."""
        counts: dict[str | None, int] = {}
        for s, c in self.credits.items():
            if s.named:
                counts[s.canonical] = counts.get(s.canonical, 0) + c.count
        if not counts:
            return self.first.speaker if self.first else Speaker()
        order = {c: i for i, c in enumerate(counts)}
        best = min(counts, key=lambda c: (-counts[c], -len(c or ""), order[c]))
        return next(s for s in self.credits if s.named and s.canonical == best)

    @property
    def content(self) -> str:
        """The fullest rendering of the words (most words; ties: the first)."""
        return max(self.variants, key=lambda v: (len(words(v)), -self.variants.index(v)))

    @property
    def kind(self) -> str:
        order = list(self.kinds)
        return max(self.kinds, key=lambda k: (self.kinds[k], -order.index(k)))

    def to_doc(self) -> dict[str, Any]:
        """The group's Elasticsearch document: what is searched and shown, plus the state
        (``state``: variants, kept members, summaries; stored but not indexed)."""
        return to_doc(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> QuoteGroup:
        """The group a document holds (an earlier document, with every member and no
        summaries, is rebuilt by adding its members again)."""
        fields = fields_of(doc)
        if fields is not None:
            return cls(**fields)
        state = doc["state"]
        group = cls(id=doc["group"], founded=int(doc["founded"]),
                    merged=list(doc.get("merged") or []))
        for m in state["members"]:
            member = Member.from_dict(m)
            group.add(member, state["variants"][member.variant])
        group.seq = int(doc["seq"])
        group.dropped.clear()
        return group

"""Quote groups across articles: the same words, however and by whomever they were reported.

Each quote record joins the group whose words it shares, or founds a new one::

    >>> from pipeline.core.contracts import Quote, QuoteArticle, QuoteSpeaker
    >>> def q(i, text, who, when="2026-11-02T09:00:00Z"):
    ...     return Quote(id=f"q{i}", index=0, kind="direct", content=text,
    ...                  article=QuoteArticle(id=f"a{i}", publisher=f"P{i}", published_at=when),
    ...                  speaker=QuoteSpeaker(canonical=who, type="person"))
    >>> groups = QuoteGroups()
    >>> g1 = groups.add(q(1, "“We will never abandon our allies in the region,”", "Putin"))
    >>> g2 = groups.add(q(2, '"we will NEVER abandon our allies..."', "Vladimir Putin"))
    >>> g3 = groups.add(q(3, "We will never abandon our allies in the region.", "Peskov"))
    >>> g4 = groups.add(q(4, "The sanctions will fail, as they always have.", "Putin"))
    >>> g1 == g2 == g3 != g4, groups.get(g1).contested, groups.add(q(2, "x", None)) == g1
    (True, True, True)

How it works, and why:

* **Normalisation** (:mod:`pipeline.group.text`): typography, case and punctuation are
  folded away; ellipses cut a quotation into segments that no shingle spans.
* **Candidates** come from a MinHash LSH index (datasketch ``MinHashLSH``, in memory, with
  the lighter tables of :mod:`pipeline.group.lsh`) over
  word-trigram shingles of *windows* of each variant (``window`` words every ``stride``).
  Windows rather than whole quotations because a fragment's Jaccard similarity to a long
  quotation is small (a 6-word fragment of a 40-word quote: ~0.1) while its similarity to
  the window it falls in is high; LSH finds near-equal windows in time independent of the
  number of stored quotes, where comparing with every group would grow with it.
* **Verification** of each candidate group is exact, on the whole texts: Jaccard of the
  shingle sets (near-duplicates, small edits) or the *coverage* of the shorter text by the
  longer (the share of its words inside shared shingles: fragments, ellipses), plus the
  speaker rule of :mod:`pipeline.group.speakers`. Words credited to an incompatible
  speaker join only on strong evidence (``contested_min`` words covered), and the group is
  then *contested*; short stock phrases by different people stay apart.
* **Determinism**: the group id is the id of the quote that founded it; among matching
  groups the best score wins, ties going to the oldest group; a quote already seen (same
  id) returns its group unchanged. Replaying the same quotes in the same order gives the
  same groups, and a state rebuilt from its store continues exactly as the original would.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from pipeline.core.contracts import Quote
from pipeline.group.bounded import QuoteGroup
from pipeline.group.lsh import CompactLSH
from pipeline.group.speakers import NO_CHAINS, Chains, Speaker, chain, fits
from pipeline.group.state import Member
from pipeline.group.text import jaccard, segments, shingles, window_minhashes


@dataclass(frozen=True)
class Params:
    """The knobs of grouping (tuned on tests/fixtures/quote_groups, see bench/quote_groups.py)."""

    shingle: int = 3  # words per shingle
    window: int = 8  # words per LSH window
    stride: int = 8  # a stored variant has a window every `stride` words (and one at its end)
    query_stride: int = 1  # a new quote is looked up with a window every `query_stride`
    bands: int = 10  # LSH bands x rows: P(candidate) = 1 - (1 - J**rows)**bands
    rows: int = 2
    jaccard: float = 0.5  # near-duplicates
    coverage: float = 0.8  # share of the shorter text inside shared shingles
    min_fragment: int = 4  # words a fragment needs to join by coverage
    run: int = 10  # a shared run of this many words joins, whatever the lengths
    contested_min: int = 8  # words the same text needs to join across incompatible speakers
    contested_jaccard: float = 0.6  # or near-identical texts
    max_candidates: int = 64  # groups verified per quote, those with most window hits first
    max_bucket: int = 256  # LSH buckets holding more windows than this are stock phrases


PARAMS = Params()
Row = tuple[int, int, tuple[int, ...]]  # an LSH key of a group: variant, window, band hashes


@dataclass(frozen=True)
class Text:
    """A text prepared for matching: segments of words, shingles, a searchable string."""

    segments: tuple[tuple[str, ...], ...]
    shingles: frozenset[str]
    joined: str
    length: int
    tokens: tuple[str, ...] = ()


@lru_cache(maxsize=16384)
def prepare(content: str, size: int = PARAMS.shingle) -> Text:
    segs = tuple(tuple(s) for s in segments(content))
    sh: set[str] = set()
    for seg in segs:
        sh |= shingles(list(seg), size=size)
    joined = " | ".join(" ".join(seg) for seg in segs)
    return Text(segs, frozenset(sh), f" {joined} ", sum(len(s) for s in segs),
                tuple(w for seg in segs for w in seg))


def coverage(small: Text, large: Text, size: int = PARAMS.shingle) -> tuple[float, int]:
    """Share of ``small``'s words inside shingles (or short segments) found in ``large``,
    and the longest such run of words."""
    covered = longest = 0
    for seg in small.segments:
        if len(seg) < size:
            hit = [f" {' '.join(seg)} " in large.joined] * len(seg)
        else:
            hit = [False] * len(seg)
            for i in range(len(seg) - size + 1):
                if " ".join(seg[i:i + size]) in large.shingles:
                    hit[i:i + size] = [True] * size
        run = 0
        for h in hit:
            run = run + 1 if h else 0
            longest = max(longest, run)
        covered += sum(hit)
    return (covered / small.length if small.length else 0.0), longest


def score(a: Text, b: Text, *, clash: bool, p: Params = PARAMS) -> float:
    """How well ``a`` and ``b`` match (0: not the same words). ``clash``: they are
    credited to incompatible speakers, so only strong evidence counts."""
    if not a.length or not b.length:
        return 0.0
    small, large = (a, b) if a.length <= b.length else (b, a)
    if small.tokens == large.tokens:
        return 1.0 if not clash or small.length >= p.contested_min else 0.0
    jac = jaccard(a.shingles, b.shingles)
    cov, run = coverage(small, large, p.shingle)
    if clash:  # the same words, not a fragment or a stock phrase, from someone else
        return (jac + cov) / 2 if jac >= p.contested_jaccard else 0.0
    if jac >= p.jaccard or (cov >= p.coverage and small.length >= p.min_fragment) \
            or run >= p.run:
        return (jac + cov) / 2
    return 0.0


KEYS_HEADER = "newsflow-quote-keys"  # Kafka header: the band hashes of a quote's windows
KEYS_VERSION = 1


@dataclass(frozen=True)
class QuoteKeys:
    """What grouping needs of a quote that depends on the quote alone: the LSH band hashes
    of each distinct query window of its words, in order. The quotes agent (N partitions)
    computes them and ships them in a Kafka header; the group agent (one partition) uses
    them when present and computes them otherwise (old messages, replays)::

        >>> k = quote_keys("We will never abandon our allies in the region.")
        >>> QuoteKeys.decode(k.encode()) == k, len(k.bands), len(k.bands[0])
        (True, 2, 10)
        >>> QuoteKeys.decode(b"junk") is None
        True
    """

    bands: tuple[tuple[int, ...], ...]

    def encode(self) -> bytes:
        """Version, parameters' fingerprint, window count, then the band hashes (int64)."""
        flat = [h for row in self.bands for h in row]
        return struct.pack(f"<BIH{len(flat)}q", KEYS_VERSION, fingerprint(),
                           len(self.bands), *flat)

    @classmethod
    def decode(cls, data: bytes | None, p: Params = PARAMS) -> QuoteKeys | None:
        """The keys of a header, or None when absent, malformed or made with other
        parameters (the group agent then computes them)."""
        if not data or len(data) < 7:
            return None
        version, fp, n = struct.unpack_from("<BIH", data)
        if version != KEYS_VERSION or fp != fingerprint(p) \
                or len(data) != 7 + 8 * n * p.bands:
            return None
        flat = struct.unpack_from(f"<{n * p.bands}q", data, 7)
        return cls(tuple(flat[i:i + p.bands] for i in range(0, len(flat), p.bands)))


def fingerprint(p: Params = PARAMS) -> int:
    """A checksum of what the band hashes depend on (a header made otherwise is ignored)."""
    from pipeline.group.text import NUM_PERM, SEED

    what = (p.shingle, p.window, p.query_stride, p.bands, p.rows, NUM_PERM, SEED, "blake2b8")
    return zlib.crc32(repr(what).encode())


_KEYS_LSH: dict[Params, CompactLSH] = {}


def band_rows(lsh: CompactLSH, wins: list[tuple[str, ...]], p: Params = PARAMS
              ) -> list[tuple[int, ...]]:
    """The LSH band hashes of each window (as ``lsh.insert`` of the window's MinHash
    computes them), the windows' MinHashes made together
    (:func:`~pipeline.group.text.window_minhashes`)."""
    rows = window_minhashes(wins, size=p.shingle, num_perm=p.bands * p.rows)
    # lsh._H hashes a band's byteswapped bytes: swap the rows once, slice the bytes
    data, width, size = rows.byteswap().tobytes(), rows.shape[1], rows.itemsize
    spans = [(s * size, e * size) for s, e in lsh.hashranges]
    h = lsh.hashfunc
    return [tuple(h(data[at + s:at + e]) for s, e in spans)
            for at in range(0, len(rows) * width * size, width * size)]


def quote_keys(content: str, p: Params = PARAMS) -> QuoteKeys:
    """The :class:`QuoteKeys` of ``content`` (a pure function of the words)."""
    if p not in _KEYS_LSH:
        _KEYS_LSH[p] = CompactLSH(p.bands * p.rows, (p.bands, p.rows))
    wins = list(dict.fromkeys(windows(prepare(content, p.shingle), p.window, p.query_stride)))
    return QuoteKeys(tuple(band_rows(_KEYS_LSH[p], wins, p)))


class GroupStore(Protocol):
    """Where groups live: in memory (offline), or in memory backed by an index (agent)."""

    def get(self, group_id: str) -> QuoteGroup | None: ...

    def group_of(self, quote_id: str) -> str | None: ...

    def put(self, group: QuoteGroup) -> None: ...

    def remove(self, group_id: str) -> None: ...

    def groups(self) -> Iterable[QuoteGroup]: ...


class MemoryStore:
    """Groups in dictionaries. ``dirty`` holds the ids changed and ``removed`` the ids merged
    away since :meth:`take_changes` (what a persistent store must write or delete)."""

    def __init__(self, groups: Iterable[QuoteGroup] = ()) -> None:
        self._groups: dict[str, QuoteGroup] = {}
        self._quotes: dict[str, str] = {}
        self.dirty: set[str] = set()
        self.removed: set[str] = set()
        for g in groups:
            self.put(g)
        self.dirty.clear()

    def get(self, group_id: str) -> QuoteGroup | None:
        return self._groups.get(group_id)

    def group_of(self, quote_id: str) -> str | None:
        return self._quotes.get(quote_id)

    def put(self, group: QuoteGroup) -> None:
        """Store a group; its kept members' quotes are looked up, those it summarized
        away are forgotten (bounded: a group keeps at most HEAD + TAIL members)."""
        self._groups[group.id] = group
        for q in group.take_dropped():
            if self._quotes.get(q) == group.id:
                del self._quotes[q]
        for m in group.members:
            self._quotes[m.quote] = group.id
        self.dirty.add(group.id)
        self.removed.discard(group.id)

    def remove(self, group_id: str) -> None:
        self._groups.pop(group_id, None)
        self.dirty.discard(group_id)
        self.removed.add(group_id)

    def groups(self) -> Iterator[QuoteGroup]:
        return iter(self._groups.values())

    def adopt(self, group: QuoteGroup) -> None:
        """Hold a group read back from durable storage (not a change to write)."""
        self._groups[group.id] = group
        for m in group.members:
            self._quotes[m.quote] = group.id

    def evict(self, group_id: str) -> None:
        """Let go of a group whose durable copy is current (not a removal to write)."""
        group = self._groups.pop(group_id, None)
        self.dirty.discard(group_id)
        if group is not None:
            for m in group.members:
                if self._quotes.get(m.quote) == group_id:
                    del self._quotes[m.quote]

    def take_changes(self) -> tuple[list[QuoteGroup], list[str]]:
        """The groups changed (oldest first) and the ids removed since the last call."""
        changed = sorted((self._groups[g] for g in self.dirty), key=lambda g: g.founded)
        removed = sorted(self.removed)
        self.dirty.clear()
        self.removed.clear()
        return changed, removed

    def __len__(self) -> int:
        return len(self._groups)


def windows(text: Text, size: int, stride: int) -> Iterator[tuple[str, ...]]:
    """Windows of ``size`` words every ``stride`` words of each segment (the last one
    ends with the segment; a shorter segment is one window)."""
    for seg in text.segments:
        if len(seg) <= size:
            yield seg
            continue
        starts = list(range(0, len(seg) - size + 1, stride))
        if starts[-1] != len(seg) - size:
            starts.append(len(seg) - size)
        for s in starts:
            yield seg[s:s + size]


@dataclass(frozen=True)
class Match:
    group: QuoteGroup
    score: float
    contains: bool  # the new quote holds the group's words (a fuller report of them)


class QuoteGroups:
    """Assigns quote records to groups; the LSH index is rebuilt from the store.

    When a new quote holds the words of several groups (a full quotation arriving after two
    of its fragments were reported apart), the groups are merged into the oldest: its id
    stays, the others are removed and listed in its ``merged``.
    """

    def __init__(self, store: GroupStore | None = None, params: Params = PARAMS) -> None:
        self.store: GroupStore = store if store is not None else MemoryStore()
        self.p = params
        self.lsh = CompactLSH(params.bands * params.rows, (params.bands, params.rows))
        self.seq = 0
        for group in self.store.groups():
            self.seq = max(self.seq, group.seq)
            self._index(group)

    def rows(self, group: QuoteGroup) -> list[Row]:
        """The group's LSH keys as (variant, window, band hashes): read from the index when
        it holds them, else computed (what :meth:`index_rows` rebuilds the index from)."""
        lsh = self.lsh
        keyed = list(self._keys(group, range(len(group.variants))))
        missing = [window for key, window in keyed if key not in lsh.keys]
        made = iter(self.bands(missing))
        return [(key[1], key[2], tuple(lsh.keys[key]) if key in lsh.keys else next(made))
                for key, _ in keyed]

    def index_rows(self, group: QuoteGroup, rows: list[Row] | None) -> None:
        """Index the group by its stored :meth:`rows` (None: computed from its variants)."""
        if rows is None:
            self._index(group)
            return
        for variant, window, hashes in rows:
            self.lsh.insert_hashes((group.id, variant, window), hashes)

    def get(self, group_id: str) -> QuoteGroup:
        group = self.store.get(group_id)
        if group is None:
            raise KeyError(group_id)
        return group

    def _prepare(self, content: str) -> Text:
        return prepare(content, self.p.shingle)

    def bands(self, wins: list[tuple[str, ...]]) -> list[tuple[int, ...]]:
        """The LSH band hashes of each window (:func:`band_rows`)."""
        return band_rows(self.lsh, wins, self.p)

    def _keys(self, group: QuoteGroup, variants: Iterable[int]
              ) -> Iterator[tuple[tuple[str, int, int], tuple[str, ...]]]:
        """LSH keys and windows of the group's variants worth indexing: those not covered
        by an earlier variant (wire copies and fragments of known words add nothing)."""
        for i in variants:
            text = group.prepared(i, self._prepare)
            if any(coverage(text, group.prepared(j, self._prepare),
                            self.p.shingle)[0] >= 0.95 for j in range(i)):
                continue
            wins = dict.fromkeys(windows(text, self.p.window, self.p.stride))
            for w, window in enumerate(wins):
                yield (group.id, i, w), window

    def _index(self, group: QuoteGroup, variants: Iterable[int] | None = None,
               known: dict[tuple[str, ...], tuple[int, ...]] | None = None) -> None:
        """Index the windows of the group's ``variants`` (all by default); ``known``: band
        hashes already computed, by window (the quote's :class:`QuoteKeys`)."""
        keyed = list(self._keys(group, variants or range(len(group.variants))))
        known = known or {}
        made = iter(self.bands([w for _, w in keyed if w not in known]))
        for key, window in keyed:
            self.lsh.insert_hashes(key, known[window] if window in known else next(made))

    def _unindex(self, group: QuoteGroup) -> None:
        for key, _ in self._keys(group, range(len(group.variants))):
            if key in self.lsh.keys:
                self.lsh.remove(key)

    def candidates(self, text: Text, keys: QuoteKeys | None = None) -> dict[str, int]:
        """Groups with a window near one of ``text``'s windows, and how many such windows
        (``keys``: their band hashes computed ahead, else computed here)."""
        found: dict[str, int] = {}
        wins = list(dict.fromkeys(windows(text, self.p.window, self.p.query_stride)))
        if keys is None or len(keys.bands) != len(wins):
            keys = QuoteKeys(tuple(self.bands(wins)))
        for bands in keys.bands:
            keys_found = self.lsh.query_bands(bands, self.p.max_bucket)
            for gid in {key[0] for key in keys_found}:  # type: ignore[index]
                found[gid] = found.get(gid, 0) + 1
        return found

    def matches(self, text: Text, speaker: Speaker, chains: Chains = NO_CHAINS,
                article: str = "", keys: QuoteKeys | None = None) -> list[Match]:
        """The groups ``text`` matches, best first (ties: the oldest). Credits from the
        quote's own ``article`` do not clash with it (an article nests its sources)."""
        out = []
        hits = self.candidates(text, keys)
        ranked = sorted(((-n, self.get(gid).founded, gid) for gid, n in hits.items()))
        for _, _, gid in ranked[:self.p.max_candidates]:
            group = self.get(gid)
            clash = not fits(speaker, group.credited_elsewhere(article), chains | group.chains)
            best, contains = 0.0, False
            for i in range(len(group.variants)):
                vt = group.prepared(i, self._prepare)
                s = score(text, vt, clash=clash, p=self.p)
                if s > 0:
                    best = max(best, s)
                    contains = contains or (vt.length <= text.length and coverage(
                        vt, text, self.p.shingle)[0] >= self.p.coverage)
            if best > 0:
                out.append(Match(group, best, contains))
        return sorted(out, key=lambda m: (-m.score, m.group.founded))

    def add(self, quote: Quote, *, seq: int | None = None, keys: QuoteKeys | None = None
            ) -> str:
        """Group ``quote`` (arrival number ``seq``, default: the next one); return its group
        id. A quote already seen returns its group unchanged. ``keys``: its
        :func:`quote_keys`, when computed ahead (the same groups either way)."""
        known = self.store.group_of(quote.id)
        if known is not None:
            return known
        self.seq = seq if seq is not None else self.seq + 1
        text = prepare(quote.content, self.p.shingle)
        speaker = Speaker.of(quote.speaker)
        links = chain(speaker, quote.cited_via)
        wins = list(dict.fromkeys(windows(text, self.p.window, self.p.query_stride)))
        if text.length and (keys is None or len(keys.bands) != len(wins)):
            keys = QuoteKeys(tuple(self.bands(wins)))
        found = self.matches(text, speaker, links, quote.article.id, keys) \
            if text.length else []
        if seq is not None and found and found[0].group.seq >= seq:
            return found[0].group.id  # a replay: that group already reflects this arrival
        group = self._join(found, speaker, links) if found else \
            QuoteGroup(id=quote.id, founded=self.seq)
        before = len(group.variants)
        art = quote.article
        group.add(Member(
            quote=quote.id, article=art.id, seq=self.seq, url=art.url, title=art.title,
            publisher=art.publisher, language=art.language,
            published_at=art.published_at.isoformat() if art.published_at else None,
            speaker=speaker, kind=quote.kind, cue=quote.cue, cited_via=list(quote.cited_via)),
            quote.content)
        self.store.put(group)
        if len(group.variants) > before:
            hashes = dict(zip(wins, keys.bands, strict=True)) \
                if keys is not None and len(keys.bands) == len(wins) else None
            self._index(group, [before], known=hashes)
        return group.id

    def _join(self, found: list[Match], speaker: Speaker, links: Chains) -> QuoteGroup:
        """The group a quote joins: its best match, merged with the other groups whose
        words it holds and whose speakers agree with it (then the oldest one survives)."""
        chosen = [found[0].group]
        credited = [*found[0].group.credited, speaker]
        chains = links | found[0].group.chains
        for m in found[1:]:
            links_all = chains | m.group.chains
            if m.contains and all(fits(s, credited, links_all) for s in m.group.credited):
                chosen.append(m.group)
                credited += m.group.credited
                chains |= m.group.chains
        if len(chosen) == 1:
            return chosen[0]
        chosen.sort(key=lambda g: g.founded)
        survivor = chosen[0]
        for g in chosen:
            self._unindex(g)
        for g in chosen[1:]:
            survivor.absorb(g, self.seq)
            self.store.remove(g.id)
        self._index(survivor)
        return survivor

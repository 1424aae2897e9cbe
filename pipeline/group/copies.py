"""Copies and stories: which earlier article an article copies, and the story they share.

A wire story is carried by many outlets, each with its own headline, dateline, credit
line, cuts and copy-edits. :class:`StoryIndex` gives every article, in the order it sees
them, a ``story`` (the id of the story's first article), ``copy_of`` (the earliest
article it copies, None for a story's first) and the ``similarity`` of the two::

    >>> index = StoryIndex()
    >>> wire = ("PARIS (AFP) — French rail workers will strike for three days from Tuesday, "
    ...         "unions said, in protest at a pension reform the government wants passed "
    ...         "before the summer.\\n\\nThe strike is expected to halt most high-speed "
    ...         "trains and half of regional services, the national operator SNCF said.")
    >>> index.assign(Body(id="a", text=wire))
    ('a', None, None)
    >>> copy = wire.replace("PARIS (AFP) — ", "") + "\\n\\n© 2026 AFP"
    >>> index.assign(Body(id="b", text=copy))
    ('a', 'a', 1.0)
    >>> index.assign(Body(id="c", text="The city council approved the budget on Monday "
    ...                   "after a debate that lasted eleven hours."))
    ('c', None, None)

How: the body is compared without what copies change around it (dateline, credit and
copyright lines, editor's notes, related-links blocks; :func:`comparable`). Candidates
come from a datasketch MinHashLSH over word 3-shingles, with two signatures per article
(the whole body and its lede, so a copy cut to its first paragraphs still meets its
original), and are verified on a fixed sample of the shingles: the share of the smaller
text found in the larger (containment, robust to truncation and to added blocks) must
reach ``threshold``; the larger must share enough of itself too, or the two ledes agree (a
truncation); and the names and numbers of the one with fewer must be in the other
(:func:`~pipeline.group.body.keys`). A follow-up that reuses one background paragraph,
another story on the same topic, or a templated story about other people or figures
fails one of these and stays its own story.

Deterministic: the same articles in the same order give the same stories in any
process (seeded hashes); an article seen before gets its stored assignment back, so
replays are idempotent. :meth:`StoryIndex.record` and :meth:`StoryIndex.restore`
persist an entry and rebuild the index (LSH included) from the records.

Bounded: with a ``window`` (seconds of event time: an article's ``published_at``, its
arrival where that is missing) only the entries of the last ``window`` stay in memory
(:class:`~pipeline.group.hot.HotWindow`); when they give no copy, ``durable`` (a
:class:`Durable`, e.g. the Elasticsearch state) is asked for older candidates by their LSH
band terms, so a copy that comes a month after its original still joins its story. A
batch can be staged (:meth:`StoryIndex.begin`): its entries are seen by the articles after
them but are kept only on :meth:`StoryIndex.commit` (after the durable write), and
:meth:`StoryIndex.rollback` forgets them.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from pipeline.group.arraylsh import ArrayLSH
from pipeline.group.articles import Article, Body, Durable, event_time
from pipeline.group.body import WIRES, comparable, edges
from pipeline.group.hot import HotWindow
from pipeline.group.prepared import Prepared
from pipeline.group.signature import (
    BANDS,
    ROWS,
    Assignment,
    Entry,
    Overlap,
    Signature,
    _bytes,
    _kept_sample,
    _mod,
    band_terms,
    entry_of,
    is_copy,
    overlap,
    record_of,
)
from pipeline.group.text import NUM_PERM
from pipeline.group.wire import WireDetector

__all__ = ["Article", "Assignment", "Body", "Durable", "Entry", "Overlap", "Signature",
           "StoryIndex", "assign_all", "comparable", "is_copy", "overlap"]
THRESHOLD = 0.5  # containment of the smaller text in the larger, to be a copy
COLD_CANDIDATES = 32  # older candidates asked of the durable state per lookup


class StoryIndex:
    """Assigns stories to articles in arrival order (see the module doc: window, durable
    lookup, staged batches)."""

    def __init__(self, *, threshold: float = THRESHOLD, wires: WireDetector | None = None,
                 window: float | None = None, durable: Durable | None = None,
                 bands: int = BANDS, rows: int = ROWS) -> None:
        self.threshold = threshold
        self.wires = wires or WIRES
        self.hot = HotWindow(window=window, params=(bands, rows))
        self.durable = durable
        self.staged: list[Entry] | None = None  # a batch not yet committed
        self._staged_ids: dict[str, Entry] = {}
        self._staged_lsh = ArrayLSH(params=(BANDS, ROWS), num_perm=NUM_PERM)
        self.next_seq = 0
        self.cold_hits = 0  # copies found in the durable state (out of the window)

    @property
    def entries(self) -> dict[str, Entry]:
        return self.hot.entries

    def __len__(self) -> int:
        return len(self.hot)

    def __bool__(self) -> bool:  # an empty index is still an index (``stories or default``)
        return True

    def __contains__(self, article_id: object) -> bool:
        return article_id in self.hot.entries or article_id in self._staged_ids

    # --- the interface of pipeline.group.grouper.Grouper -------------------------------
    def assign(self, article: Article) -> tuple[str, str | None, float | None]:
        """(story, copy_of, similarity) of ``article``; stored, so asking again is free."""
        return self.place(article).triple()

    # -----------------------------------------------------------------------------------
    def _entry(self, article_id: str) -> Entry | None:
        return self._staged_ids.get(article_id) or self.hot.entries.get(article_id)

    def get(self, article_id: str) -> Assignment | None:
        entry = self._entry(article_id)
        return _assignment(entry) if entry else None

    def place(self, article: Article, prepared: Prepared | None = None) -> Assignment:
        """The article's assignment: the stored one if seen before, else decided now.

        ``prepared``: its signature and wire computed elsewhere (the funnel's header,
        :mod:`pipeline.group.prepared`); the assignment is the same without it."""
        known = self.get(article.id)
        if known is not None:
            return known
        clock = self.hot.clock if self.hot.clock > -math.inf else 0.0
        event = event_time(article, clock)
        sig = prepared.sig if prepared is not None else Signature.of(article.text)
        best = self.best_match(sig, own=article.id)
        if best is not None and best[0].id == article.id:  # seen, out of the window
            return _assignment(best[0])
        if prepared is not None and self.wires is WIRES:
            own = prepared.wire
        else:
            found = self.wires.detect(edges(article.text), article.authors)
            own = found.name if found else None
        if best is None:
            entry = self._add(article.id, article.id, None, None, own, sig, event)
        else:
            original, similarity = best
            entry = self._add(article.id, original.story, original.id, similarity,
                              own or original.wire, sig, event)
        return _assignment(entry)

    def candidates(self, sig: Signature) -> list[Entry]:
        """Hot (and staged) entries the LSH finds near either signature, earliest first."""
        seqs: set[int] = set()
        for mh in (sig.whole, sig.lede):
            if mh is not None:
                seqs.update(self.hot.query(mh))
        found = [self.hot.by_seq[s] for s in seqs if s in self.hot.by_seq]
        if self.staged:
            near: set[int] = set()
            for mh in (sig.whole, sig.lede):
                if mh is not None:
                    near.update(key >> 1 for key in self._staged_lsh.query(mh))
            found += [e for e in self.staged if e.seq in near]
        return sorted(found, key=lambda e: e.seq)

    def cold(self, sig: Signature) -> list[Entry]:
        """Candidates out of the window, from the durable state (none without one, or
        while nothing has left the window)."""
        if self.durable is None or self.hot.cut == -math.inf:
            return []
        terms = band_terms(*_values(sig))
        if not terms:
            return []
        records = self.durable.candidates(terms, before=self.hot.cut, size=COLD_CANDIDATES)
        return [entry_of(r) for r in records]

    def best_match(self, sig: Signature, *, own: str | None = None
                   ) -> tuple[Entry, float] | None:
        """The earliest verified candidate and its similarity (the hot window first, then
        the durable state), or None. A durable record of ``own`` is returned as is."""
        found = self._verified(sig, self.candidates(sig))
        if found is not None:
            return found
        older = self.cold(sig)
        for e in older:
            if e.id == own:
                return e, 1.0
        found = self._verified(sig, older)
        if found is not None:
            self.cold_hits += 1
        return found

    def _verified(self, sig: Signature, entries: list[Entry]) -> tuple[Entry, float] | None:
        for entry in entries:
            o = overlap(sig, entry)
            if is_copy(o, threshold=self.threshold, sizes=(len(sig.hashes), entry.size)):
                return entry, round(o.small, 4)
        return None

    def overlaps(self, sig: Signature) -> list[tuple[Entry, Overlap]]:
        """Every candidate with its overlap: for benchmarks and tuning."""
        return [(e, overlap(sig, e)) for e in self.candidates(sig)]

    def _add(self, article_id: str, story: str, copy_of: str | None,
             similarity: float | None, wire: str | None, sig: Signature,
             event: float) -> Entry:
        mod = _mod(len(sig.hashes))
        key_mod, names = _kept_sample(sig.names)
        numbers = sig.numbers[sig.numbers % key_mod == 0] if key_mod > 1 else sig.numbers
        entry = Entry(seq=self.next_seq, id=article_id, story=story, copy_of=copy_of,
                      similarity=similarity, wire=wire, size=len(sig.hashes), mod=mod,
                      sample_bytes=_bytes(sig.sample(mod)),
                      whole_bytes=None if sig.whole is None else _bytes(sig.whole.hashvalues),
                      lede_bytes=None if sig.lede is None else _bytes(sig.lede.hashvalues),
                      names_bytes=_bytes(names), numbers_bytes=_bytes(numbers),
                      key_mod=key_mod, event=event)
        self.next_seq += 1
        if self.staged is None:
            self._keep(entry)
        else:
            self.staged.append(entry)
            self._staged_ids[entry.id] = entry
            for kind, mh in enumerate((sig.whole, sig.lede)):
                if mh is not None:
                    self._staged_lsh.insert(entry.seq << 1 | kind, mh)
        return entry

    def _keep(self, entry: Entry) -> None:
        self.next_seq = max(self.next_seq, entry.seq + 1)
        self.hot.add(entry)
        self.hot.evict()

    # --- staged batches ----------------------------------------------------------------
    def begin(self) -> None:
        """Stage what is placed from now on (see :meth:`commit`, :meth:`rollback`)."""
        self.rollback()
        self.staged = []
        self._staged_lsh = ArrayLSH(params=(BANDS, ROWS), num_perm=NUM_PERM)

    def commit(self, *, drop: Collection[str] = ()) -> None:
        """Keep the staged entries (their durable write succeeded), but those of the
        ids in ``drop`` (their records were rejected: their articles are dead-lettered)."""
        staged, self.staged, self._staged_ids = self.staged or [], None, {}
        for entry in staged:
            if entry.id not in drop:
                self._keep(entry)

    def rollback(self) -> None:
        """Forget the staged entries: the index is as it was before :meth:`begin`."""
        if self.staged:
            self.next_seq = min(e.seq for e in self.staged)
        self.staged, self._staged_ids = None, {}

    # --- persistence --------------------------------------------------------------------
    def record(self, article_id: str) -> dict[str, Any]:
        """A JSON-able record of an entry (staged or kept): :meth:`restore` rebuilds it."""
        entry = self._entry(article_id)
        if entry is None:
            raise KeyError(article_id)
        return record_of(entry)

    def restore(self, records: Iterable[dict[str, Any]], *, chunk: int = 50_000,
                since: float | None = None) -> int:
        """Add entries from records (any order; known ids are skipped), the LSH in bulk,
        ``chunk`` at a time. ``since``: the records were read from this event time on
        (older ones stay durable, out of the window)."""
        if since is not None:
            self.hot.skip(since)
        n = 0
        batch: list[Entry] = []
        for r in records:
            if r["id"] in self.hot.entries:
                continue
            entry = entry_of(r)
            self.next_seq = max(self.next_seq, entry.seq + 1)
            batch.append(entry)
            if len(batch) >= chunk:
                n += self.hot.bulk(batch)
                batch = []
        n += self.hot.bulk(batch)
        self.hot.evict()
        return n

    def nbytes(self) -> int:
        """Approximate bytes of the hot entries and their LSH rows."""
        return self.hot.nbytes


def _values(sig: Signature) -> tuple[bytes | None, bytes | None]:
    return (None if sig.whole is None else _bytes(sig.whole.hashvalues),
            None if sig.lede is None else _bytes(sig.lede.hashvalues))


def _assignment(e: Entry) -> Assignment:
    return Assignment(id=e.id, story=e.story, copy_of=e.copy_of, similarity=e.similarity,
                      wire=e.wire)


def assign_all(articles: Sequence[Article], index: StoryIndex | None = None
               ) -> list[Assignment]:
    """Assignments of ``articles`` in the order given (a new index unless one is given)."""
    index = index or StoryIndex()
    return [index.place(a) for a in articles]


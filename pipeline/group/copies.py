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
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from datasketch import LeanMinHash, MinHash

from pipeline.group.arraylsh import ArrayLSH
from pipeline.group.body import WIRES, _tokens, comparable, keys
from pipeline.group.text import (
    NUM_PERM,
    SEED,
    minhash_of_hashes,
    shingle_hashes,
    shingles,
)
from pipeline.group.wire import WireDetector

SHINGLE = 3  # words per shingle
LEDE_WORDS = 60  # the lede signature covers the first words of the comparable body
THRESHOLD = 0.5  # containment of the smaller text in the larger, to be a copy
MIN_SHARED = 12  # shingles two texts must share at least (unless one is smaller)
SAMPLE_CAP = 128  # about this many shingle hashes are kept per article for verification
LARGE_SHARE = 0.4  # ... and this share of the larger one, or
LEDE_JACCARD = 0.5  # this similarity of their ledes (a copy cut to its first paragraphs)
NAME_SHARE = 0.7  # names of the text with fewer found in the other (3 names or more), and
NUMBER_SHARE = 0.75  # its numbers: a copy keeps the figures, a templated story does not
MIN_NAMES = 3
KEY_CAP = 48  # names (and numbers) kept per article
BANDS, ROWS = 21, 3  # LSH: 21 bands of 3 rows of the 64 permutations

_EMPTY = np.empty(0, dtype=np.uint32)


class Article(Protocol):
    """What the index reads of an article: a RawArticle or an EnrichedArticle will do."""

    @property
    def id(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def authors(self) -> list[str]: ...


@dataclass
class Body:
    """A bare article for the index (tests, benchmarks): id, text, optional authors."""

    id: str
    text: str
    authors: list[str] = field(default_factory=list)


def _mod(n: int, cap: int = SAMPLE_CAP) -> int:
    """The sampling modulus (a power of two) that keeps about ``cap`` of n hashes."""
    m = 1
    while n // m > cap:
        m *= 2
    return m


@dataclass(frozen=True)
class Signature:
    """What the index needs of a text: MinHashes (whole, lede), the shingle hashes and
    the hashes of its names and numbers."""

    hashes: np.ndarray  # unique uint32 hashes of all shingles, sorted
    whole: MinHash | None
    lede: MinHash | None
    names: np.ndarray = field(default_factory=lambda: _EMPTY)
    numbers: np.ndarray = field(default_factory=lambda: _EMPTY)

    @classmethod
    def of(cls, text: str) -> Signature:
        body = comparable(text)
        toks = _tokens(body)
        if not toks:
            return cls(_EMPTY, None, None)
        hashes = np.unique(np.array(shingle_hashes(shingles(toks, size=SHINGLE)),
                                    dtype=np.uint32))
        whole = minhash_of_hashes(hashes.tolist())
        lede = None
        if len(toks) > LEDE_WORDS * 3 // 2:
            lede = minhash_of_hashes(shingle_hashes(shingles(toks[:LEDE_WORDS], size=SHINGLE)))
        names, numbers = keys(body)
        return cls(hashes, whole, lede, _hashed(names), _hashed(numbers))

    def sample(self, mod: int) -> np.ndarray:
        return self.hashes[self.hashes % mod == 0] if mod > 1 else self.hashes


@dataclass(slots=True)
class Entry:
    """One article seen: its assignment, and the sample of its shingles kept to verify.

    Hash values are kept as bytes (little-endian uint32): a third of a numpy array's size.
    """

    seq: int
    id: str
    story: str
    copy_of: str | None
    similarity: float | None
    wire: str | None
    size: int  # shingles of the whole comparable body
    mod: int
    sample_bytes: bytes
    whole_bytes: bytes | None = None  # MinHash hash values, kept for records
    lede_bytes: bytes | None = None
    names_bytes: bytes = b""  # hashes of its names and numbers (see keys()), sampled
    numbers_bytes: bytes = b""
    key_mod: int = 1

    @property
    def sample(self) -> np.ndarray:
        return np.frombuffer(self.sample_bytes, dtype="<u4")

    @property
    def ledeish(self) -> np.ndarray | None:
        """The lede's MinHash values, or the whole's when the text is short."""
        data = self.lede_bytes if self.lede_bytes is not None else self.whole_bytes
        return None if data is None else np.frombuffer(data, dtype="<u4")


@dataclass(frozen=True)
class Assignment:
    """An article's place: its story, what it copies, how similar, and its wire."""

    id: str
    story: str
    copy_of: str | None = None
    similarity: float | None = None
    wire: str | None = None

    def triple(self) -> tuple[str, str | None, float | None]:
        return self.story, self.copy_of, self.similarity


@dataclass(frozen=True)
class Overlap:
    """How two texts overlap, estimated on the stored sample of their shingles."""

    small: float  # share of the smaller text found in the larger (the similarity)
    large: float  # share of the larger text found in the smaller
    shared: int  # shingles in common (estimated)
    lede: float  # Jaccard of the two ledes (MinHash estimate)
    names: float = 1.0  # share of the names of the one with fewer found in the other
    numbers: float = 1.0  # the same for numbers


def overlap(new: Signature, entry: Entry) -> Overlap:
    """The overlap of a new text with an entry's."""
    mine = new.sample(entry.mod)
    if not len(mine) or not entry.sample_bytes:
        return Overlap(0.0, 0.0, 0, 0.0)
    theirs_sample = entry.sample
    shared = len(np.intersect1d(mine, theirs_sample, assume_unique=True))
    lede = 0.0
    theirs = entry.ledeish
    ours = new.lede if new.lede is not None else new.whole
    if theirs is not None and ours is not None:
        lede = float(np.mean(theirs == ours.hashvalues))
    return Overlap(shared / min(len(mine), len(theirs_sample)),
                   shared / max(len(mine), len(theirs_sample)), shared * entry.mod, lede,
                   _kept(new.names, entry.names_bytes, entry.key_mod, MIN_NAMES),
                   _kept(new.numbers, entry.numbers_bytes, entry.key_mod, 1))


def _kept(ours: np.ndarray, theirs_bytes: bytes, mod: int, least: int) -> float:
    """Share of the smaller set found in the other (1.0 when it has under ``least``)."""
    theirs = np.frombuffer(theirs_bytes, dtype="<u4")
    if mod > 1:
        ours = ours[ours % mod == 0]
    if min(len(ours), len(theirs)) < least:
        return 1.0
    return len(np.intersect1d(ours, theirs, assume_unique=True)) / min(len(ours), len(theirs))


def is_copy(o: Overlap, *, threshold: float, sizes: tuple[int, int]) -> bool:
    """A copy: most of the smaller text is in the larger, and either most of the larger is
    in the smaller too (edits, cuts, added blocks) or the two start alike (a truncation).
    A follow-up reusing a background paragraph fails both: it starts with its own news."""
    if o.small < threshold or o.shared < min(MIN_SHARED, *sizes):
        return False
    if o.names < NAME_SHARE or o.numbers < NUMBER_SHARE:
        return False  # the same template about other people, places or figures
    return o.large >= LARGE_SHARE or o.lede >= LEDE_JACCARD


def _lean(values: np.ndarray) -> LeanMinHash:
    return LeanMinHash(seed=SEED, hashvalues=values, scheme="affine32")


class StoryIndex:
    """Assigns stories to articles in arrival order (in memory; see :meth:`restore`)."""

    def __init__(self, *, threshold: float = THRESHOLD, wires: WireDetector | None = None,
                 bands: int = BANDS, rows: int = ROWS) -> None:
        self.threshold = threshold
        self.wires = wires or WIRES
        self.lsh = ArrayLSH(params=(bands, rows), num_perm=NUM_PERM)
        self.entries: dict[str, Entry] = {}
        self.by_seq: list[Entry | None] = []
        self.next_seq = 0

    def __len__(self) -> int:
        return len(self.entries)

    def __bool__(self) -> bool:  # an empty index is still an index (``stories or default``)
        return True

    def __contains__(self, article_id: object) -> bool:
        return article_id in self.entries

    # --- the interface of pipeline.group.grouper.Grouper -------------------------------
    def assign(self, article: Article) -> tuple[str, str | None, float | None]:
        """(story, copy_of, similarity) of ``article``; stored, so asking again is free."""
        return self.place(article).triple()

    # -----------------------------------------------------------------------------------
    def get(self, article_id: str) -> Assignment | None:
        entry = self.entries.get(article_id)
        return _assignment(entry) if entry else None

    def place(self, article: Article) -> Assignment:
        """The article's assignment: the stored one if seen before, else decided now."""
        known = self.get(article.id)
        if known is not None:
            return known
        sig = Signature.of(article.text)
        best = self.best_match(sig)
        own = self.wires.detect(article.text, article.authors)
        if best is None:
            entry = self._add(article.id, article.id, None, None, own.name if own else None,
                              sig)
        else:
            original, similarity = best
            entry = self._add(article.id, original.story, original.id, similarity,
                              own.name if own else original.wire, sig)
        return _assignment(entry)

    def candidates(self, sig: Signature) -> list[Entry]:
        """Entries the LSH finds near either signature, earliest first."""
        seqs: set[int] = set()
        for mh in (sig.whole, sig.lede):
            if mh is not None:
                seqs.update(key >> 1 for key in self.lsh.query(mh))
        found = (self.by_seq[s] for s in sorted(seqs) if s < len(self.by_seq))
        return [e for e in found if e is not None]

    def best_match(self, sig: Signature) -> tuple[Entry, float] | None:
        """The earliest verified candidate and its similarity, or None."""
        for entry in self.candidates(sig):
            o = overlap(sig, entry)
            if is_copy(o, threshold=self.threshold, sizes=(len(sig.hashes), entry.size)):
                return entry, round(o.small, 4)
        return None

    def overlaps(self, sig: Signature) -> list[tuple[Entry, Overlap]]:
        """Every candidate with its overlap: for benchmarks and tuning."""
        return [(e, overlap(sig, e)) for e in self.candidates(sig)]

    def _add(self, article_id: str, story: str, copy_of: str | None,
             similarity: float | None, wire: str | None, sig: Signature) -> Entry:
        mod = _mod(len(sig.hashes))
        key_mod, names = _kept_sample(sig.names)
        numbers = sig.numbers[sig.numbers % key_mod == 0] if key_mod > 1 else sig.numbers
        entry = Entry(seq=self.next_seq, id=article_id, story=story, copy_of=copy_of,
                      similarity=similarity, wire=wire, size=len(sig.hashes), mod=mod,
                      sample_bytes=_bytes(sig.sample(mod)),
                      whole_bytes=None if sig.whole is None else _bytes(sig.whole.hashvalues),
                      lede_bytes=None if sig.lede is None else _bytes(sig.lede.hashvalues),
                      names_bytes=_bytes(names), numbers_bytes=_bytes(numbers),
                      key_mod=key_mod)
        self._insert(entry)
        return entry

    def _insert(self, entry: Entry, *, lsh: bool = True) -> None:
        self.next_seq = max(self.next_seq, entry.seq + 1)
        self.entries[entry.id] = entry
        if entry.seq >= len(self.by_seq):
            self.by_seq.extend([None] * (entry.seq + 1 - len(self.by_seq)))
        self.by_seq[entry.seq] = entry
        if not lsh:
            return
        for kind, data in enumerate((entry.whole_bytes, entry.lede_bytes)):
            if data is not None:
                values = np.frombuffer(data, dtype="<u4").astype(np.uint32)
                self.lsh.insert(entry.seq << 1 | kind, _lean(values))

    # --- persistence --------------------------------------------------------------------
    def record(self, article_id: str) -> dict[str, Any]:
        """A JSON-able record of an entry: :meth:`restore` rebuilds it exactly."""
        e = self.entries[article_id]
        return {"id": e.id, "seq": e.seq, "story": e.story, "copy_of": e.copy_of,
                "similarity": e.similarity, "wire": e.wire, "size": e.size, "mod": e.mod,
                "sample": _b64(e.sample_bytes), "whole": _b64(e.whole_bytes),
                "lede": _b64(e.lede_bytes), "names": _b64(e.names_bytes),
                "numbers": _b64(e.numbers_bytes), "key_mod": e.key_mod}

    def restore(self, records: Iterable[dict[str, Any]], *, chunk: int = 50_000) -> int:
        """Add entries from records (any order; already known ids are skipped). The LSH
        gets them in bulk, ``chunk`` at a time (vectorised band hashes)."""
        n = 0
        keys: list[int] = []
        values: list[bytes] = []
        for r in records:
            if r["id"] in self.entries:
                continue
            entry = Entry(seq=int(r["seq"]), id=r["id"], story=r["story"],
                          copy_of=r.get("copy_of"), similarity=r.get("similarity"),
                          wire=r.get("wire"), size=int(r["size"]), mod=int(r["mod"]),
                          sample_bytes=_unb64(r.get("sample")) or b"",
                          whole_bytes=_unb64(r.get("whole")), lede_bytes=_unb64(r.get("lede")),
                          names_bytes=_unb64(r.get("names")) or b"",
                          numbers_bytes=_unb64(r.get("numbers")) or b"",
                          key_mod=int(r.get("key_mod") or 1))
            self._insert(entry, lsh=False)
            for kind, data in enumerate((entry.whole_bytes, entry.lede_bytes)):
                if data is not None:
                    keys.append(entry.seq << 1 | kind)
                    values.append(data)
            n += 1
            if len(keys) >= chunk:
                self._bulk(keys, values)
                keys, values = [], []
        self._bulk(keys, values)
        return n

    def _bulk(self, keys: list[int], values: list[bytes]) -> None:
        if keys:
            rows = np.frombuffer(b"".join(values), dtype="<u4").reshape(len(keys), -1)
            self.lsh.insert_many(np.array(keys, dtype=np.uint32), rows)

    def nbytes(self) -> int:
        """Bytes of the LSH's bucket arrays and of the entries' hash values (no overheads)."""
        return self.lsh.nbytes() + sum(len(e.sample_bytes) + len(e.whole_bytes or b"")
                                       + len(e.lede_bytes or b"") + len(e.names_bytes)
                                       + len(e.numbers_bytes) for e in self.entries.values())


def _assignment(e: Entry) -> Assignment:
    return Assignment(id=e.id, story=e.story, copy_of=e.copy_of, similarity=e.similarity,
                      wire=e.wire)


def _hashed(items: set[str]) -> np.ndarray:
    """Sorted unique hashes of ``items``."""
    return np.unique(np.array(shingle_hashes(items), dtype=np.uint32))


def _kept_sample(values: np.ndarray) -> tuple[int, np.ndarray]:
    """(modulus, the hashes it keeps): about KEY_CAP of them, the same rule everywhere
    (so two samples compare like the sets they come from)."""
    mod = _mod(len(values), KEY_CAP)
    return mod, values[values % mod == 0] if mod > 1 else values


def _bytes(values: np.ndarray) -> bytes:
    return np.ascontiguousarray(values, dtype="<u4").tobytes()


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _unb64(data: str | None) -> bytes | None:
    return None if data is None else base64.b64decode(data)


def assign_all(articles: Sequence[Article], index: StoryIndex | None = None
               ) -> list[Assignment]:
    """Assignments of ``articles`` in the order given (a new index unless one is given)."""
    index = index or StoryIndex()
    return [index.place(a) for a in articles]

"""What the story index keeps of an article and how two are compared.

:class:`Signature` is a text's MinHashes (whole and lede), its shingle hashes and the
hashes of its names and numbers; :class:`Entry` what the index keeps of an article seen
(a sample of those, its assignment, its event time); :func:`overlap` and :func:`is_copy`
decide whether a new text copies an entry (see :mod:`pipeline.group.copies`)::

    >>> sig = Signature.of("The minister said the talks in Geneva had failed on Monday.")
    >>> len(sig.hashes), sig.lede is None
    (9, True)
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from datasketch import LeanMinHash, MinHash

from pipeline.group.body import _tokens, bounded, comparable, keys
from pipeline.group.text import SEED, minhash_of_hashes, shingle_hashes, shingles

SHINGLE = 3  # words per shingle
LEDE_WORDS = 60  # the lede signature covers the first words of the comparable body
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
        """The signature of ``text``'s head (:func:`~pipeline.group.body.bounded`)."""
        body = comparable(bounded(text))
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
    event: float = 0.0  # event time (epoch seconds): published, or arrived when unknown

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


def band_terms(*values: bytes | None) -> list[str]:
    """The LSH band keys of MinHash values (``whole``, ``lede`` bytes) as keyword terms:
    two signatures share a term exactly when the LSH would make them candidates::

        >>> a = bytes(range(252)) + bytes(4)
        >>> band_terms(a)[:1], len(band_terms(a, a))
        (['004e85a98c0a3de55d'], 21)
    """
    out: set[str] = set()
    width = ROWS * 4
    for data in values:
        if data is None:
            continue
        for b in range(BANDS):
            chunk = data[b * width:(b + 1) * width]
            out.add(f"{b:02d}" + hashlib.blake2b(chunk, digest_size=8).hexdigest())
    return sorted(out)


def record_of(e: Entry) -> dict[str, Any]:
    """A JSON-able record of an entry (:func:`entry_of` gives it back exactly), with its
    band terms for a durable candidate lookup."""
    return {"id": e.id, "seq": e.seq, "story": e.story, "copy_of": e.copy_of,
            "similarity": e.similarity, "wire": e.wire, "size": e.size, "mod": e.mod,
            "sample": _b64(e.sample_bytes), "whole": _b64(e.whole_bytes),
            "lede": _b64(e.lede_bytes), "names": _b64(e.names_bytes),
            "numbers": _b64(e.numbers_bytes), "key_mod": e.key_mod, "event": e.event,
            "bands": band_terms(e.whole_bytes, e.lede_bytes)}


def entry_of(r: dict[str, Any]) -> Entry:
    """The entry of a record (:func:`record_of`; records without ``event`` have 0)."""
    return Entry(seq=int(r["seq"]), id=r["id"], story=r["story"], copy_of=r.get("copy_of"),
                 similarity=r.get("similarity"), wire=r.get("wire"), size=int(r["size"]),
                 mod=int(r["mod"]), sample_bytes=_unb64(r.get("sample")) or b"",
                 whole_bytes=_unb64(r.get("whole")), lede_bytes=_unb64(r.get("lede")),
                 names_bytes=_unb64(r.get("names")) or b"",
                 numbers_bytes=_unb64(r.get("numbers")) or b"",
                 key_mod=int(r.get("key_mod") or 1), event=float(r.get("event") or 0.0))


def entry_bytes(e: Entry) -> int:
    """Approximate memory of an entry in the index: its hash bytes, its LSH rows (12
    bytes per band and signature) and the Python objects and allocator slack around
    them (calibrated on bench/results/story_soak.json: ~6 KB of RSS per hot article)."""
    sigs = (e.whole_bytes is not None) + (e.lede_bytes is not None)
    return (len(e.sample_bytes) + len(e.whole_bytes or b"") + len(e.lede_bytes or b"")
            + len(e.names_bytes) + len(e.numbers_bytes) + sigs * BANDS * 12 + 3600)

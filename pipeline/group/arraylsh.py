"""A datasketch MinHashLSH whose buckets live in sorted numpy arrays (append-only).

datasketch's in-memory storage keeps a ``set`` per bucket in a ``dict`` per band: about
300 bytes per band and key, 13 KB per article with two signatures of 21 bands. Here a
band's buckets are a sorted array of (band hash, key) pairs, 12 bytes each, plus a small
dict of recent inserts merged into the arrays as it grows (amortised, like an LSM tree).
Keys are non-negative integers below 2**32; band hashes are folded to 64 bits. The index
is append-only (no ``remove``)::

    >>> from pipeline.group.text import minhash
    >>> lsh = ArrayLSH(params=(21, 3))
    >>> lsh.insert(1, minhash({"a b c", "b c d", "c d e"}))
    >>> lsh.insert(2, minhash({"x y z"}))
    >>> lsh.query(minhash({"a b c", "b c d", "c d e"}))
    [1]

A rebuild inserts many keys at once (:meth:`ArrayLSH.insert_many`), with the same band
hashes one by one would give::

    >>> bulk = ArrayLSH(params=(21, 3))
    >>> bulk.insert_many(np.array([1, 2]), np.stack([minhash({"a b c", "b c d", "c d e"})
    ...                  .hashvalues, minhash({"x y z"}).hashvalues]))
    >>> bulk.query(minhash({"x y z"}))
    [2]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from datasketch import MinHashLSH

from pipeline.group.text import NUM_PERM

MASK64 = 0xFFFF_FFFF_FFFF_FFFF


def band_key(band: bytes) -> int:
    """A band's bytes folded to one 64-bit integer (deterministic in every process)."""
    value = int.from_bytes(band, "little")
    folded = 0
    while value:
        folded ^= value & MASK64
        value >>= 64
    return folded


def _fold(band: np.ndarray) -> np.ndarray:
    """:func:`band_key` of each row of bytes (rows of any width), as uint64."""
    rows, width = band.shape
    padded = np.zeros((rows, -(-width // 8) * 8), dtype=np.uint8)
    padded[:, :width] = band
    words = padded.view("<u8")
    out = np.zeros(rows, dtype=np.uint64)
    for i in range(words.shape[1]):
        out ^= words[:, i]
    return out


class ArrayBuckets:
    """One band's buckets: sorted ``uint64`` hashes with their ``uint32`` keys."""

    def __init__(self, config: Any = None) -> None:
        self.hashes = np.empty(0, dtype=np.uint64)
        self.values = np.empty(0, dtype=np.uint32)
        self.recent: dict[int, list[int]] = {}
        self.pending = 0

    def insert(self, key: int, *vals: int, **kwargs: Any) -> None:
        self.recent.setdefault(key, []).extend(vals)
        self.pending += len(vals)
        if self.pending > max(4096, len(self.hashes) // 8):
            self.merge()

    def extend(self, hashes: np.ndarray, values: np.ndarray) -> None:
        """Add many (band hash, key) pairs at once (a rebuild), then merge."""
        self.merge()
        all_h = np.concatenate([self.hashes, hashes.astype(np.uint64)])
        all_v = np.concatenate([self.values, values.astype(np.uint32)])
        order = np.argsort(all_h, kind="stable")
        self.hashes, self.values = all_h[order], all_v[order]

    def merge(self) -> None:
        """Fold the recent inserts into the sorted arrays."""
        if not self.pending:
            return
        keys = np.fromiter((k for k, vs in self.recent.items() for _ in vs), dtype=np.uint64,
                           count=self.pending)
        vals = np.fromiter((v for vs in self.recent.values() for v in vs), dtype=np.uint32,
                           count=self.pending)
        hashes = np.concatenate([self.hashes, keys])
        values = np.concatenate([self.values, vals])
        order = np.argsort(hashes, kind="stable")
        self.hashes, self.values = hashes[order], values[order]
        self.recent, self.pending = {}, 0

    def get(self, key: int) -> list[int]:
        found = list(self.recent.get(key, ()))
        if len(self.hashes):
            k = np.uint64(key)
            lo = int(np.searchsorted(self.hashes, k, side="left"))
            hi = int(np.searchsorted(self.hashes, k, side="right"))
            if hi > lo:
                found.extend(int(v) for v in self.values[lo:hi])
        return found

    def size(self) -> int:
        return len(self.hashes) + self.pending

    def itemcounts(self, **kwargs: Any) -> dict[int, int]:
        self.merge()
        keys, counts = np.unique(self.hashes, return_counts=True)
        return {int(k): int(c) for k, c in zip(keys, counts, strict=True)}

    def nbytes(self) -> int:
        self.merge()
        return int(self.hashes.nbytes + self.values.nbytes)

    def has_key(self, key: int) -> bool:
        return bool(self.get(key))

    def __contains__(self, key: int) -> bool:
        return self.has_key(key)

    def keys(self) -> Iterable[int]:
        self.merge()
        return (int(k) for k in np.unique(self.hashes))


class NoKeys:
    """The per-key band hashes datasketch keeps for ``remove``: not kept (append-only)."""

    def __init__(self, config: Any = None) -> None:
        self.count = 0

    def insert(self, key: Any, *vals: Any, **kwargs: Any) -> None:
        self.count += 1

    def size(self) -> int:
        return self.count

    def has_key(self, key: Any) -> bool:  # pragma: no cover - append-only
        raise NotImplementedError("ArrayLSH does not track keys")

    __contains__ = has_key


class ArrayLSH(MinHashLSH):
    """MinHashLSH (datasketch) with :class:`ArrayBuckets` storage; append-only."""

    def __init__(self, *, params: tuple[int, int], num_perm: int = NUM_PERM) -> None:
        super().__init__(num_perm=num_perm, params=params, hashfunc=band_key)
        self.hashtables = [ArrayBuckets() for _ in range(self.b)]
        self.keys = NoKeys()

    def insert(self, key: Any, minhash: Any, check_duplication: bool = False) -> None:
        self._insert(key, minhash, check_duplication=False, buffer=False)

    def insert_many(self, keys: np.ndarray, hashvalues: np.ndarray) -> None:
        """Insert ``keys[i]`` with the MinHash values ``hashvalues[i]`` (uint32, one row per
        key) in one go: the band hashes :meth:`insert` would compute, vectorised."""
        if not len(keys):
            return
        swapped = np.ascontiguousarray(hashvalues, dtype="<u4").byteswap()
        for (start, end), table in zip(self.hashranges, self.hashtables, strict=True):
            band = np.ascontiguousarray(swapped[:, start:end]).view(np.uint8)
            table.extend(_fold(band), keys)

    def remove(self, key: Any) -> None:  # pragma: no cover - append-only
        raise NotImplementedError("ArrayLSH is append-only")

    def is_empty(self) -> bool:
        return all(t.size() == 0 for t in self.hashtables)

    def nbytes(self) -> int:
        """Bytes of the bucket arrays (the recent inserts' dicts not counted)."""
        return sum(t.nbytes() for t in self.hashtables)

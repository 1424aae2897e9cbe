"""datasketch's ``MinHashLSH`` with lighter in-memory tables.

The banding, insertion, query and removal are datasketch's own; only its in-memory
storage is replaced, because it keeps a ``set`` per bucket and a list of band-hash bytes
per key (about 4.5 KB per key with 12 bands): with one bucket value inlined until a second
arrives, integer band hashes and the band hashes of a key packed in one array, a key costs
about a quarter of that. The answers are the same::

    >>> from datasketch import MinHash, MinHashLSH
    >>> from pipeline.group.text import minhash
    >>> sets = [{"a b", "b c", "c d"}, {"a b", "b c", "c e"}, {"x y", "y z"}]
    >>> plain, compact = MinHashLSH(num_perm=24, params=(12, 2)), CompactLSH(24, (12, 2))
    >>> for i, s in enumerate(sets):
    ...     plain.insert(i, minhash(s, num_perm=24)); compact.insert(i, minhash(s, num_perm=24))
    >>> q = minhash({"a b", "b c", "c d", "d e"}, num_perm=24)
    >>> sorted(compact.query(q)) == sorted(plain.query(q))
    True
    >>> compact.remove(0); sorted(compact.query(q)), len(compact.keys)
    ([1], 2)
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Hashable, Iterator
from typing import Any

from datasketch import MinHash, MinHashLSH


def band_hash(data: bytes) -> int:
    """A band's bytes as a 64-bit integer (stable across processes, unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little",
                          signed=True)


class _Buckets:
    """One band's table: band hash -> key, or a list of keys once a second one arrives."""

    def __init__(self) -> None:
        self._dict: dict[int, Any] = {}

    def insert(self, h: int, *keys: Hashable, **_: Any) -> None:
        cur = self._dict.get(h)
        for key in keys:
            if cur is None:
                cur = key
            elif isinstance(cur, list):
                if key not in cur:
                    cur.append(key)
            elif cur != key:
                cur = [cur, key]
        self._dict[h] = cur

    def get(self, h: int) -> list[Hashable] | tuple[Hashable, ...]:
        cur = self._dict.get(h)
        return cur if isinstance(cur, list) else () if cur is None else (cur,)

    def remove_val(self, h: int, key: Hashable, **_: Any) -> None:
        cur = self._dict.get(h)
        if isinstance(cur, list):
            cur.remove(key)
            self._dict[h] = cur[0] if len(cur) == 1 else cur
        elif cur == key:
            del self._dict[h]

    def remove(self, *hs: int, **_: Any) -> None:
        for h in hs:
            self._dict.pop(h, None)

    def size(self) -> int:
        return len(self._dict)


class _Keys:
    """Key -> its band hashes, packed in one array."""

    def __init__(self) -> None:
        self._dict: dict[Hashable, array[int]] = {}

    def insert(self, key: Hashable, *hs: int, **_: Any) -> None:
        self._dict[key] = array("q", hs)

    def __getitem__(self, key: Hashable) -> list[int]:
        return list(self._dict[key])

    def get(self, key: Hashable) -> list[int]:
        return self[key]

    def remove(self, *keys: Hashable, **_: Any) -> None:
        for key in keys:
            self._dict.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._dict

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def size(self) -> int:
        return len(self._dict)


class CompactLSH(MinHashLSH):
    """``MinHashLSH(num_perm, params=(bands, rows))`` with the tables above."""

    def __init__(self, num_perm: int, params: tuple[int, int]) -> None:
        super().__init__(num_perm=num_perm, params=params, hashfunc=band_hash)
        self.hashtables = [_Buckets() for _ in range(self.b)]
        self.keys = _Keys()

    def insert_hashes(self, key: Hashable, hashes: tuple[int, ...] | list[int]) -> None:
        """Insert ``key`` by the band hashes of its MinHash (as :meth:`insert` computes
        them, e.g. stored with a group): the same tables, no MinHash needed."""
        self.keys.insert(key, *hashes)
        for h, table in zip(hashes, self.hashtables, strict=True):
            table.insert(h, key)

    def query_some(self, minhash: MinHash, max_bucket: int) -> set[Hashable]:
        """:meth:`query`, leaving out buckets of more than ``max_bucket`` keys: a band
        shared by that many different windows (stock phrases) tells nothing, and reading it
        would make a lookup's cost grow with the number of stored quotes."""
        found: set[Hashable] = set()
        for (start, end), table in zip(self.hashranges, self.hashtables, strict=True):
            bucket = table.get(self._H(minhash.hashvalues[start:end]))
            if len(bucket) <= max_bucket:
                found.update(bucket)
        return found

    def query_bands(self, hashes: tuple[int, ...], max_bucket: int) -> set[Hashable]:
        """:meth:`query_some` given the band hashes of the MinHash (as computed ahead,
        e.g. by the quotes agent): the same answer, no MinHash needed."""
        found: set[Hashable] = set()
        for h, table in zip(hashes, self.hashtables, strict=True):
            bucket = table.get(h)
            if len(bucket) <= max_bucket:
                found.update(bucket)
        return found

"""Text normalisation for matching across articles: typography, case, punctuation.

Two renderings of the same words must give the same tokens, whatever the outlet's
quote marks, dashes, ellipses or case::

    >>> words("“It’s over” — he said…")
    ['it’s', 'over', 'he', 'said']
    >>> words('"It\\'s OVER" - he said...') == words("“It’s over” — he said…")
    True
    >>> sorted(shingles(["a", "b", "c", "d"], size=3))
    ['a b c', 'b c d']
    >>> shingles(["a", "b"], size=3)
    {'a b'}

An ellipsis marks words left out and square brackets words put in by the writer, so a
quotation is cut there into segments (the bracketed words dropped) and no shingle spans
the gap::

    >>> segments("We will not [...] back down… ever")
    [['we', 'will', 'not'], ['back', 'down'], ['ever']]
    >>> segments("[The river has] risen faster than at any time")
    [['risen', 'faster', 'than', 'at', 'any', 'time']]
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from functools import lru_cache

import numpy as np
from datasketch import MinHash
from datasketch import minhash as _dsm
from datasketch.hashfunc import sha1_hash32

# Typographic variants folded to one form before tokenising.
FOLD = str.maketrans({"‘": "’", "'": "’", "`": "’", "´": "’", "ʼ": "’",
                      "“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‹": '"', "›": '"',
                      "—": " ", "–": " ", "―": " ", "‐": "-", "‑": "-", "−": "-",
                      "…": " ", "\u00a0": " "})
WORD = re.compile(r"[^\W_]+(?:[’.\-][^\W_]+)*", re.UNICODE)
NUM_PERM = 64
SEED = 1  # fixed: signatures are stable across processes and restarts


def fold(text: str) -> str:
    """NFKC, typographic quotes/dashes/ellipses folded, lower case."""
    return unicodedata.normalize("NFKC", text).translate(FOLD).lower()


def words(text: str) -> list[str]:
    """The words of ``text`` after :func:`fold`; punctuation is dropped."""
    return WORD.findall(fold(text))


ELLIPSIS = re.compile(r"\[[^\[\]]{0,120}\]|\(\s*(?:…|\.\s?\.\s?\.)\s*\)|…|\.\s?\.\s?\.")


def segments(text: str) -> list[list[str]]:
    """The words of ``text`` in runs between ellipses (empty runs dropped)."""
    parts = (words(part) for part in ELLIPSIS.split(text))
    return [p for p in parts if p]


def shingles(tokens: list[str], *, size: int) -> set[str]:
    """Word n-grams of ``size`` (the whole text when it is shorter)."""
    if len(tokens) <= size:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i:i + size]) for i in range(len(tokens) - size + 1)}


@lru_cache(maxsize=16)
def _empty(num_perm: int) -> MinHash:
    return MinHash(num_perm=num_perm, seed=SEED)


def minhash(items: Iterable[str], *, num_perm: int = NUM_PERM) -> MinHash:
    """A MinHash of ``items`` with a fixed seed (the same everywhere, every time).

    Copies an empty MinHash made once per ``num_perm``: making the permutations is ten
    times the cost of hashing a quotation's shingles.
    """
    m = _empty(num_perm).copy()
    m.update_batch([s.encode("utf-8") for s in items])
    return m


def containment(small: set[str], large: set[str]) -> float:
    """Share of ``small`` found in ``large`` (1.0: a fragment or truncation of it)."""
    return len(small & large) / len(small) if small else 0.0


def jaccard(a: AbstractSet[str], b: AbstractSet[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _same(value: int) -> int:
    return value


def shingle_hashes(items: Iterable[str]) -> list[int]:
    """The 32-bit hash of each item: the values :func:`minhash` feeds its permutations.

    Hash once, then build the MinHash and any sample of the set from the same values::

        >>> items = shingles(words("The minister said the talks had failed."), size=3)
        >>> bool((minhash_of_hashes(shingle_hashes(items)).hashvalues
        ...       == minhash(items).hashvalues).all())
        True
    """
    return [sha1_hash32(s.encode("utf-8")) for s in items]


@lru_cache(maxsize=16)
def _empty_of_hashes(num_perm: int) -> MinHash:
    return MinHash(num_perm=num_perm, seed=SEED, hashfunc=_same)


def minhash_of_hashes(hashes: Iterable[int], *, num_perm: int = NUM_PERM) -> MinHash:
    """The MinHash of a set given by :func:`shingle_hashes` (equal to :func:`minhash`);
    a copy of an empty one made once per ``num_perm``, as in :func:`minhash`."""
    m = _empty_of_hashes(num_perm).copy()
    m.update_batch(list(hashes))
    return m


def permuted(m: MinHash, hashes: list[int]) -> np.ndarray:
    """Each 32-bit hash under ``m``'s permutations, one row per hash: the values
    ``m.update_batch`` takes the column minimum of (datasketch's CPU path, per scheme)."""
    a, b = m.permutations
    if m.scheme == _dsm._SCHEME_LEGACY:
        hv = np.array(hashes, dtype=np.uint64, ndmin=2).T
        return np.bitwise_and((hv * a + b) % _dsm._mersenne_prime, _dsm._max_hash)
    hv = _dsm._fmix(m._hash_input_array(hashes).reshape(-1, 1), _dsm._SCHEME_WIDTHS[m.scheme])
    return hv * a + b


def window_minhashes(windows: list[tuple[str, ...]], *, size: int,
                     num_perm: int = NUM_PERM) -> np.ndarray:
    """The MinHash values of each window's shingles, one row per window, equal to
    ``minhash(shingles(list(w), size=size)).hashvalues``; each distinct shingle of all
    the windows is hashed and permuted once (overlapping windows share most of them)::

        >>> wins = [("a", "b", "c", "d"), ("b", "c", "d", "e"), ("x",)]
        >>> rows = window_minhashes(wins, size=3, num_perm=16)
        >>> all((rows[i] == minhash(shingles(list(w), size=3), num_perm=16).hashvalues).all()
        ...     for i, w in enumerate(wins))
        True
    """
    empty = _empty(num_perm)
    if not windows:
        return np.empty((0, num_perm), dtype=empty.hashvalues.dtype)
    index: dict[str, int] = {}
    rows = [[index.setdefault(s, len(index)) for s in shingles(list(w), size=size)]
            for w in windows]
    values = permuted(empty, [sha1_hash32(s.encode("utf-8")) for s in index])
    width = max(map(len, rows))
    at = np.array([r + r[:1] * (width - len(r)) for r in rows], dtype=np.intp)
    return np.minimum(empty.hashvalues[None, :], values[at].min(axis=1))

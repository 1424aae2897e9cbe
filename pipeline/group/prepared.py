"""What the story decision needs of an article that is a pure function of the article,
computed where it scales (the parallel ``funnel``) and shipped beside the message as a
compact, versioned binary Kafka header.

:class:`Prepared` is an article's :class:`~pipeline.group.signature.Signature` and the
wire agency its own text credits (the bundled rules). :func:`encode` packs it with a
digest of the message value it belongs to; :func:`decode` gives it back only when the
header is of this version, made with these parameters (shingles, permutations, seed,
bounded head, the wire rules), and for exactly that value; otherwise None, and the
stories agent computes it itself (:meth:`Prepared.of`). The assignment is the same
either way::

    >>> from pipeline.group.articles import Body
    >>> p = Prepared.of(Body("a", "PARIS (AFP) — The minister said the talks had failed."))
    >>> value = b'{"id": "a"}'
    >>> q = decode(encode(p, value), value)
    >>> q.wire, bool((q.sig.hashes == p.sig.hashes).all()), decode(encode(p, value), b"x")
    ('AFP', True, None)

Layout (little-endian): ``b"v1"``, 4 bytes of parameters fingerprint, 16 bytes of
BLAKE2b of the value, a flags byte (whole, lede), the counts of hashes, names and
numbers (uint32 each), the wire name (uint16 length, UTF-8), then the uint32 arrays:
shingle hashes, whole MinHash, lede MinHash, names, numbers.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from importlib.metadata import PackageNotFoundError, version

import numpy as np

from pipeline.group.articles import Article
from pipeline.group.body import MAX_CHARS, WIRES, edges
from pipeline.group.signature import (
    BANDS,
    KEY_CAP,
    LEDE_WORDS,
    ROWS,
    SAMPLE_CAP,
    SHINGLE,
    Signature,
    _bytes,
    _lean,
)
from pipeline.group.text import NUM_PERM, SEED

HEADER = "newsflow-sig"
VERSION = b"v1"
_HEAD = struct.Struct("<2s4s16sBIII H")
_WHOLE, _LEDE = 1, 2


@lru_cache(maxsize=1)
def fingerprint() -> bytes:
    """4 bytes naming what a signature depends on: its parameters, the wire rules and the
    package version. A header made under others is not used (it is recomputed)."""
    try:
        release = version("newsflow")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        release = "0"
    rules = resources.files("pipeline.group").joinpath("wires.yaml").read_bytes()
    params = repr((SHINGLE, LEDE_WORDS, NUM_PERM, SEED, MAX_CHARS, SAMPLE_CAP, KEY_CAP,
                   BANDS, ROWS, release)).encode()
    return hashlib.blake2b(params + rules, digest_size=4).digest()


def digest(value: bytes) -> bytes:
    """16 bytes of BLAKE2b of a message value (ties a header to its message)."""
    return hashlib.blake2b(value, digest_size=16).digest()


@dataclass(frozen=True)
class Prepared:
    """An article's signature and the wire agency its text credits (bundled rules)."""

    sig: Signature
    wire: str | None

    @classmethod
    def of(cls, article: Article) -> Prepared:
        """Computed from the article (what the header saves the stories agent)."""
        found = WIRES.detect(edges(article.text), article.authors)
        return cls(Signature.of(article.text), found.name if found else None)


def encode(p: Prepared, value: bytes) -> bytes:
    """The header value of ``p`` for the message ``value``."""
    sig = p.sig
    wire = (p.wire or "").encode("utf-8")
    flags = (_WHOLE if sig.whole is not None else 0) | (_LEDE if sig.lede is not None else 0)
    parts = [_HEAD.pack(VERSION, fingerprint(), digest(value), flags, len(sig.hashes),
                        len(sig.names), len(sig.numbers), len(wire)), wire,
             _bytes(sig.hashes)]
    for mh in (sig.whole, sig.lede):
        if mh is not None:
            parts.append(_bytes(mh.hashvalues))
    parts += [_bytes(sig.names), _bytes(sig.numbers)]
    return b"".join(parts)


def decode(data: bytes | None, value: bytes) -> Prepared | None:
    """The :class:`Prepared` of a header for ``value``, or None when it is absent, of
    another version or parameters, for another value, or damaged."""
    if not data or len(data) < _HEAD.size or data[:2] != VERSION:
        return None
    _tag, fp, dig, flags, n_hashes, n_names, n_numbers, n_wire = _HEAD.unpack_from(data)
    if fp != fingerprint() or dig != digest(value):
        return None
    pos = _HEAD.size
    sizes = [n_hashes] + [NUM_PERM] * ((flags & _WHOLE > 0) + (flags & _LEDE > 0)) \
        + [n_names, n_numbers]
    if len(data) != pos + n_wire + 4 * sum(sizes):
        return None
    try:
        wire = data[pos:pos + n_wire].decode("utf-8") or None
    except UnicodeDecodeError:
        return None
    pos += n_wire
    arrays = []
    for n in sizes:
        arrays.append(np.frombuffer(data, dtype="<u4", count=n, offset=pos).astype(np.uint32))
        pos += 4 * n
    hashes = arrays.pop(0)
    whole = _lean(arrays.pop(0)) if flags & _WHOLE else None
    lede = _lean(arrays.pop(0)) if flags & _LEDE else None
    names, numbers = arrays
    return Prepared(Signature(hashes, whole, lede, names, numbers), wire)


def from_headers(headers: object, value: bytes) -> Prepared | None:
    """The :class:`Prepared` in a message's headers (a list of (key, value) pairs or a
    mapping, as Faust and aiokafka give them), or None."""
    if not headers:
        return None
    pairs = headers.items() if isinstance(headers, dict) else headers
    for key, data in pairs:  # type: ignore[attr-defined]
        if key == HEADER and isinstance(data, bytes | bytearray):
            return decode(bytes(data), value)
    return None

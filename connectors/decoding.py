"""Bounded decoding of HTTP bodies (Content-Encoding), chunk by chunk.

A compressed body is inflated through a decompressor whose output per call is capped
(``zlib`` ``max_length``, brotli ``output_buffer_limit``), and the size limit applies to
the DECODED bytes: a decompression bomb (a few hundred bytes inflating to gigabytes) stops
at ``max_bytes`` plus one step, without ever holding more. Only the encodings the request
offered in ``Accept-Encoding`` are decoded, one layer: an encoding not offered, or stacked
encodings ("gzip, gzip"), are refused.

    >>> import gzip
    >>> dec = Decoder.for_response("gzip", offered=offered_encodings("gzip, deflate"),
    ...                            max_bytes=100, url="https://e.org/")
    >>> b"".join(dec.feed(gzip.compress(b"hello"))) + b"".join(dec.flush())
    b'hello'
    >>> Decoder.for_response("gzip, gzip", offered={"gzip"}, max_bytes=100, url="u")
    Traceback (most recent call last):
    ...
    connectors.decoding.BadEncoding: source '?' (u): stacked content encodings 'gzip, gzip' \
are refused (one layer of gzip is decoded)
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

from connectors.errors import FetchError, TooLarge

try:  # brotli comes with the locked dependencies; without it, br is not offered
    import brotli as _brotli

    BROTLI: Any = _brotli if hasattr(_brotli.Decompressor(), "can_accept_more_data") else None
except ImportError:  # pragma: no cover - depends on the install
    BROTLI = None

STEP = 64 * 1024
"""The most one decompressor call may output."""
SUPPORTED = ("gzip", "deflate", "br") if BROTLI is not None else ("gzip", "deflate")
ACCEPT_ENCODING = ", ".join(SUPPORTED)
IDENTITY = {"identity", ""}


class BadEncoding(FetchError):
    """The body's Content-Encoding was not offered, is stacked, or does not decode."""


def offered_encodings(accept_encoding: str | None) -> set[str]:
    """The encodings an Accept-Encoding header offers that we can decode.

    >>> sorted(offered_encodings("gzip;q=1.0, deflate, zstd, br;q=0"))
    ['deflate', 'gzip']
    """
    out = set()
    for part in (accept_encoding or "").split(","):
        name, _, params = part.strip().lower().partition(";")
        q = params.strip()
        if q.startswith("q=") and q[2:].strip() in {"0", "0.0", "0.00", "0.000"}:
            continue
        if name.strip() in SUPPORTED:
            out.add(name.strip())
    return out


class Decoder:
    """Decodes one body; ``feed`` and ``flush`` yield decoded pieces of at most STEP bytes
    and raise TooLarge as soon as the decoded total passes ``max_bytes``."""

    def __init__(self, coding: str, *, max_bytes: int, url: str) -> None:
        self.coding, self.max_bytes, self.url = coding, max_bytes, url
        self.size = 0
        self._z: Any = None
        self._br: Any = None
        self._first = True
        if coding == "gzip":
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            self._z = zlib.decompressobj(zlib.MAX_WBITS)
        elif coding == "br":
            self._br = BROTLI.Decompressor()

    @classmethod
    def for_response(cls, content_encoding: str | None, *, offered: set[str], max_bytes: int,
                     url: str) -> Decoder:
        """The decoder of a response's Content-Encoding; refuses what was not offered."""
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        codings = [c for c in codings if c not in IDENTITY]
        if len(codings) > 1:
            raise BadEncoding(f"stacked content encodings '{content_encoding}' are refused "
                              f"(one layer of {' or '.join(sorted(offered)) or 'none'} is "
                              "decoded)", url=url)
        coding = codings[0] if codings else "identity"
        if coding != "identity" and coding not in offered:
            raise BadEncoding(f"content encoding '{coding}' was not offered (Accept-Encoding: "
                              f"{', '.join(sorted(offered)) or 'identity'})", url=url)
        return cls(coding, max_bytes=max_bytes, url=url)

    def _count(self, piece: bytes) -> bytes:
        self.size += len(piece)
        if self.size > self.max_bytes:
            raise TooLarge(f"body over the limit of {self.max_bytes:,} bytes (decoded "
                           f"{self.coding})", url=self.url)
        return piece

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of the next raw chunk."""
        if self._z is not None:
            yield from self._zlib(data)
        elif self._br is not None:
            yield from self._brotli(data)
        elif data:
            yield self._count(data)

    def flush(self) -> Iterator[bytes]:
        """What is left once the raw body has ended."""
        if self._z is not None:
            yield from self._zlib(b"")
        elif self._br is not None:
            yield from self._brotli(b"")

    def _zlib(self, data: bytes) -> Iterator[bytes]:
        try:
            while True:
                if self._z.eof:  # gzip: another member may follow
                    data = self._z.unused_data + data
                    if not data or self.coding != "gzip":
                        return
                    self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
                piece = self._z.decompress(data, STEP)
                data = self._z.unconsumed_tail
                if piece:
                    yield self._count(piece)
                elif not data:
                    return
        except zlib.error as exc:
            if self.coding == "deflate" and self._first and self.size == 0:
                self._first = False  # some servers send raw deflate, without zlib header
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                yield from self._zlib(data)
                return
            raise BadEncoding(f"{self.coding} body does not decode: {exc}",
                              url=self.url) from exc
        finally:
            self._first = False

    def _brotli(self, data: bytes) -> Iterator[bytes]:
        try:
            piece = self._br.process(data, output_buffer_limit=STEP)
            while True:
                if piece:
                    yield self._count(piece)
                if self._br.can_accept_more_data() or self._br.is_finished():
                    return
                piece = self._br.process(b"", output_buffer_limit=STEP)
        except BROTLI.error as exc:
            raise BadEncoding(f"br body does not decode: {exc}", url=self.url) from exc

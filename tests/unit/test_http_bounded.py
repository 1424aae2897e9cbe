"""HTTP that stays bounded: decompression bombs stop at the size limit in bounded memory,
only offered encodings are decoded (one layer), request starts to one host are spaced
whichever source sends them, robots.txt is fetched again after its TTL.

The bombs are the recorded bodies in tests/fixtures/bombs (600 MiB of zeros: gzip twice,
1,133 bytes; brotli, 935 bytes), served by a real server on loopback.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import brotli
import pytest

from connectors.decoding import BadEncoding
from connectors.errors import BlockedURL, TooLarge
from connectors.http import Fetcher, Limits
from pipeline.ops.feedserver import QuietHandler, serving

BOMBS = Path(__file__).resolve().parents[1] / "fixtures" / "bombs"
DOUBLE_GZIP = (BOMBS / "zeros-600MiB.gz.gz").read_bytes()
BROTLI_BOMB = (BOMBS / "zeros-600MiB.br").read_bytes()
SINGLE_GZIP = zlib.decompress(DOUBLE_GZIP, 16 + zlib.MAX_WBITS)  # 600 MiB in one layer
MAX = 10 * 1024 * 1024
LIMITS = Limits(allow_private=True, respect_robots=False, per_host_delay=0, max_bytes=MAX)
TEXT = b"<html><body><p>" + b"Officials said the talks would resume. " * 200 + b"</p></body></html>"

# path -> (body, Content-Encoding)
ROUTES: dict[str, tuple[bytes, str | None]] = {
    "/double-gzip": (DOUBLE_GZIP, "gzip, gzip"),
    "/gzip-bomb": (SINGLE_GZIP, "gzip"),
    "/br-bomb": (BROTLI_BOMB, "br"),
    "/gzip": (gzip.compress(TEXT), "gzip"),
    "/deflate": (zlib.compress(TEXT), "deflate"),
    "/raw-deflate": (zlib.compress(TEXT)[2:-4], "deflate"),
    "/br": (brotli.compress(TEXT), "br"),
    "/zstd": (b"(\xb5/\xfd" + TEXT, "zstd"),
    "/plain": (TEXT, None),
}


class Bodies(QuietHandler):
    def do_GET(self) -> None:
        body, coding = ROUTES[self.path]
        self.reply(200, body, "text/html", {"Content-Encoding": coding} if coding else {})


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serving(Bodies) as url:
        yield url


def get(url: str, headers: dict[str, str] | None = None) -> tuple[bytes | Exception, int]:
    """The body (or the error) and the peak of memory allocated while fetching it."""
    async def main() -> bytes:
        return (await Fetcher().get(url, headers=headers, limits=LIMITS)).body

    tracemalloc.start()
    try:
        out: bytes | Exception = asyncio.run(main())
    except Exception as exc:  # noqa: BLE001 - returned to be asserted on
        out = exc
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, peak


@pytest.mark.parametrize("path", ["/gzip-bomb", "/br-bomb"])
def test_a_decompression_bomb_stops_at_the_limit_in_bounded_memory(base: str, path: str
                                                                   ) -> None:
    out, peak = get(base + path)
    assert isinstance(out, TooLarge), out
    assert "decoded" in str(out)
    assert peak < 2 * MAX + len(SINGLE_GZIP) + 2 * 1024 * 1024, f"{peak:,} bytes"


def test_stacked_encodings_are_refused_before_any_inflation(base: str) -> None:
    out, peak = get(base + "/double-gzip")
    assert isinstance(out, BadEncoding) and "stacked content encodings" in str(out), out
    assert peak < 2 * 1024 * 1024, f"{peak:,} bytes"


def test_an_encoding_not_offered_is_refused(base: str) -> None:
    out, _ = get(base + "/zstd")
    assert isinstance(out, BadEncoding) and "'zstd' was not offered" in str(out), out
    out, _ = get(base + "/gzip", headers={"Accept-Encoding": "identity"})
    assert isinstance(out, BadEncoding) and "'gzip' was not offered" in str(out), out


@pytest.mark.parametrize("path", ["/gzip", "/deflate", "/raw-deflate", "/br", "/plain"])
def test_offered_encodings_decode(base: str, path: str) -> None:
    out, _ = get(base + path)
    assert out == TEXT


def test_the_limit_is_on_the_decoded_size(base: str) -> None:
    async def main() -> bytes:
        small = Limits(allow_private=True, respect_robots=False, max_bytes=len(TEXT) - 1)
        return (await Fetcher().get(base + "/gzip", limits=small)).body

    assert len(ROUTES["/gzip"][0]) < len(TEXT) - 1  # the compressed body fits, decoded not
    with pytest.raises(TooLarge):
        asyncio.run(main())


# ---------------------------------------------------------------- politeness, robots


class Clocked(QuietHandler):
    starts: ClassVar[list[tuple[str, float]]] = []
    robots: ClassVar[list[bytes]] = [b"User-agent: *\nAllow: /\n"]
    robots_hits = 0
    lock = threading.Lock()

    def do_GET(self) -> None:
        if self.path == "/robots.txt":
            type(self).robots_hits += 1
            self.reply(200, self.robots[-1])
            return
        with self.lock:
            self.starts.append((self.path, time.monotonic()))
        self.reply(200, TEXT, "text/html")


class Booking(Fetcher):
    """The runner's fetcher, noting the start time it books for each request."""

    def __init__(self) -> None:
        super().__init__()
        self.booked: list[float] = []

    async def _turn(self, host: str, delay: float) -> None:
        self.booked.append(max(time.monotonic(), self._next[host]))  # as the booking does
        await super()._turn(host, delay)


def test_two_sources_on_one_host_share_its_rate() -> None:
    delay = 0.3
    lim = Limits(allow_private=True, respect_robots=False, per_host_delay=delay,
                 per_host_concurrency=2)
    Clocked.starts = []
    with serving(Clocked) as url:
        fetcher = Booking()  # the runner's: one for every source

        async def source(name: str) -> None:
            for i in range(3):
                await fetcher.get(f"{url}/{name}/{i}", limits=lim)

        async def main() -> None:
            await asyncio.gather(source("a"), source("b"))

        asyncio.run(main())
    assert sorted(p for p, _ in Clocked.starts) == [f"/{n}/{i}" for n in "ab" for i in range(3)]
    # alone, each source would book a start every 0.3 s at the same moments as the other;
    # the starts booked are what the fetcher controls (the server's clock sees them later
    # on a busy machine, bunched)
    gaps = [b - a for a, b in itertools.pairwise(sorted(fetcher.booked))]
    assert len(gaps) == 5 and min(gaps) >= delay - 1e-3, gaps


def test_robots_txt_is_fetched_again_after_its_ttl() -> None:
    lim = Limits(allow_private=True, per_host_delay=0)
    Clocked.robots, Clocked.robots_hits = [b"User-agent: *\nAllow: /\n"], 0
    with serving(Clocked) as url:
        fetcher = Fetcher(robots_ttl=0.5)

        async def main() -> list[str]:
            seen = [str((await fetcher.get(f"{url}/news/1", limits=lim)).status)]
            Clocked.robots.append(b"User-agent: *\nDisallow: /news/\n")
            seen.append(str((await fetcher.get(f"{url}/news/2", limits=lim)).status))
            await asyncio.sleep(0.6)
            try:
                await fetcher.get(f"{url}/news/3", limits=lim)
            except BlockedURL as exc:
                seen.append(exc.reason)
            return seen

        seen = asyncio.run(main())
    assert seen == ["200", "200", "disallowed by robots.txt"]
    assert Clocked.robots_hits == 2

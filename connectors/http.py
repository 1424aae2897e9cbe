"""Polite, bounded HTTP for connectors.

* an honest User-Agent; robots.txt honoured per host;
* per-host concurrency and delay;
* size limit (streamed, the body is never read past it), time limit, redirect
  limit, each redirect hop re-checked;
* SSRF guard: private, loopback, link-local and reserved targets are refused
  unless the source allows them (``allow_private: true``).

    >>> f = Fetcher()                                        # doctest: +SKIP
    >>> resp = await f.get("https://example.org/feed.xml")   # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
import urllib.robotparser
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from connectors.errors import BlockedURL, FetchError, TooLarge

USER_AGENT = "newsflow/0.1 (+https://github.com/newsflow/newsflow; news ingestion bot)"


@dataclass(frozen=True)
class Limits:
    timeout: float = 20.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    per_host_concurrency: int = 2
    per_host_delay: float = 0.25
    allow_private: bool = False
    respect_robots: bool = True


@dataclass
class Response:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float = 0.0

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


def check_target(url: str, *, allow_private: bool) -> None:
    """Refuse non-HTTP schemes and (unless allowed) non-public addresses."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise BlockedURL(f"scheme '{parts.scheme}' is not fetched", url=url)
    host = parts.hostname
    if not host:
        raise BlockedURL("URL has no host", url=url)
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(host, parts.port or 80, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve host '{host}': {exc}", url=url) from exc
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        if not ip.is_global or ip.is_multicast:
            raise BlockedURL(f"host '{host}' resolves to non-public address {ip} (SSRF guard; "
                             "set allow_private: true for this source to allow it)", url=url)


@dataclass
class Fetcher:
    """Shared by all sources of one runner."""

    limits: Limits = field(default_factory=Limits)
    user_agent: str = USER_AGENT
    _sems: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    _last: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    _robots: dict[str, urllib.robotparser.RobotFileParser | None] = field(default_factory=dict)

    async def get(self, url: str, *, headers: dict[str, str] | None = None,
                  limits: Limits | None = None) -> Response:
        lim = limits or self.limits
        host = urlsplit(url).netloc
        loop = id(asyncio.get_running_loop())  # semaphores belong to one event loop
        sem = self._sems.setdefault(f"{loop}:{host}",
                                    asyncio.Semaphore(lim.per_host_concurrency))
        async with sem:
            wait = self._last[host] + lim.per_host_delay - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                if lim.respect_robots:
                    await self._check_robots(url, lim)
                return await asyncio.wait_for(self._get(url, headers or {}, lim), lim.timeout)
            except TimeoutError as exc:
                raise FetchError(f"timed out after {lim.timeout:.0f}s", url=url) from exc
            finally:
                self._last[host] = time.monotonic()

    async def _get(self, url: str, headers: dict[str, str], lim: Limits) -> Response:
        hdrs = {"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate", **headers}
        t0 = time.monotonic()
        async with httpx.AsyncClient(follow_redirects=False, timeout=lim.timeout) as client:
            seen: list[str] = []
            for _ in range(lim.max_redirects + 1):
                check_target(url, allow_private=lim.allow_private)
                try:
                    async with client.stream("GET", url, headers=hdrs) as resp:
                        if resp.is_redirect and "location" in resp.headers:
                            seen.append(url)
                            url = urljoin(url, resp.headers["location"])
                            if url in seen:
                                raise FetchError("redirect loop", url=url)
                            continue
                        body = await self._read(resp, url, lim)
                        return Response(str(resp.url), resp.status_code,
                                        {k.lower(): v for k, v in resp.headers.items()}, body,
                                        time.monotonic() - t0)
                except httpx.HTTPError as exc:
                    raise FetchError(f"{type(exc).__name__}: {exc}", url=url) from exc
            raise FetchError(f"more than {lim.max_redirects} redirects", url=url)

    async def _read(self, resp: httpx.Response, url: str, lim: Limits) -> bytes:
        declared = resp.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > lim.max_bytes:
            raise TooLarge(f"body of {int(declared):,} bytes is over the limit of "
                           f"{lim.max_bytes:,}", url=url)
        chunks, size = [], 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > lim.max_bytes:
                raise TooLarge(f"body over the limit of {lim.max_bytes:,} bytes", url=url)
            chunks.append(chunk)
        return b"".join(chunks)

    async def _check_robots(self, url: str, lim: Limits) -> None:
        parts = urlsplit(url)
        root = f"{parts.scheme}://{parts.netloc}"
        if root not in self._robots:
            parser: urllib.robotparser.RobotFileParser | None = None
            try:
                robots_lim = Limits(timeout=min(lim.timeout, 10), max_bytes=512 * 1024,
                                    allow_private=lim.allow_private, respect_robots=False)
                resp = await asyncio.wait_for(self._get(root + "/robots.txt", {}, robots_lim),
                                              robots_lim.timeout)
                if resp.status < 400:
                    parser = urllib.robotparser.RobotFileParser()
                    parser.parse(resp.body.decode("utf-8", "replace").splitlines())
            except (FetchError, TooLarge, BlockedURL, TimeoutError):
                parser = None  # no robots.txt reachable: allowed
            self._robots[root] = parser
        parser = self._robots[root]
        if parser is not None and not parser.can_fetch(self.user_agent, url):
            raise BlockedURL("disallowed by robots.txt", url=url)

"""Polite, bounded HTTP for connectors.

* an honest User-Agent; robots.txt honoured per host;
* per-host concurrency and delay;
* per-host politeness shared by every source of the runner: request starts to one
  host are spaced by its delay, whichever source asks;
* robots.txt fetched again once it is ``robots_ttl`` old (24 h);
* size limit on the DECODED body (streamed and inflated in capped steps, never past
  it: a decompression bomb stops at the limit), only the Content-Encodings offered,
  one layer (``connectors.decoding``); time limit, redirect limit, each redirect hop
  re-checked;
* SSRF guard: private, loopback, link-local and reserved targets are refused
  unless the source allows them (``allow_private: true``), and so are IPv6 forms
  that lead to such an IPv4 address (IPv4-mapped, NAT64, 6to4, Teredo);
* each hop's host is resolved once, by the guard, and the connection goes to the
  address it checked (the Host header, TLS SNI and the certificate check keep the
  name), so DNS rebinding cannot swap in another address;
* on a redirect to another origin (scheme, host or port) only the headers in
  ``CROSS_ORIGIN_HEADERS`` follow: Authorization, Cookie, API keys stay behind;
* every failure is a ``FetchError``, ``BlockedURL`` or ``TooLarge``; a response
  of any status is returned, ``Response.ok`` tells a 2xx from the rest.

    >>> f = Fetcher()                                        # doctest: +SKIP
    >>> resp = await f.get("https://example.org/feed.xml")   # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urljoin

import httpx

from connectors.decoding import ACCEPT_ENCODING, Decoder, offered_encodings
from connectors.errors import BlockedURL, FetchError, TooLarge
from connectors.proxy import ProxyConfig
from connectors.robots import ROBOTS_TTL, RobotsCache

USER_AGENT = "newsflow/0.1 (+https://github.com/newsflow/newsflow; news ingestion bot)"
DEFAULT_PORTS = {"http": 80, "https": 443}
# request headers that follow a redirect to another origin; the caller's others
# (Authorization, Cookie, Proxy-Authorization, an API key header...) do not
CROSS_ORIGIN_HEADERS = frozenset({"user-agent", "accept", "accept-encoding", "accept-language"})
# what a request may raise besides our own errors: each becomes a FetchError
TRANSPORT_ERRORS = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError, ValueError)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
# IPv6 forms carrying an IPv4 address in their last 32 bits
CARRY_LOW32 = (ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64 well-known prefix
               ipaddress.IPv6Network("::ffff:0:0:0/96"))  # IPv4-translated (SIIT)
NEVER_PUBLIC_V6 = (ipaddress.IPv6Network("::/96"),  # IPv4-compatible (deprecated), ::, ::1
                   ipaddress.IPv6Network("64:ff9b:1::/48"),  # local-use NAT64, site-defined
                   ipaddress.IPv6Network("fec0::/10"))  # site-local (deprecated)


@dataclass(frozen=True)
class Limits:
    timeout: float = 20.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    per_host_concurrency: int = 2
    per_host_delay: float = 0.25
    allow_private: bool = False
    respect_robots: bool = True
    proxy: ProxyConfig | None = None


@dataclass
class Response:
    """The final response, whatever its status (``ok`` is True for a 2xx only)."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        """A 2xx; a 3xx that was not followed (304, no Location), 4xx and 5xx are not."""
        return 200 <= self.status < 300

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


@dataclass(frozen=True)
class Target:
    """A URL as httpx reads it; ``addresses`` are the checked ones (empty: not resolved)."""

    url: httpx.URL
    host: str  # ASCII (IDNA), an IPv6 address without brackets
    port: int
    addresses: tuple[Address, ...] = ()

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.url.scheme, self.host, self.port

    @property
    def netloc(self) -> str:
        """host[:port] as in a Host header (no default port)."""
        return self.url.netloc.decode("ascii")


def parse_target(url: str) -> Target:
    """Read ``url`` as httpx will; an invalid or non-HTTP(S) URL is a BlockedURL."""
    try:
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise BlockedURL(f"invalid URL: {exc}", url=url) from exc
    if parsed.scheme not in DEFAULT_PORTS:
        raise BlockedURL(f"scheme '{parsed.scheme}' is not fetched", url=url)
    if not host:
        raise BlockedURL("URL has no host", url=url)
    port = DEFAULT_PORTS[parsed.scheme] if parsed.port is None else parsed.port
    if not 0 < port < 65536:
        raise BlockedURL(f"invalid URL: port {port} is out of range", url=url)
    return Target(parsed, host, port)


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (one lookup)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 transition address leads to, if it is one."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if any(ip in net for net in CARRY_LOW32):
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    return ip.teredo[1] if ip.teredo is not None else None


def is_public(ip: Address) -> bool:
    """A globally reachable unicast address; an IPv6 form of an IPv4 address (mapped,
    NAT64, 6to4, Teredo) is public only if that IPv4 address is."""
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in NEVER_PUBLIC_V6):
            return False
        carried = embedded_ipv4(ip)
        if carried is not None and not is_public(carried):
            return False
        if ip.sixtofour is not None:  # 6to4 leads to its IPv4 address alone (older
            return True  # Pythons' ipaddress call all of 2002::/16 non-global)
    return ip.is_global and not ip.is_multicast


def check_target(url: str, *, allow_private: bool, resolver: Resolver = resolve) -> Target:
    """Refuse invalid and non-HTTP URLs and (unless allowed) non-public addresses.

    The target returned holds every address the host resolved to, all checked:
    connect to one of them, never resolve again. With ``allow_private`` nothing is
    resolved (``addresses`` is empty).
    """
    target = parse_target(url)
    if allow_private:
        return target
    try:
        found = tuple(ipaddress.ip_address(a) for a in resolver(target.host, target.port))
    except (OSError, ValueError) as exc:  # socket.gaierror, UnicodeError (bad IDNA label)
        raise FetchError(f"cannot resolve host '{target.host}': {exc}", url=url) from exc
    if not found:
        raise FetchError(f"host '{target.host}' has no address", url=url)
    for ip in found:
        if not is_public(ip):
            raise BlockedURL(f"host '{target.host}' resolves to non-public address {ip} "
                             "(SSRF guard; set allow_private: true for this source to allow it)",
                             url=url)
    return replace(target, addresses=found)


def pinned(target: Target) -> tuple[httpx.URL, dict[str, Any]]:
    """URL and extensions of a request that connects to the checked address, with TLS
    SNI and the certificate check on the host name (send the name's Host header)."""
    if not target.addresses:
        return target.url, {}
    extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
    return target.url.copy_with(host=str(target.addresses[0])), extensions


def cross_origin(headers: dict[str, str]) -> dict[str, str]:
    """The headers that may follow a redirect to another origin."""
    return {k: v for k, v in headers.items() if k.lower() in CROSS_ORIGIN_HEADERS}


@dataclass
class Fetcher:
    """Shared by all sources of one runner. ``resolver`` looks host names up (the guard
    resolves each hop once; the connection goes to an address it checked)."""

    limits: Limits = field(default_factory=Limits)
    user_agent: str = USER_AGENT
    resolver: Resolver = resolve
    robots_ttl: float = ROBOTS_TTL
    verify: Any = True  # TLS verification: True, a CA bundle path or an ssl.SSLContext
    _sems: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    _next: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    _robots: RobotsCache = field(init=False)

    def __post_init__(self) -> None:
        self._robots = RobotsCache(ttl=self.robots_ttl)

    async def get(self, url: str, *, headers: dict[str, str] | None = None,
                  limits: Limits | None = None) -> Response:
        """GET ``url``, following redirects; a response of any status is returned (see
        ``Response.ok``). Raises FetchError, BlockedURL or TooLarge, nothing else."""
        lim = limits or self.limits
        target = parse_target(url)
        host = target.netloc
        loop = id(asyncio.get_running_loop())  # semaphores belong to one event loop
        sem = self._sems.setdefault(f"{loop}:{host}",
                                    asyncio.Semaphore(lim.per_host_concurrency))
        async with sem:
            if lim.respect_robots:
                await self._check_robots(target, url, lim)
            await self._turn(host, lim.per_host_delay)
            try:
                return await asyncio.wait_for(self._get(url, headers or {}, lim), lim.timeout)
            except TimeoutError as exc:
                raise FetchError(f"timed out after {lim.timeout:.0f}s", url=url) from exc

    async def _turn(self, host: str, delay: float) -> None:
        """Wait for this host's next free start time and book the one after it: starts
        of requests to one host are ``delay`` apart, whichever source sends them."""
        now = time.monotonic()
        start = max(now, self._next[host])
        self._next[host] = start + delay
        if start > now:
            await asyncio.sleep(start - now)

    async def _get(self, url: str, headers: dict[str, str], lim: Limits) -> Response:
        """Follow redirects by hand: each hop checked and pinned, credentials kept on
        their origin, cookies set along the way kept by host name."""
        hdrs = {"User-Agent": self.user_agent, "Accept-Encoding": ACCEPT_ENCODING, **headers}
        t0 = time.monotonic()
        seen: list[str] = []
        origin = None
        jar = httpx.Cookies()
        for _ in range(lim.max_redirects + 1):
            target = check_target(url, allow_private=lim.allow_private, resolver=self.resolver)
            if origin is not None and target.origin != origin:
                hdrs = cross_origin(hdrs)
            origin = target.origin
            result = await self._hop(url, target, hdrs, jar, lim)
            if isinstance(result, Response):
                result.elapsed = time.monotonic() - t0
                return result
            seen.append(url)
            url = result
            if url in seen:
                raise FetchError("redirect loop", url=url)
        raise FetchError(f"more than {lim.max_redirects} redirects", url=url)

    async def _hop(self, url: str, target: Target, headers: dict[str, str],
                   jar: httpx.Cookies, lim: Limits) -> Response | str:
        """One request, to the checked address: the response, or the URL it redirects to."""
        proxy = lim.proxy
        request_url, extensions = pinned(target) \
            if proxy is None or proxy.pins(target.url.scheme) else (target.url, {})
        try:
            named = httpx.Request("GET", target.url, headers=headers)  # as the name sees it
            named.headers["Host"] = target.netloc
            if proxy is not None:  # the proxy hears only its own credentials
                named.headers.pop("Proxy-Authorization", None)
            jar.set_cookie_header(named)
            via = proxy.for_httpx() if proxy is not None else None
            async with (httpx.AsyncClient(follow_redirects=False, timeout=lim.timeout,
                                          proxy=via,
                                          verify=self.verify) as client,
                        client.stream("GET", request_url, headers=named.headers,
                                      extensions=extensions) as resp):
                jar.extract_cookies(httpx.Response(resp.status_code, headers=resp.headers,
                                                   request=named))
                if resp.is_redirect and "location" in resp.headers:
                    return urljoin(url, resp.headers["location"])
                body = await self._read(resp, url, lim, named.headers.get("accept-encoding"))
                return Response(str(target.url), resp.status_code,
                                {k.lower(): v for k, v in resp.headers.items()}, body)
        except TRANSPORT_ERRORS as exc:
            raise FetchError(f"{type(exc).__name__}: {exc}", url=url) from exc

    async def _read(self, resp: httpx.Response, url: str, lim: Limits,
                    accept_encoding: str | None) -> bytes:
        """The decoded body, read and inflated in bounded steps up to ``max_bytes``."""
        declared = resp.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > lim.max_bytes:
            raise TooLarge(f"body of {int(declared):,} bytes is over the limit of "
                           f"{lim.max_bytes:,}", url=url)
        decoder = Decoder.for_response(resp.headers.get("content-encoding"),
                                       offered=offered_encodings(accept_encoding),
                                       max_bytes=lim.max_bytes, url=url)
        body = bytearray()
        async for chunk in resp.aiter_raw():
            for piece in decoder.feed(chunk):
                body += piece
            await asyncio.sleep(0)  # a long inflation never holds the event loop
        for piece in decoder.flush():
            body += piece
        return bytes(body)

    async def _check_robots(self, target: Target, url: str, lim: Limits) -> None:
        root = f"{target.url.scheme}://{target.netloc}"
        robots_lim = Limits(timeout=min(lim.timeout, 10), max_bytes=512 * 1024,
                            allow_private=lim.allow_private, respect_robots=False)

        async def fetch_robots() -> tuple[int, bytes]:
            resp = await asyncio.wait_for(self._get(root + "/robots.txt", {}, robots_lim),
                                          robots_lim.timeout)
            return resp.status, resp.body

        if not await self._robots.allows(root, url, self.user_agent, fetch_robots):
            raise BlockedURL("disallowed by robots.txt", url=url)

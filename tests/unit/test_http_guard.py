"""connectors.http against hostile targets, over loopback only.

IPv6 forms of private IPv4 addresses, invalid URLs and ports, non-2xx statuses.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from connectors.errors import BlockedURL, FetchError
from connectors.http import Fetcher, Limits, Response, check_target
from pipeline.ops.feedserver import QuietHandler, serving

PRETEND_PUBLIC = ipaddress.IPv4Address("127.0.0.2")
SECRET = "s3cret-0123456789"
Hit = tuple[str, str, dict[str, str]]  # server name, path, request headers (lower-case names)


def fetch(url: str, *, headers: dict[str, str] | None = None, **limits: Any) -> Response:
    options: dict[str, Any] = {"respect_robots": False, "timeout": 5.0, **limits}
    return asyncio.run(Fetcher(limits=Limits(**options)).get(url, headers=headers))


def recording(name: str, hits: list[Hit], routes: dict[str, tuple[int, dict[str, str]]]
              ) -> type[BaseHTTPRequestHandler]:
    """A handler that records each request and answers from ``routes`` (else 200 'ok')."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            assert len(self.headers.get_all("Host") or []) == 1
            hits.append((name, self.path, {k.lower(): v for k, v in self.headers.items()}))
            status, headers = routes.get(self.path, (200, {}))
            self.reply(status, b"ok" if status == 200 else b"", headers=headers)

    return Handler


# 3. the guard: every address form that leads to a non-public IPv4 address

BLOCKED = [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.0.1", "255.255.255.255", "240.0.0.1", "192.0.2.1",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "fec0::1", "ff02::1", "2001:db8::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",  # IPv4-mapped
    "::127.0.0.1", "::8.8.8.8",  # IPv4-compatible (deprecated)
    "::ffff:0:127.0.0.1", "::ffff:0:10.0.0.1",  # IPv4-translated (SIIT)
    "64:ff9b::127.0.0.1", "64:ff9b::7f00:1", "64:ff9b::10.0.0.1",  # NAT64
    "64:ff9b::169.254.169.254", "64:ff9b::192.168.0.1", "64:ff9b::0.0.0.0",
    "64:ff9b:1::127.0.0.1", "64:ff9b:1:7f00:1::", "64:ff9b:1::8.8.8.8",  # local-use NAT64
    "2002:7f00:1::1", "2002:a00:1::", "2002:a9fe:a9fe::1", "2002:c0a8:101::1",  # 6to4
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
]
ALLOWED = ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e",
           "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "64:ff9b::5db8:d822", "2002:808:808::1"]


def literal(address: str) -> str:
    return f"[{address}]" if ":" in address else address


@pytest.mark.parametrize("address", BLOCKED)
def test_guard_refuses_non_public_address(address: str) -> None:
    with pytest.raises(BlockedURL, match="SSRF"):
        check_target(f"http://{literal(address)}/feed.xml", allow_private=False)


@pytest.mark.parametrize("address", ALLOWED)
def test_guard_lets_public_address_through(address: str) -> None:
    check_target(f"https://{literal(address)}:8443/feed.xml", allow_private=False)


@pytest.mark.parametrize("address", ["64:ff9b::7f00:1", "2002:7f00:1::1", "::ffff:10.0.0.1"])
def test_guard_refuses_a_name_with_one_embedded_private_address(
        address: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        assert host == "news.test"
        return real("8.8.8.8", port, *args, **kwargs) + real(address, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(BlockedURL, match="SSRF"):
        check_target("http://news.test/", allow_private=False)


# 4. every failure is typed

BAD_URLS = ["http://127.0.0.1:99999/", "http://127.0.0.1:65536/", "http://127.0.0.1:-1/",
            "http://127.0.0.1:0/", "http://[::1/", "http://[::1]x/", "http://\u2100.example/",
            "http://a..b/", "http:///no-host", "http://:80/", "ftp://127.0.0.1/", "file:///etc/passwd",
            "http://xn--a.example/", "http://" + "a" * 300 + ".example/", "not a url"]


@pytest.mark.parametrize("url", BAD_URLS)
@pytest.mark.parametrize("allow_private", [False, True])
def test_invalid_url_is_a_typed_error(url: str, allow_private: bool) -> None:
    with pytest.raises((FetchError, BlockedURL)):
        fetch(url, allow_private=allow_private, timeout=2.0)


@pytest.mark.parametrize("location", ["http://127.0.0.1:99999/", "http://127.0.0.1:-5/x",
                                      "http://[::1/", "http://\u2100.example/",
                                      "http://a..b/", "gopher://127.0.0.1/"])
def test_redirect_to_an_invalid_url_is_a_typed_error(location: str) -> None:
    hits: list[Hit] = []
    routes = {"/go": (302, {"Location": location})}
    with serving(recording("A", hits, routes)) as a, pytest.raises((FetchError, BlockedURL)):
        fetch(f"{a}/go", allow_private=True, timeout=2.0)


def test_header_that_cannot_be_sent_is_a_typed_error() -> None:
    with serving(recording("A", [], {})) as a, pytest.raises(FetchError):
        fetch(f"{a}/", headers={"X-Name": "caf\u00e9 \u2603"}, allow_private=True)


# 5. a non-2xx response says so


@pytest.mark.parametrize(("status", "ok"), [(200, True), (204, True), (302, False),
                                            (304, False), (404, False), (500, False)])
def test_response_status_and_ok(status: int, ok: bool) -> None:
    routes: dict[str, tuple[int, dict[str, str]]] = {"/x": (status, {})}  # 302: no Location
    with serving(recording("A", [], routes)) as a:
        resp = fetch(f"{a}/x", allow_private=True)
    assert resp.status == status and resp.ok is ok

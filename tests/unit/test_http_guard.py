"""connectors.http against hostile targets, over loopback only.

DNS rebinding, credentials on cross-origin redirects, IPv6 forms of private
IPv4 addresses, invalid URLs and ports, non-2xx statuses, and the size, time and
redirect limits on the pinned path.

No test leaves the machine: 127.0.0.2 stands in for a public address (the tests
that need one make ``ipaddress`` call it global) and a patched
``socket.getaddrinfo`` plays a rebinding DNS server for ``*.test`` names.
"""

from __future__ import annotations

import asyncio
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from connectors.base import Context
from connectors.errors import BlockedURL, ConnectorError, FetchError, TooLarge
from connectors.http import Fetcher, Limits, Response, check_target, pinned
from connectors.jsonapi import JSONAPIConnector
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


@contextmanager
def server_at(handler: type[BaseHTTPRequestHandler], host: str, port: int = 0,
              tls: ssl.SSLContext | None = None) -> Iterator[int]:
    """Serve ``handler`` on ``host:port`` in a thread; yield the port."""
    httpd = ThreadingHTTPServer((host, port), handler)
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def public_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make 127.0.0.2 count as a public address, so the guard lets it through."""
    is_global = ipaddress.IPv4Address.is_global
    assert isinstance(is_global, property) and is_global.fget is not None
    fget = is_global.fget
    monkeypatch.setattr(ipaddress.IPv4Address, "is_global",
                        property(lambda ip: ip == PRETEND_PUBLIC or fget(ip)))


@pytest.fixture
def rebinding(public_loopback: None, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A DNS server that answers 127.0.0.2 (public) for a ``*.test`` name the first time,
    then 127.0.0.1 (loopback). Yields the names looked up, one entry per lookup."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def getaddrinfo(host: str | bytes | None, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if not name or not name.endswith(".test"):
            return real(host, port, *args, **kwargs)
        lookups.append(name)
        ip = str(PRETEND_PUBLIC) if lookups.count(name) == 1 else "127.0.0.1"
        return real(ip, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


@contextmanager
def twin_servers(hits: list[Hit], routes: dict[str, tuple[int, dict[str, str]]],
                 tls: ssl.SSLContext | None = None) -> Iterator[int]:
    """'checked' on 127.0.0.2 and 'rebound' on 127.0.0.1, on one port; yield the port."""
    with server_at(recording("checked", hits, routes), str(PRETEND_PUBLIC), tls=tls) as port:
        try:
            rebound = server_at(recording("rebound", hits, routes), "127.0.0.1", port)
            with rebound:
                yield port
        except OSError as exc:  # the port is taken on 127.0.0.1
            pytest.skip(f"cannot bind 127.0.0.1:{port}: {exc}")


# 1. DNS rebinding: the connection goes to the address that was checked


def test_rebinding_first_request_connects_to_the_checked_address(rebinding: list[str]) -> None:
    hits: list[Hit] = []
    with twin_servers(hits, {}) as port:
        resp = fetch(f"http://feed.test:{port}/feed.xml")
    assert [(name, path) for name, path, _ in hits] == [("checked", "/feed.xml")]
    assert hits[0][2]["host"] == f"feed.test:{port}"  # the Host header keeps the name
    assert rebinding == ["feed.test"]  # resolved once, by the guard
    assert resp.ok and resp.body == b"ok" and resp.url == f"http://feed.test:{port}/feed.xml"


def test_rebinding_redirect_hop_connects_to_the_checked_address(rebinding: list[str]) -> None:
    hits: list[Hit] = []
    routes: dict[str, tuple[int, dict[str, str]]] = {}
    with twin_servers(hits, routes) as port:
        routes["/start"] = (302, {"Location": f"http://hop.test:{port}/feed.xml"})
        resp = fetch(f"http://{PRETEND_PUBLIC}:{port}/start")
    assert [(name, path) for name, path, _ in hits] == [("checked", "/start"),
                                                         ("checked", "/feed.xml")]
    assert hits[1][2]["host"] == f"hop.test:{port}"
    assert resp.status == 200 and resp.url == f"http://hop.test:{port}/feed.xml"


@pytest.mark.parametrize(("url", "address", "connect", "sni"), [
    ("https://News.Example/feed?x=1", "93.184.216.34", "https://93.184.216.34/feed?x=1",
     "news.example"),
    ("https://news.example:8443/f", "2606:4700::1", "https://[2606:4700::1]:8443/f",
     "news.example"),
    ("http://b\u00fccher.example/f", "93.184.216.34", "http://93.184.216.34/f", None),
])
def test_pinned_request_goes_to_the_checked_address_under_the_name(
        url: str, address: str, connect: str, sni: str | None) -> None:
    target = check_target(url, allow_private=False, resolver=lambda host, port: [address])
    request_url, extensions = pinned(target)
    assert str(request_url) == connect and extensions.get("sni_hostname") == sni
    assert target.netloc == target.host + ("" if target.url.port is None else ":8443")


def test_cookies_set_by_a_redirect_follow_it_by_name(public_loopback: None) -> None:
    hits: list[Hit] = []
    routes = {"/login": (302, {"Location": "/feed.xml", "Set-Cookie": "consent=yes; Path=/"})}
    with server_at(recording("checked", hits, routes), str(PRETEND_PUBLIC)) as port:
        fetcher = Fetcher(limits=Limits(respect_robots=False),
                          resolver=lambda host, port: [str(PRETEND_PUBLIC)])
        resp = asyncio.run(fetcher.get(f"http://shop.test:{port}/login"))
    assert resp.ok and hits[1][1] == "/feed.xml" and hits[1][2]["cookie"] == "consent=yes"


def make_cert(tmp: Path, name: str) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp / f"{name}.pem", tmp / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-keyout", str(key),
                    "-out", str(cert), "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName=DNS:{name}"], check=True, capture_output=True)
    return cert, key


def tls_server_context(cert: Path, key: Path, sni_seen: list[str | None]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)

    def record(sock: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> None:
        sni_seen.append(name)

    ctx.sni_callback = record
    return ctx


def test_rebinding_https_keeps_sni_and_certificate_check_on_the_name(
        rebinding: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = make_cert(tmp_path, "secure.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # httpx trusts it (trust_env)
    hits: list[Hit] = []
    sni: list[str | None] = []
    with twin_servers(hits, {}, tls=tls_server_context(cert, key, sni)) as port:
        resp = fetch(f"https://secure.test:{port}/feed.xml")
    assert resp.ok and [name for name, _, _ in hits] == ["checked"]
    assert sni == ["secure.test"] and hits[0][2]["host"] == f"secure.test:{port}"


def test_pinned_https_still_refuses_a_certificate_for_another_name(
        public_loopback: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = make_cert(tmp_path, "other.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    hits: list[Hit] = []
    tls = tls_server_context(cert, key, [])
    with (server_at(recording("checked", hits, {}), str(PRETEND_PUBLIC), tls=tls) as port,
          pytest.raises(FetchError, match=r"(?i)certificate")):
        fetch(f"https://{PRETEND_PUBLIC}:{port}/feed.xml")
    assert hits == []


# the limits still hold on the pinned path


class Limited(QuietHandler):
    def do_GET(self) -> None:
        if self.path == "/huge":
            self.send_response(200)
            self.end_headers()
            try:
                for _ in range(64):
                    self.wfile.write(b"x" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif self.path == "/declared":
            self.reply(200, b"x" * 4096)
        elif self.path == "/slow":
            time.sleep(3)
            self.reply(200, b"late")
        elif self.path == "/loop":
            self.reply(302, headers={"Location": "/loop"})
        elif self.path.startswith("/chain/") and int(self.path[7:]) < 5:
            self.reply(302, headers={"Location": f"/chain/{int(self.path[7:]) + 1}"})
        else:
            self.reply(200, b"ok")


@pytest.fixture
def limited(public_loopback: None) -> Iterator[str]:
    with serving(Limited, host=str(PRETEND_PUBLIC)) as base:
        yield base


def test_limits_on_the_pinned_path(limited: str) -> None:
    with pytest.raises(TooLarge):
        fetch(f"{limited}/huge", max_bytes=100_000)
    with pytest.raises(TooLarge):
        fetch(f"{limited}/declared", max_bytes=1000)
    with pytest.raises(FetchError, match="timed out"):
        fetch(f"{limited}/slow", timeout=1.0)
    with pytest.raises(FetchError, match="redirect loop"):
        fetch(f"{limited}/loop")
    with pytest.raises(FetchError, match="more than 3 redirects"):
        fetch(f"{limited}/chain/0", max_redirects=3)
    assert fetch(f"{limited}/chain/0", max_redirects=5).status == 200


def test_guard_still_refuses_loopback_by_default() -> None:
    with serving(recording("A", [], {})) as a, pytest.raises(BlockedURL, match="SSRF"):
        fetch(f"{a}/feed.xml")


# 2. credentials stay on their origin


@pytest.fixture
def two_origins() -> Iterator[tuple[str, str, list[Hit]]]:
    """Loopback servers A and B (two ports); A's /cross redirects to B, /same to A."""
    hits: list[Hit] = []
    routes: dict[str, tuple[int, dict[str, str]]] = {"/robots.txt": (404, {})}
    with serving(recording("A", hits, routes)) as a, serving(recording("B", hits, routes)) as b:
        routes["/cross"] = (302, {"Location": f"{b}/landing"})
        routes["/same"] = (302, {"Location": "/landing"})
        routes["/cross-back"] = (302, {"Location": f"{b}/back"})
        routes["/back"] = (302, {"Location": f"{a}/landing"})
        yield a, b, hits


CREDENTIALS = {"Authorization": f"Bearer {SECRET}", "Cookie": f"sid={SECRET}",
               "Proxy-Authorization": f"Basic {SECRET}", "X-Api-Key": SECRET}


def test_credentials_are_dropped_on_a_redirect_to_another_port(
        two_origins: tuple[str, str, list[Hit]]) -> None:
    a, _, hits = two_origins
    resp = fetch(f"{a}/cross", headers={**CREDENTIALS, "Accept": "application/json"},
                 allow_private=True)
    assert resp.ok and [(n, p) for n, p, _ in hits] == [("A", "/cross"), ("B", "/landing")]
    assert all(hits[0][2][k.lower()] == v for k, v in CREDENTIALS.items())
    landing = hits[1][2]
    assert not any(SECRET in value for value in landing.values()), landing
    assert landing["accept"] == "application/json" and landing["user-agent"].startswith("newsflow")


def test_credentials_stay_dropped_when_redirected_back(
        two_origins: tuple[str, str, list[Hit]]) -> None:
    a, _, hits = two_origins
    fetch(f"{a}/cross-back", headers=CREDENTIALS, allow_private=True)
    assert [(n, p) for n, p, _ in hits] == [("A", "/cross-back"), ("B", "/back"),
                                            ("A", "/landing")]
    assert not any(SECRET in value for _, _, h in hits[1:] for value in h.values())


def test_credentials_follow_a_same_origin_redirect(
        two_origins: tuple[str, str, list[Hit]]) -> None:
    a, _, hits = two_origins
    fetch(f"{a}/same", headers=CREDENTIALS, allow_private=True)
    assert [(n, p) for n, p, _ in hits] == [("A", "/same"), ("A", "/landing")]
    assert hits[1][2]["authorization"] == f"Bearer {SECRET}"


def test_jsonapi_authorization_does_not_reach_the_redirect_target(
        two_origins: tuple[str, str, list[Hit]], monkeypatch: pytest.MonkeyPatch) -> None:
    a, _, hits = two_origins
    monkeypatch.setenv("NEWSFLOW_TEST_TOKEN", f"Bearer {SECRET}")
    config = JSONAPIConnector.Config(url=f"{a}/cross", auth_header="Authorization",
                                     auth_env="NEWSFLOW_TEST_TOKEN", allow_private=True)
    conn = JSONAPIConnector(config, Context(source="api", fetcher=Fetcher()))

    async def drain() -> None:
        async for _ in conn.fetch():
            pass

    with pytest.raises(ConnectorError):  # B answers "ok", which is not JSON
        asyncio.run(drain())
    asked = {(n, p): h for n, p, h in hits}
    assert asked[("A", "/cross")]["authorization"] == f"Bearer {SECRET}"
    assert "authorization" not in asked[("B", "/landing")]

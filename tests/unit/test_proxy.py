"""Proxies per source, against a real proxy server started here on 127.0.0.1 (HTTP with
CONNECT, and SOCKS5 with user/password): targets over http and https (tunnelled), the
proxy's credentials only to the proxy, the target's only to the target, the SSRF guard
still checking the target."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http.server
import shutil
import socket
import ssl
import struct
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.errors import BlockedURL, FetchError, SourceConfigError
from connectors.http import Fetcher, Limits
from connectors.proxy import ProxyConfig
from connectors.sources import parse_sources
from pipeline.ops.feedserver import QuietHandler, serving

USER, PASSWORD = "alice", "s3cret"
PROXY_BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
TARGET_AUTH = {"Authorization": "Bearer target-token"}


# ---------------------------------------------------------------- the proxy


def _relay(a: socket.socket, b: socket.socket) -> None:
    def pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    t = threading.Thread(target=pump, args=(b, a), daemon=True)
    t.start()
    pump(a, b)
    t.join(10)
    a.close()
    b.close()


class Proxy:
    """HTTP proxy (absolute-form requests and CONNECT) and SOCKS5 on one port; both
    require alice:s3cret. ``seen`` records (kind, target, credentials it was given)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.seen: list[tuple[str, str, str]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.sock.close()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError, ValueError):
            if conn.recv(1, socket.MSG_PEEK) == b"\x05":
                self._socks(conn)
            else:
                self._http(conn)

    def _http(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        line, *lines = head.decode("latin-1").split("\r\n")
        method, target, version = line.split(" ")
        headers = [tuple(x.split(": ", 1)) for x in lines]
        auth = next((v for k, v in headers if k.lower() == "proxy-authorization"), "")
        self.seen.append(("connect" if method == "CONNECT" else "http", target, auth))
        if auth != PROXY_BASIC:
            conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                         b"Proxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n")
            conn.close()
            return
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            up = socket.create_connection((host, int(port)))
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _relay(conn, up)
            return
        rest_url = target.split("://", 1)[1]
        hostport, _, path = rest_url.partition("/")
        host, _, port = hostport.partition(":")
        up = socket.create_connection((host, int(port or 80)))
        keep = [f"{k}: {v}" for k, v in headers
                if k.lower() not in {"proxy-authorization", "proxy-connection", "connection"}]
        up.sendall(("\r\n".join([f"{method} /{path} {version}", *keep, "Connection: close"])
                    + "\r\n\r\n").encode("latin-1") + rest)
        _relay(conn, up)

    def _socks(self, conn: socket.socket) -> None:
        _ver, n = conn.recv(2)
        methods = conn.recv(n)
        if 2 not in methods:
            conn.sendall(b"\x05\xff")
            return
        conn.sendall(b"\x05\x02")
        _, ulen = conn.recv(2)
        user = conn.recv(ulen).decode()
        (plen,) = conn.recv(1)
        password = conn.recv(plen).decode()
        ok = (user, password) == (USER, PASSWORD)
        conn.sendall(b"\x01\x00" if ok else b"\x01\x01")
        _, _cmd, _, atyp = conn.recv(4)
        if atyp == 1:
            host = socket.inet_ntoa(conn.recv(4))
        elif atyp == 3:
            host = conn.recv(conn.recv(1)[0]).decode()
        else:
            host = socket.inet_ntop(socket.AF_INET6, conn.recv(16))
        (port,) = struct.unpack(">H", conn.recv(2))
        self.seen.append(("socks", f"{host}:{port}", f"{user}:{password}"))
        if not ok:
            return
        up = socket.create_connection((host, port))
        conn.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("0.0.0.0") + b"\x00\x00")
        _relay(conn, up)


# ---------------------------------------------------------------- the targets


class Target(QuietHandler):
    heard: list[dict[str, str]] = []  # noqa: RUF012 - a test's record

    def do_GET(self) -> None:
        type(self).heard.append({k.lower(): v for k, v in self.headers.items()})
        self.reply(200, b"hello from the target")


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    p = Proxy()
    yield p
    p.close()


@pytest.fixture
def target() -> Iterator[str]:
    Target.heard = []
    with serving(Target) as base:
        yield base


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ssl.SSLContext]]:
    """An https target on localhost with a certificate made here; a client context
    that trusts it."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test certificate")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True,
                   capture_output=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Target)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://localhost:{server.server_address[1]}", ssl.create_default_context(
            cafile=str(Path(cert)))
    finally:
        server.shutdown()
        server.server_close()


def fetch(url: str, proxy_url: str, *, verify: Any = True, allow_private: bool = True,
          auth_env: str | None = "TEST_PROXY_AUTH") -> bytes:
    lim = Limits(allow_private=allow_private, respect_robots=False, per_host_delay=0,
                 timeout=10, proxy=ProxyConfig(proxy_url, auth_env))

    async def main() -> bytes:
        return (await Fetcher(verify=verify).get(url, headers=TARGET_AUTH, limits=lim)).body

    return asyncio.run(main())


@pytest.fixture(autouse=True)
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_PROXY_AUTH", f"{USER}:{PASSWORD}")


# ---------------------------------------------------------------- the tests


def test_http_proxy_for_an_http_target(proxy: Proxy, target: str) -> None:
    assert fetch(target + "/a", f"http://127.0.0.1:{proxy.port}") == b"hello from the target"
    [(kind, asked, auth)] = proxy.seen
    assert (kind, asked, auth) == ("http", target + "/a", PROXY_BASIC)
    [heard] = Target.heard
    assert heard["authorization"] == "Bearer target-token"  # the target's, to the target
    assert "proxy-authorization" not in heard


def test_https_target_is_tunnelled_with_connect(proxy: Proxy,
                                                tls: tuple[str, ssl.SSLContext]) -> None:
    base, ctx = tls
    Target.heard = []
    assert fetch(base + "/b", f"http://127.0.0.1:{proxy.port}", verify=ctx) == \
        b"hello from the target"
    [(kind, asked, auth)] = proxy.seen
    assert (kind, asked, auth) == ("connect", base.split("://")[1], PROXY_BASIC)
    [heard] = Target.heard  # inside the tunnel: the proxy saw neither header
    assert heard["authorization"] == "Bearer target-token"
    assert "proxy-authorization" not in heard


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_socks5_proxy(proxy: Proxy, target: str, tls: tuple[str, ssl.SSLContext],
                      scheme: str) -> None:
    base, ctx = (target, True) if scheme == "http" else tls
    Target.heard = []
    assert fetch(base + "/c", f"socks5://127.0.0.1:{proxy.port}", verify=ctx) == \
        b"hello from the target"
    [(kind, asked, auth)] = proxy.seen
    assert kind == "socks" and asked.endswith(base.rsplit(":", 1)[1]) and \
        auth == f"{USER}:{PASSWORD}"
    assert Target.heard[0]["authorization"] == "Bearer target-token"


def test_the_ssrf_guard_still_checks_the_target(proxy: Proxy, target: str) -> None:
    for proxy_url in (f"http://127.0.0.1:{proxy.port}", f"socks5://127.0.0.1:{proxy.port}"):
        with pytest.raises(BlockedURL, match="non-public address"):
            fetch(target + "/d", proxy_url, allow_private=False)
    assert proxy.seen == [] and Target.heard == []


def test_wrong_or_missing_proxy_credentials(proxy: Proxy, target: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_PROXY_AUTH")
    with pytest.raises(FetchError, match=r"TEST_PROXY_AUTH .* must hold user:password"):
        fetch(target + "/e", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("TEST_PROXY_AUTH", "alice:wrong")
    lim = Limits(allow_private=True, respect_robots=False, per_host_delay=0, timeout=10,
                 proxy=ProxyConfig(f"http://127.0.0.1:{proxy.port}", "TEST_PROXY_AUTH"))
    resp = asyncio.run(Fetcher().get(target + "/e", limits=lim))
    assert resp.status == 407 and not resp.ok  # the proxy's answer, never article text
    assert Target.heard == []  # refused by the proxy: nothing reached the target


def test_proxy_config_in_sources() -> None:
    [src] = parse_sources({"sources": [{"name": "p", "type": "rss.v1",
                                        "url": "https://e.org/feed",
                                        "proxy": "socks5://proxy.internal:1080",
                                        "proxy_auth_env": "NEWS_PROXY_AUTH"}]})
    assert src.config.proxy_config() == ProxyConfig(  # type: ignore[attr-defined]
        "socks5://proxy.internal:1080", "NEWS_PROXY_AUTH")
    for bad, says in (("http://bob:pw@proxy:3128", "no credentials in the proxy URL"),
                      ("ftp://proxy:21", "not supported")):
        with pytest.raises(SourceConfigError, match=says):
            parse_sources({"sources": [{"name": "p", "type": "web.v1", "urls": ["https://e.org"],
                                        "proxy": bad}]})

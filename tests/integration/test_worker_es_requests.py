"""What the worker asks of Elasticsearch once ``newsflow setup`` has made everything: a
recording HTTP proxy (stdlib, forwarding every request to the real Elasticsearch and its
answer back) sits between a real worker and Elasticsearch, while articles cross Kafka
through every stage. The worker sends only document writes, searches, counts, gets,
refreshes and health/info reads: no index creation or deletion, no template, alias,
mapping or settings change; so the ``newsflow_worker`` role (pipeline/ops/security.py),
which has none of those privileges, is enough. The same proxy in front of ``newsflow
setup`` sees its admin requests: the check can fail."""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from elasticsearch import Elasticsearch

from pipeline.core.contracts import Provenance, RawArticle
from pipeline.core.settings import Settings
from tests.conftest import settings_env, wait_for
from tests.integration.conftest import send, wait_indexed

pytestmark = pytest.mark.integration
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
       "proxy-authorization", "proxy-connection", "host", "content-length"}
# (methods, path) of what a document writer may send; the path without its query
DOCUMENT_REQUESTS = [
    ({"GET", "HEAD"}, re.compile(r"/.*")),                      # reads: info, health, get,
    #                                                              exists, alias, mapping
    ({"POST", "PUT"}, re.compile(r"(/[^_/][^/]*)?/_bulk")),
    ({"POST", "GET"}, re.compile(r"(/[^_/][^/]*)?/_(search|msearch|count|mget)")),
    ({"POST", "GET"}, re.compile(r"/_search/scroll")),
    ({"DELETE"}, re.compile(r"/_search/scroll")),               # clear a scroll
    ({"POST", "GET"}, re.compile(r"(/[^_/][^/]*)?/_refresh")),
    ({"PUT", "POST"}, re.compile(r"/[^_/][^/]*/_(doc|create|update)/[^/]+")),
    ({"DELETE"}, re.compile(r"/[^_/][^/]*/_doc/[^/]+")),        # a document, not an index
]


def not_document_requests(seen: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Every request in ``seen`` that is not a document or read request (index admin)."""
    def allowed(method: str, path: str) -> bool:
        bare = urlsplit(path).path.rstrip("/") or "/"
        return any(method in methods and rule.fullmatch(bare)
                   for methods, rule in DOCUMENT_REQUESTS)
    return [(m, p) for m, p in seen if not allowed(m, p)]


class RecordingProxy(ThreadingHTTPServer):
    """Forwards each request to ``upstream`` and records (method, path)."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "localhost", parts.port or 9200)
        self.seen: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the clients expect
    server: RecordingProxy

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while size := int(self.rfile.readline().split(b";")[0], 16):
                out += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return out
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _forward(self) -> None:
        body = self._body()
        with self.server.lock:
            self.server.seen.append((self.command, self.path))
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=120)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            resp = upstream.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            for key, value in resp.getheaders():
                if key.lower() not in HOP:
                    self.send_header(key, value)
            length = resp.getheader("Content-Length") if self.command == "HEAD" else None
            self.send_header("Content-Length", length or str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        finally:
            upstream.close()

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _forward


@pytest.fixture
def proxy(isolated: Settings) -> Iterator[RecordingProxy]:
    server = RecordingProxy(isolated.es_hosts[0])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _setup(settings: Settings) -> None:
    out = subprocess.run([sys.executable, "-m", "pipeline.cli", "setup", "--no-kibana"],
                         env=settings_env(settings), capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def _articles(prefix: str) -> list[RawArticle]:
    text = ('"We will not accept this offer," said Maria Lopez, the head of the dockers\' '
            "union, on Tuesday. The port of Rotterdam stayed closed as the strike went on. "
            "The operator said talks would resume next week.")
    return [RawArticle.new(url=f"https://{prefix}.newsflow.invalid/{i}",
                           title=f"Dockers strike in Rotterdam ({i})", text=text,
                           provenance=Provenance(connector="test", source=f"src{i}"))
            for i in range(3)]


def _cleanup(es: Elasticsearch, settings: Settings) -> None:
    stem = settings.index_alias.removesuffix("-articles")
    for pattern in (f"{settings.index_alias}*", f"{stem}-quotes*"):
        for name in es.indices.get(index=pattern, ignore_unavailable=True, expand_wildcards="all"):
            es.indices.delete(index=name, ignore_unavailable=True)
    for name in (f"{settings.index_alias}-template", f"{settings.quotes_index_alias}-template"):
        es.options(ignore_status=404).indices.delete_index_template(name=name)


def test_the_worker_sends_no_index_admin_request(isolated: Settings, proxy: RecordingProxy,
                                                 worker_factory) -> None:  # type: ignore[no-untyped-def]
    es = Elasticsearch(isolated.es_url)
    try:
        _setup(isolated)  # directly against Elasticsearch, as the setup user would
        worker = worker_factory(replace(isolated, es_url=proxy.url)).start()
        articles = _articles(isolated.topic_prefix)
        send(isolated, isolated.raw_topic, [a.to_bytes() for a in articles],
             keys=[a.id.encode() for a in articles])
        wait_indexed(es, isolated, [a.id for a in articles], [worker], timeout=300)

        def grouped() -> bool:
            assert worker.alive(), worker.log.read_text()[-3000:]
            es.indices.refresh(index=isolated.quotes_index_alias)
            return bool(es.count(index=isolated.quotes_index_alias)["count"])

        wait_for(grouped, timeout=180, what="a quote group written by the worker")
        worker.stop()
        seen = list(proxy.seen)
        writes = [p for m, p in seen if urlsplit(p).path.endswith("/_bulk")]
        assert writes, seen  # the worker's writes did go through the proxy
        assert not_document_requests(seen) == [], sorted(set(seen))

        # the check sees admin requests: setup through the same proxy sends them
        proxy.seen.clear()
        _setup(replace(isolated, es_url=proxy.url))
        admin = not_document_requests(proxy.seen)
        assert any("_index_template" in p for _, p in admin), proxy.seen
        assert any(m == "PUT" and "_mapping" in p for m, p in admin), proxy.seen
    finally:
        _cleanup(es, isolated)
        es.close()


@pytest.mark.parametrize("request_, admin", [
    (("PUT", "/t1-articles-v1"), True),
    (("DELETE", "/t1-articles-v1"), True),
    (("PUT", "/_index_template/t1-articles-template"), True),
    (("POST", "/_aliases"), True),
    (("PUT", "/t1-articles-v1/_alias/t1-articles"), True),
    (("DELETE", "/t1-articles-v1/_alias/t1-articles"), True),
    (("PUT", "/t1-articles/_mapping"), True),
    (("PUT", "/t1-articles/_settings"), True),
    (("POST", "/t1-articles/_delete_by_query"), True),
    (("POST", "/_bulk?refresh=false"), False),
    (("PUT", "/t1-articles/_bulk"), False),
    (("POST", "/t1-quotes/_search?size=0"), False),
    (("GET", "/t1-articles/_count"), False),
    (("POST", "/t1-articles/_refresh"), False),
    (("HEAD", "/_alias/t1-articles"), False),
    (("GET", "/t1-articles/_mapping"), False),
    (("DELETE", "/_search/scroll"), False),
    (("DELETE", "/t1-quotes/_doc/g1"), False),
    (("POST", "/t1-quotes/_update/g1"), False),
], ids=lambda v: " ".join(v) if isinstance(v, tuple) else str(v))
def test_which_requests_count_as_index_admin(request_: tuple[str, str], admin: bool) -> None:
    assert bool(not_document_requests([request_])) is admin

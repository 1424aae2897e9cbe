"""Serve articles as RSS 2.0 feeds from a local HTTP server (demo and tests).

    >>> with serving_feed(load_samples()[:2]) as url:
    ...     url.startswith("http://127.0.0.1:") and url.endswith("/feed.xml")
    True

The demo serves one feed per publisher of the samples (their ``publisher`` field), so each
article carries its own outlet's name::

    >>> feeds = by_publisher(load_samples())
    >>> "Newsflow Seed" in feeds and len(feeds["Northfield Wire"]) >= 2
    True
    >>> with serving_feeds(feeds) as urls:
    ...     sorted(urls) == sorted(feeds) and urls["Northfield Wire"].endswith("/feeds/2.xml")
    True
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from xml.sax.saxutils import escape


def load_samples() -> list[dict[str, Any]]:
    """The bundled sample articles (package data: ``pipeline/ops/samples/articles.jsonl``)."""
    text = (resources.files("pipeline.ops") / "samples" / "articles.jsonl").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def rss(articles: list[dict[str, Any]], *, title: str = "newsflow samples") -> bytes:
    items = []
    for a in articles:
        paras = "".join(f"<p>{escape(p)}</p>" for p in a["text"].split("\n\n") if p.strip())
        date = (format_datetime(datetime.fromisoformat(a["published_at"]))
                if a.get("published_at") else "")
        authors = "".join(f"<dc:creator>{escape(x)}</dc:creator>" for x in a.get("authors", []))
        items.append(
            f"<item><title>{escape(a['title'])}</title><link>{escape(a['url'])}</link>"
            f"<guid>{escape(a['url'])}</guid><pubDate>{date}</pubDate>{authors}"
            f"<description>{escape(a['text'][:200])}</description>"
            f"<content:encoded><![CDATA[{paras}]]></content:encoded></item>")
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>{escape(title)}</title><link>https://samples.newsflow.invalid/</link>"
        f"<description>{escape(title)}</description>{''.join(items)}</channel></rss>")
    return xml.encode("utf-8")


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler with a one-call answer and no access log on stderr."""

    def reply(self, status: int, body: bytes = b"", ctype: str = "text/plain",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], *, host: str = "127.0.0.1"
            ) -> Iterator[str]:
    """Serve ``handler`` on a free loopback port in a thread; yield the base URL."""
    httpd = ThreadingHTTPServer((host, 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://{host}:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def by_publisher(articles: list[dict[str, Any]], default: str = "Newsflow Samples"
                 ) -> dict[str, list[dict[str, Any]]]:
    """The articles by their ``publisher`` field, in order of first appearance."""
    feeds: dict[str, list[dict[str, Any]]] = {}
    for a in articles:
        feeds.setdefault(a.get("publisher") or default, []).append(a)
    return feeds


@contextmanager
def serving_feeds(feeds: dict[str, list[dict[str, Any]]], *, host: str = "127.0.0.1"
                  ) -> Iterator[dict[str, str]]:
    """Serve each list of articles as its own RSS feed (``/feeds/<n>.xml``); yield the
    URL of each feed by name."""
    bodies = {f"/feeds/{i}.xml": rss(arts, title=name)
              for i, (name, arts) in enumerate(feeds.items())}

    class Feeds(QuietHandler):
        def do_GET(self) -> None:
            body = bodies.get(self.path.split("?")[0])
            if body is None:
                self.send_error(404)
                return
            self.reply(200, body, "application/rss+xml; charset=utf-8")

    with serving(Feeds, host=host) as base:
        yield {name: f"{base}/feeds/{i}.xml" for i, name in enumerate(feeds)}


@contextmanager
def serving_feed(articles: list[dict[str, Any]], *, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``articles`` as RSS at ``/feed.xml`` (everything else is 404); yield its URL."""
    body = rss(articles)

    class Feed(QuietHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] != "/feed.xml":
                self.send_error(404)
                return
            self.reply(200, body, "application/rss+xml; charset=utf-8")

    with serving(Feed, host=host) as base:
        yield f"{base}/feed.xml"

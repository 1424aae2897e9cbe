"""``newsflow discover`` on a real local site: declared feeds, usual paths, robots.txt
Sitemap: lines, a sitemap index with a Google News sitemap; every result checked."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
import yaml

from connectors.discover import declared_feeds
from connectors.sources import parse_sources
from pipeline.ops.feedserver import QuietHandler, serving
from tests.conftest import shared_path


def rss(n: int, title: str) -> bytes:
    items = "".join(f"<item><title>S{i}</title><link>https://news.example/{i}</link></item>"
                    for i in range(n))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>https://news.example/</link><description>d</description>{items}"
            "</channel></rss>").encode()


ATOM = (b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        b"<title>All of it</title><id>urn:x</id><updated>2026-01-01T00:00:00Z</updated>"
        b"<entry><title>A</title><id>urn:a</id><link href='https://news.example/a'/>"
        b"<updated>2026-01-01T00:00:00Z</updated></entry></feed>")
SM = b'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
NEWS = (b'<?xml version="1.0"?><urlset ' + SM + b' xmlns:news="http://www.google.com/'
        b'schemas/sitemap-news/0.9">' + b"".join(
            b"<url><loc>https://news.example/n%d</loc><news:news><news:publication_date>"
            b"2026-01-01</news:publication_date><news:title>N</news:title></news:news></url>"
            % i for i in range(3)) + b"</urlset>")


class Site(QuietHandler):
    def do_GET(self) -> None:
        base = f"http://{self.headers['Host']}"
        routes = {
            "/": (b'<html><head><title>News</title><link rel="alternate" '
                  b'type="application/rss+xml" title="Top stories" href="/news/top.xml">'
                  b'<link rel="alternate" type="application/rss+xml" href="/broken.xml">'
                  b"</head><body><p>Hello</p></body></html>", "text/html"),
            "/news/top.xml": (rss(5, "Top stories"), "application/rss+xml"),
            "/broken.xml": (b"<html><body>Not here</body></html>", "text/html"),
            "/atom.xml": (ATOM, "application/atom+xml"),
            "/robots.txt": (f"User-agent: *\nAllow: /\nSitemap: {base}/maps/index.xml\n"
                            .encode(), "text/plain"),
            "/maps/index.xml": (b'<?xml version="1.0"?><sitemapindex ' + SM + b">"
                                + f"<sitemap><loc>{base}/maps/news.xml</loc></sitemap>"
                                  f"<sitemap><loc>{base}/maps/2025.xml</loc></sitemap>"
                                  .encode() + b"</sitemapindex>", "application/xml"),
            "/maps/news.xml": (NEWS, "application/xml"),
        }
        if self.path not in routes:
            self.reply(404, b"not found")
            return
        body, ctype = routes[self.path]
        self.reply(200, body, ctype)


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with serving(Site) as base:
        yield base


def newsflow(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], capture_output=True,
                          text=True, timeout=120)


def test_discover_json_finds_checks_and_ranks(site: str) -> None:
    proc = newsflow("discover", site + "/", "--json", "--allow-private")
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert found == [
        {"url": f"{site}/news/top.xml", "type": "feed", "title": "Top stories", "items": 5},
        {"url": f"{site}/atom.xml", "type": "feed", "title": "All of it", "items": 1},
        {"url": f"{site}/maps/news.xml", "type": "news-sitemap", "title": None, "items": 3},
        {"url": f"{site}/maps/index.xml", "type": "sitemap-index", "title": None, "items": 2},
    ]  # /broken.xml (declared, an HTML page) and the missing 2025 sitemap are left out


def test_discover_prints_ready_sources_entries(site: str) -> None:
    proc = newsflow("discover", site + "/", "--allow-private")
    assert proc.returncode == 0, proc.stderr
    entries = yaml.safe_load(proc.stdout.split("# sources.yaml entries", 1)[1].split("\n", 1)[1])
    sources = parse_sources({"sources": entries})  # valid as they are
    assert [(s.spec.type, s.config.url) for s in sources][:3] == [  # type: ignore[attr-defined]
        ("rss.v1", f"{site}/news/top.xml"), ("rss.v1", f"{site}/atom.xml"),
        ("sitemap.v1", f"{site}/maps/news.xml")]


def test_discover_refuses_private_without_the_flag_and_bad_urls(site: str) -> None:
    assert newsflow("discover", site + "/", "--json").stdout.strip() == "[]"
    assert newsflow("discover", site + "/").returncode == 3
    bad = newsflow("discover", "ftp://example.org/")
    assert bad.returncode == 2 and "give an http(s) URL" in bad.stderr


def test_every_benchmark_page_that_declares_a_feed_has_it_found() -> None:
    html_dir = shared_path("data", "article-extraction-benchmark", "html")
    declaring = found = 0
    pattern = re.compile(r"<link\b[^>]*\brel=[\"']?alternate[^>]*application/(?:rss|atom)\+xml"
                         r"|<link\b[^>]*application/(?:rss|atom)\+xml[^>]*\brel=[\"']?alternate",
                         re.I)
    for path in sorted(html_dir.glob("*.html.gz")):
        page = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
        if pattern.search(page):
            declaring += 1
            found += bool(declared_feeds(page, "https://site.example/page"))
    assert declaring > 10 and found == declaring, (found, declaring)


def test_discover_on_benchmark_pages_served_locally() -> None:
    """Ten benchmark pages that declare a feed, served from a local server with their feed
    links made local (the local server answers them with a feed): discover finds it."""
    import asyncio

    from connectors.discover import discover

    html_dir = shared_path("data", "article-extraction-benchmark", "html")
    absolute = re.compile(r'(<link\b[^>]*href=["\'])https?://[^/"\']+/', re.I)
    pages: dict[str, bytes] = {}
    for path in sorted(html_dir.glob("*.html.gz")):
        page = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
        if declared_feeds(page, "https://site.example/"):
            pages[f"/page/{path.name.split('.')[0]}"] = absolute.sub(r"\1/", page).encode()
        if len(pages) == 10:
            break
    feed_paths = {c.url.split("://", 1)[1].split("/", 1)[1] for body in pages.values()
                  for c in declared_feeds(body, "http://h/")}

    class Bench(QuietHandler):
        def do_GET(self) -> None:
            if self.path in pages:
                self.reply(200, pages[self.path], "text/html")
            elif self.path.lstrip("/") in feed_paths:
                self.reply(200, rss(2, "Declared"), "application/rss+xml")
            else:
                self.reply(404, b"")

    async def main(base: str) -> list[bool]:
        found = await asyncio.gather(*(discover(base + p, allow_private=True, timeout=5)
                                       for p in pages))
        return [any(f.type == "feed" and f.title == "Declared" for f in fs) for fs in found]

    with serving(Bench) as base:
        assert asyncio.run(main(base)) == [True] * len(pages)

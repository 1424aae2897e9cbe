"""Find a site's feeds and sitemaps, check each (fetched and parsed), rank them.

    found = await discover("https://news.example/", fetcher=Fetcher())
    [(f.url, f.type, f.items) for f in found]

Candidates come from the page's ``<link rel="alternate">`` (RSS, Atom, JSON Feed), the
usual feed paths of its site, the ``Sitemap:`` lines of its robots.txt, the usual sitemap
paths, and the news sitemaps a sitemap index lists (Google News sitemaps). Each is
fetched with the connectors' own HTTP (robots.txt, SSRF guard, size limit) and parsed
with the connectors' own parsers; what does not parse is left out. Declared feeds rank
first, then feeds, news sitemaps, sitemap indexes and sitemaps, more items first::

    >>> [c.url for c in declared_feeds(
    ...     '<link rel="alternate" type="application/rss+xml" href="/rss">', "https://e.org/a")]
    ['https://e.org/rss']
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from lxml import html as lxml_html

from connectors.errors import ConnectorError, ParseError
from connectors.http import Fetcher, Limits
from connectors.rss import parse_feed
from connectors.sitemap import parse_sitemap

FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/feed+json",
              "application/json", "application/rdf+xml", "text/xml", "application/xml"}
FEED_PATHS = ("/feed", "/rss", "/feed.xml", "/rss.xml", "/atom.xml", "/index.xml",
              "/feed/", "/rss/", "/feeds/posts/default")
SITEMAP_PATHS = ("/sitemap.xml", "/sitemap_index.xml", "/news-sitemap.xml",
                 "/sitemap-news.xml", "/sitemap_news.xml")
NEWS_NS = b"google.com/schemas/sitemap-news"
RANK = {"feed": 0, "news-sitemap": 1, "sitemap-index": 2, "sitemap": 3}
MAX_CANDIDATES = 40
MAX_NEWS_CHILDREN = 5


@dataclass(frozen=True)
class Candidate:
    url: str
    how: str  # link, path, robots, index
    title: str | None = None


@dataclass
class Found:
    url: str
    type: str  # feed, news-sitemap, sitemap-index, sitemap
    title: str | None
    items: int
    declared: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "type": self.type, "title": self.title, "items": self.items}

    def source_entry(self, *, allow_private: bool = False) -> dict[str, Any]:
        """A ready ``sources.yaml`` entry for it."""
        parts = urlsplit(self.url)
        slug = re.sub(r"[^a-z0-9]+", "-", f"{parts.hostname or 'site'}{parts.path}".lower())
        entry: dict[str, Any] = {"name": slug.strip("-")[:60] or "site"}
        if self.type == "feed":
            entry.update(type="rss.v1", url=self.url, interval=300)
        else:
            entry.update(type="sitemap.v1", url=self.url, interval=900,
                         since_days=2 if self.type == "news-sitemap" else 7)
        if self.title:
            entry["publisher"] = self.title[:80]
        if allow_private:
            entry["allow_private"] = True
        return entry


def declared_feeds(page: str | bytes, base_url: str) -> list[Candidate]:
    """The feeds a page declares with ``<link rel="alternate" type=...>``."""
    try:
        root = lxml_html.document_fromstring(page)
    except (ValueError, TypeError, lxml_html.etree.ParserError):
        return []
    out = []
    for link in root.xpath("//link[@href]"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        if "alternate" in rel and kind in FEED_TYPES:
            out.append(Candidate(urljoin(base_url, link.get("href").strip()), "link",
                                 link.get("title")))
    return out


def robots_sitemaps(robots: bytes, base_url: str) -> list[Candidate]:
    """The ``Sitemap:`` lines of a robots.txt."""
    out = []
    for line in robots.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "sitemap" and value.strip():
            out.append(Candidate(urljoin(base_url, value.strip()), "robots"))
    return out


def _feed(body: bytes, url: str) -> Found:
    entries, _ = parse_feed(body)
    if body.lstrip().startswith(b"{"):
        title = json.loads(body).get("title")
    else:
        title = feedparser.parse(body).get("feed", {}).get("title")
    return Found(url, "feed", title if isinstance(title, str) else None, len(entries))


def _sitemap(body: bytes, url: str) -> tuple[Found, list[str]]:
    children, entries = parse_sitemap(body)
    if children:
        return Found(url, "sitemap-index", None, len(children)), children
    kind = "news-sitemap" if NEWS_NS in body[:4096] else "sitemap"
    return Found(url, kind, None, len(entries)), []


def identify(body: bytes, url: str) -> tuple[Found, list[str]]:
    """What ``body`` is: a feed or a sitemap (and a sitemap index's children); a
    ParseError when it is neither."""
    head = body.lstrip()[:512].lower()
    if b"<urlset" in body[:4096] or b"<sitemapindex" in body[:4096]:
        return _sitemap(body, url)
    if head.startswith(b"<!doctype html") or head.startswith(b"<html"):
        raise ParseError("an HTML page, not a feed or sitemap", url=url)
    return _feed(body, url), []


class Discovery:
    def __init__(self, fetcher: Fetcher, limits: Limits) -> None:
        self.fetcher, self.limits = fetcher, limits
        self.checked: dict[str, str] = {}  # url -> why it was left out ("" if kept)

    async def _body(self, url: str) -> bytes | None:
        try:
            resp = await self.fetcher.get(url, limits=self.limits)
        except ConnectorError as exc:
            self.checked[url] = exc.reason
            return None
        if not resp.ok:
            self.checked[url] = f"HTTP {resp.status}"
            return None
        return resp.body

    async def check(self, cand: Candidate) -> tuple[Found | None, list[str]]:
        body = await self._body(cand.url)
        if body is None:
            return None, []
        try:
            found, children = await asyncio.to_thread(identify, body, cand.url)
        except (ParseError, ValueError) as exc:
            self.checked[cand.url] = str(getattr(exc, "reason", exc))
            return None, []
        self.checked[cand.url] = ""
        found.title = found.title or cand.title
        found.declared = cand.how == "link"
        return found, children

    async def candidates(self, url: str) -> list[Candidate]:
        parts = urlsplit(url)
        root = f"{parts.scheme}://{parts.netloc}"
        out: list[Candidate] = []
        page = await self._body(url)
        if page is not None:
            out += declared_feeds(page, url)
        out += [Candidate(root + p, "path") for p in FEED_PATHS]
        robots = await self._body(root + "/robots.txt")
        if robots is not None:
            out += robots_sitemaps(robots, root)
        out += [Candidate(root + p, "path") for p in SITEMAP_PATHS]
        unique: dict[str, Candidate] = {}
        for cand in out:
            unique.setdefault(cand.url, cand)
        return list(unique.values())[:MAX_CANDIDATES]

    async def run(self, url: str) -> list[Found]:
        cands = await self.candidates(url)
        results = await asyncio.gather(*(self.check(c) for c in cands))
        found = {f.url: f for f, _ in results if f is not None}
        news = [c for _, children in results for c in children if "news" in c.lower()]
        extra = [Candidate(c, "index") for c in dict.fromkeys(news) if c not in found]
        for f, _ in await asyncio.gather(*(self.check(c) for c in extra[:MAX_NEWS_CHILDREN])):
            if f is not None:
                found[f.url] = f
        return sorted(found.values(), key=lambda f: (not f.declared, RANK[f.type], -f.items,
                                                     f.url))


async def discover(url: str, *, fetcher: Fetcher | None = None, allow_private: bool = False,
                   timeout: float = 15.0) -> list[Found]:
    """The checked feeds and sitemaps of ``url``'s page and site, best first."""
    limits = Limits(timeout=timeout, allow_private=allow_private, per_host_delay=0.1)
    return await Discovery(fetcher or Fetcher(), limits).run(url)

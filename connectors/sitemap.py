"""Sitemaps, sitemap indexes and Google News sitemaps (``sitemap.v1``).

Fetches the sitemap (following a sitemap index), keeps the URLs whose ``lastmod``
(or news publication date) is recent enough and changed since the last pass, then
fetches and extracts each page::

    sources:
      - name: example-news
        type: sitemap.v1
        url: https://example.org/news-sitemap.xml
        since_days: 2            # lastmod filter
        max_urls: 200            # per pass

A page that fails for a transient reason (timeout, connection error, HTTP 5xx or 429)
is attempted again on later passes, with backoff, even though its ``lastmod`` has not
changed; a page answering any other non-2xx status is an item error, never article text.
A child sitemap that cannot be read is an item error; the other sitemaps go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from lxml import etree
from pydantic import Field

from connectors.base import ByteSize, Connector, ExtractingConfig, HTTPConfig, Seconds
from connectors.errors import ConnectorError, ParseError
from connectors.extract import parse_date
from connectors.http import Limits
from pipeline.core.contracts import RawArticle

NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
      "news": "http://www.google.com/schemas/sitemap-news/0.9"}
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                         load_dtd=False, recover=True)


class SitemapConfig(ExtractingConfig, HTTPConfig):
    url: str
    since_days: float | None = Field(default=7.0, ge=0)
    max_urls: int = Field(default=500, ge=1)
    max_sitemaps: int = Field(default=50, ge=1)
    allow_private: bool = False
    timeout: Seconds = 20.0
    max_bytes: ByteSize = 10 * 1024 * 1024


def parse_sitemap(body: bytes) -> tuple[list[str], list[dict[str, Any]]]:
    """(child sitemaps, url entries) of a sitemap or sitemap index; safe against entities."""
    try:
        root = etree.fromstring(body, PARSER)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"not a readable sitemap: {exc}") from exc
    if root is None or etree.QName(root).localname not in {"urlset", "sitemapindex"}:
        raise ParseError("not a sitemap (no <urlset> or <sitemapindex>)")
    children = [loc.text.strip() for loc in root.findall("sm:sitemap/sm:loc", NS) if loc.text]
    entries = []
    for url in root.findall("sm:url", NS):
        loc = url.findtext("sm:loc", namespaces=NS)
        if not loc:
            continue
        news_date = url.findtext("news:news/news:publication_date", namespaces=NS)
        lastmod = url.findtext("sm:lastmod", namespaces=NS) or news_date
        entries.append({"url": loc.strip(), "lastmod": parse_date(lastmod),
                        "title": url.findtext("news:news/news:title", namespaces=NS),
                        "published_at": parse_date(news_date)})
    return children, entries


def _entry_json(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in entry.items()}


def _entry_from_json(data: dict[str, Any]) -> dict[str, Any]:
    return {"url": data.get("url"), "title": data.get("title"),
            "lastmod": parse_date(data.get("lastmod")),
            "published_at": parse_date(data.get("published_at"))}


class SitemapConnector(Connector[SitemapConfig]):
    name = "sitemap.v1"
    Config = SitemapConfig

    def _limits(self) -> Limits:
        return Limits(timeout=self.config.timeout, allow_private=self.config.allow_private,
                      per_host_delay=self.config.delay, max_bytes=self.config.max_bytes,
                      proxy=self.config.proxy_config())

    async def _entries(self) -> tuple[list[dict[str, Any]], list[ConnectorError]]:
        """URL entries of the sitemap and its children; a child that fails is an error."""
        todo, entries, errors = [self.config.url], [], []
        seen: set[str] = set()
        while todo and len(seen) < self.config.max_sitemaps:
            url = todo.pop(0)
            if url in seen:
                continue
            seen.add(url)
            try:
                resp = self.check_status(
                    await self.context.fetcher.get(url, limits=self._limits()), url)
                children, found = await asyncio.to_thread(parse_sitemap, resp.body)
            except ConnectorError as exc:
                if url == self.config.url:  # the sitemap itself: the pass fails
                    if isinstance(exc, ParseError):
                        raise self.error(ParseError, exc.reason, url) from exc
                    raise
                errors.append(self.failed(exc, url=url, key=url))
                continue
            if self.context.items.get(url) is not None:
                self.context.items.resolve(url)  # a child sitemap that failed before: fine now
            todo += children
            entries += found
        return entries, errors

    async def fetch(self) -> AsyncIterator[RawArticle | ConnectorError]:
        items = self.context.items
        attempted: set[str] = set()
        for failure in items.due():  # pages that failed for a transient reason
            entry = _entry_from_json(failure.payload or {})
            if entry["url"]:
                attempted.add(entry["url"])
                yield await self._page(entry)
        since = (datetime.now(UTC) - timedelta(days=self.config.since_days)
                 if self.config.since_days is not None else None)
        done: dict[str, str] = self.context.state.setdefault("lastmod", {})
        entries, errors = await self._entries()
        for err in errors:
            yield err
        picked = 0
        for entry in entries:
            lastmod = entry["lastmod"]
            if since and lastmod and lastmod < since:
                continue
            stamp = lastmod.isoformat() if lastmod else ""
            url = entry["url"]
            if done.get(url) == stamp or url in attempted or items.waiting(url):
                continue  # unchanged since the last pass, or waiting for its retry
            if picked >= self.config.max_urls:
                break
            picked += 1
            item = await self._page(entry)
            done[url] = stamp  # before the yield: saved once Kafka has the item
            yield item
        if not errors:  # forget URLs no longer listed (only when every sitemap was read)
            listed = {e["url"] for e in entries}
            for url in [u for u in done if u not in listed]:
                del done[url]

    async def _page(self, entry: dict[str, Any]) -> RawArticle | ConnectorError:
        url = entry["url"]
        try:
            resp = self.check_status(
                await self.context.fetcher.get(url, limits=self._limits()), url)
            ext = await self.extract(resp.body, url)
        except ConnectorError as exc:
            return self.failed(exc, url=url, key=url, retry=_entry_json(entry))
        try:
            return self.article(url=url, text=ext.text, title=entry["title"] or ext.title,
                                authors=ext.authors,
                                published_at=entry["published_at"] or ext.published_at,
                                access=ext.access, images=ext.images,
                                provenance=self.provenance(feed_url=self.config.url,
                                                           http_status=resp.status))
        except ValueError as exc:  # pydantic's ValidationError
            return self.error(ParseError, f"not a valid article: {exc}", url, key=url)

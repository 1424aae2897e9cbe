"""RSS, Atom and JSON Feed connector (``rss.v1``).

Conditional GET (ETag, Last-Modified), content-hash change detection for feeds
with stale validators, and full text fetched from the page when the feed
carries only a summary::

    sources:
      - name: example
        type: rss.v1
        url: https://example.org/feed.xml
        publisher: Example News
        full_text: auto          # auto | always | never
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from time import struct_time
from typing import Any, Literal

import feedparser

from connectors.base import Connector, ConnectorConfig
from connectors.errors import ConnectorError, ParseError
from connectors.extract import extract_article, html_to_text
from connectors.http import Limits
from pipeline.core.contracts import RawArticle


class RSSConfig(ConnectorConfig):
    url: str
    full_text: Literal["auto", "always", "never"] = "auto"
    min_text_chars: int = 400
    allow_private: bool = False
    timeout: float = 20.0
    max_bytes: int = 10 * 1024 * 1024


def _when(value: struct_time | None) -> datetime | None:
    if not value:
        return None
    return datetime(*value[:6], tzinfo=UTC)


PERIODS = {"hourly": 3600, "daily": 86400, "weekly": 604800, "monthly": 2592000,
           "yearly": 31536000}


def parse_feed(body: bytes) -> list[dict[str, Any]]:
    """Entries of an RSS/Atom/JSON feed as plain dicts (url, title, text, ...)."""
    return parse_feed_full(body)[0]


def _min_interval(feed: Any) -> float | None:
    """The poll interval a feed asks for: RSS ``ttl`` (minutes) or ``sy:updatePeriod``."""
    ttl = str(feed.get("ttl") or "").strip()
    if ttl.isdigit() and int(ttl) > 0:
        return int(ttl) * 60.0
    period = PERIODS.get(str(feed.get("sy_updateperiod") or "").strip().lower())
    if period:
        freq = str(feed.get("sy_updatefrequency") or "1").strip()
        return period / max(1, int(freq) if freq.isdigit() else 1)
    return None


def parse_feed_full(body: bytes) -> tuple[list[dict[str, Any]], float | None]:
    """Entries and the feed's requested minimum poll interval in seconds."""
    stripped = body.lstrip()
    if stripped.startswith(b"{"):
        return _json_feed(stripped), None
    parsed = feedparser.parse(body, sanitize_html=True, resolve_relative_uris=True)
    if parsed.bozo and not parsed.entries:
        reason = getattr(parsed, "bozo_exception", "unknown problem")
        raise ParseError(f"not a readable feed: {reason}")
    if not parsed.get("version") and not parsed.entries:
        kind = "an HTML page" if b"<html" in body[:2048].lower() else "no RSS, Atom or JSON Feed"
        raise ParseError(f"not a readable feed: the URL serves {kind}")
    out = []
    for e in parsed.entries:
        content = e.get("content") or []
        body_html = content[0].get("value", "") if content else ""
        summary = html_to_text(e.get("summary", "") or "")
        out.append({
            "url": e.get("link") or e.get("id"),
            "title": e.get("title"),
            "text": html_to_text(body_html) if body_html else "",
            "summary": summary or None,
            "authors": [a.get("name") for a in e.get("authors", []) if a.get("name")],
            "published_at": _when(e.get("published_parsed") or e.get("updated_parsed")),
        })
    return out, _min_interval(parsed.get("feed", {}))


def _json_feed(body: bytes) -> list[dict[str, Any]]:
    try:
        feed = json.loads(body)
    except ValueError as exc:
        raise ParseError(f"not a readable JSON Feed: {exc}") from exc
    out = []
    for item in feed.get("items", []) if isinstance(feed, dict) else []:
        published = item.get("date_published")
        out.append({
            "url": item.get("url") or item.get("id"), "title": item.get("title"),
            "text": item.get("content_text") or html_to_text(item.get("content_html") or ""),
            "summary": item.get("summary"),
            "authors": [a.get("name") for a in item.get("authors", []) if a.get("name")],
            "published_at": datetime.fromisoformat(published) if published else None,
        })
    return out


class RSSConnector(Connector[RSSConfig]):
    """Polls one feed URL."""

    name = "rss.v1"
    Config = RSSConfig

    def _limits(self) -> Limits:
        c = self.config
        return Limits(timeout=c.timeout, max_bytes=c.max_bytes, allow_private=c.allow_private,
                      per_host_delay=c.delay)

    async def fetch(self) -> AsyncIterator[RawArticle | ConnectorError]:
        state = self.context.state
        headers = {}
        if state.get("etag"):
            headers["If-None-Match"] = state["etag"]
        if state.get("last_modified"):
            headers["If-Modified-Since"] = state["last_modified"]
        resp = await self.context.fetcher.get(self.config.url, headers=headers,
                                              limits=self._limits())
        if resp.status == 304:
            return
        if resp.status >= 400:
            from connectors.errors import FetchError

            raise self.error(FetchError, f"HTTP {resp.status}", self.config.url)
        digest = hashlib.sha256(resp.body).hexdigest()
        state.update(etag=resp.etag, last_modified=resp.last_modified)
        if digest == state.get("body_hash"):
            return
        try:
            entries, min_interval = parse_feed_full(resp.body)
        except ParseError as exc:
            raise self.error(ParseError, exc.reason, self.config.url) from exc
        state["min_interval"] = min_interval  # the runner polls no more often than this
        prov = dict(feed_url=self.config.url, http_status=resp.status, etag=resp.etag,
                    last_modified=resp.last_modified)
        for entry in entries:
            item = await self._article(entry, prov)
            yield item
        state["body_hash"] = digest

    async def _article(self, entry: dict[str, Any], prov: dict[str, Any]
                       ) -> RawArticle | ConnectorError:
        url = entry.get("url")
        if not url:
            return self.error(ParseError, "feed entry has no link", self.config.url)
        text = entry["text"] or ""
        fields: dict[str, Any] = {k: entry[k] for k in ("title", "summary", "authors",
                                                        "published_at")}
        mode = self.config.full_text
        if mode == "always" or (mode == "auto" and len(text) < self.config.min_text_chars):
            try:
                page = await self.context.fetcher.get(url, limits=self._limits())
                ext = extract_article(page.body, url=url)
                text = ext.text
                fields["authors"] = fields["authors"] or ext.authors
                fields["published_at"] = fields["published_at"] or ext.published_at
                fields["title"] = fields["title"] or ext.title
            except ConnectorError as exc:
                if not (text or entry.get("summary")):
                    return self.error(type(exc), f"no text in feed and page failed: "
                                      f"{exc.reason}", url)
        text = text or entry.get("summary") or ""
        if not text.strip():
            return self.error(ParseError, "entry has no text", url)
        return self.article(url=url, text=text, provenance=self.provenance(**prov), **fields)

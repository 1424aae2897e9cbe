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

Only entries that are new or changed since the last pass are looked at (their page
fetched). A page that fails for a transient reason (timeout, connection error, HTTP 5xx
or 429) is attempted again on later passes, even when the feed itself is unchanged
(304); when its attempts are used up the entry falls back to the feed's own text or
summary. A page that answers with any other non-2xx status is never article text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from time import struct_time
from typing import Any, Literal

import feedparser
from pydantic import Field

from connectors.base import (
    ByteSize,
    Connector,
    ExtractingConfig,
    HTTPConfig,
    Seconds,
    content_key,
    transient,
)
from connectors.errors import ConnectorError, ParseError, Skipped
from connectors.extract import html_to_text, parse_date, run_cpu
from connectors.http import Limits
from pipeline.core.contracts import RawArticle


class RSSConfig(ExtractingConfig, HTTPConfig):
    url: str
    full_text: Literal["auto", "always", "never"] = "auto"
    min_text_chars: int = Field(default=400, ge=0)
    allow_private: bool = False
    timeout: Seconds = 20.0
    max_bytes: ByteSize = 10 * 1024 * 1024


def _when(value: struct_time | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError):
        return None


PERIODS = {"hourly": 3600, "daily": 86400, "weekly": 604800, "monthly": 2592000,
           "yearly": 31536000}
INLINE_PARSE_BYTES = 128 * 1024
"""Feeds up to this size are parsed on the event loop; bigger ones in a worker process."""


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


def parse_feed(body: bytes) -> tuple[list[dict[str, Any]], float | None]:
    """Entries and the feed's requested minimum poll interval in seconds.

    An entry that cannot be read (a JSON Feed item that is not an object, say) is
    ``{"bad": reason, "raw": its JSON}`` so that one bad item never hides the others.
    """
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
    if not isinstance(feed, dict):
        raise ParseError("not a readable JSON Feed: not a JSON object")
    items = feed.get("items", [])
    if not isinstance(items, list):
        raise ParseError("not a readable JSON Feed: 'items' is not a list")
    out = []
    for item in items:
        try:
            out.append(_json_feed_item(item))
        except (ParseError, TypeError, ValueError, AttributeError) as exc:
            reason = exc.reason if isinstance(exc, ParseError) else f"{type(exc).__name__}: {exc}"
            out.append({"bad": f"unreadable JSON Feed item: {reason}",
                        "raw": json.dumps(item, ensure_ascii=False, default=str)})
    return out


def _text(value: Any, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ParseError(f"'{what}' is a {type(value).__name__}, not a string")


def _json_feed_item(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ParseError(f"an item is a {type(item).__name__}, not an object")
    authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
    return {
        "url": _text(item.get("url"), "url") or _text(item.get("id"), "id"),
        "title": _text(item.get("title"), "title"),
        "text": _text(item.get("content_text"), "content_text")
        or html_to_text(_text(item.get("content_html"), "content_html") or ""),
        "summary": _text(item.get("summary"), "summary"),
        "authors": [a["name"] for a in authors if isinstance(a, dict)
                    and isinstance(a.get("name"), str) and a["name"]],
        "published_at": parse_date(item.get("date_published") or item.get("date_modified")),
    }


def _entry_json(entry: dict[str, Any]) -> dict[str, Any]:
    when = entry.get("published_at")
    return {**entry, "published_at": when.isoformat() if isinstance(when, datetime) else None}


def _entry_from_json(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "published_at": parse_date(data.get("published_at"))}


def _entry_hash(data: dict[str, Any]) -> str:
    raw = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


class RSSConnector(Connector[RSSConfig]):
    """Polls one feed URL."""

    name = "rss.v1"
    Config = RSSConfig

    def _limits(self) -> Limits:
        c = self.config
        return Limits(timeout=c.timeout, max_bytes=c.max_bytes, allow_private=c.allow_private,
                      per_host_delay=c.delay, proxy=c.proxy_config())

    async def fetch(self) -> AsyncIterator[RawArticle | ConnectorError]:
        state, items = self.context.state, self.context.items
        seen: dict[str, str] = state.setdefault("entries", {})  # entry key -> entry hash
        attempted: set[str] = set()
        # pages that failed for a transient reason: attempted again, whatever the feed says
        for failure in items.due():
            payload = failure.payload or {}
            entry = _entry_from_json(payload.get("entry") or {})
            if not entry.get("url"):
                continue
            attempted.add(entry["url"])
            yield await self._article(entry, payload.get("prov") or {}, failure.item)

        headers = {}
        if state.get("etag"):
            headers["If-None-Match"] = state["etag"]
        if state.get("last_modified"):
            headers["If-Modified-Since"] = state["last_modified"]
        resp = await self.context.fetcher.get(self.config.url, headers=headers,
                                              limits=self._limits())
        if resp.status == 304:
            return
        self.check_status(resp, self.config.url)
        digest = hashlib.sha256(resp.body).hexdigest()
        if digest == state.get("body_hash"):
            state.update(etag=resp.etag, last_modified=resp.last_modified)
            return
        entries, min_interval = await self._parse(resp.body)
        state["min_interval"] = min_interval  # the runner polls no more often than this
        prov = dict(feed_url=self.config.url, http_status=resp.status, etag=resp.etag,
                    last_modified=resp.last_modified)
        current: set[str] = set()
        for entry in entries:
            data = {"raw": entry["raw"]} if "bad" in entry else _entry_json(entry)
            key = entry.get("url") or content_key(json.dumps(data, sort_keys=True).encode(),
                                                  self.config.url)
            digest_e = _entry_hash(data)
            current.add(key)
            if seen.get(key) == digest_e or key in attempted or items.waiting(key):
                continue  # unchanged since the last pass, or waiting for its retry
            if "bad" in entry:
                item: RawArticle | ConnectorError = self.error(
                    ParseError, entry["bad"], self.config.url, key=key,
                    raw=str(entry["raw"]).encode())
            else:
                item = await self._article(entry, prov, key)
            seen[key] = digest_e  # before the yield: saved once Kafka has the item
            yield item
        # the feed is done: remember it (only now, so a pass cut short is looked at again)
        for key in [k for k in seen if k not in current]:
            del seen[key]
        state.update(etag=resp.etag, last_modified=resp.last_modified, body_hash=digest)

    async def _parse(self, body: bytes) -> tuple[list[dict[str, Any]], float | None]:
        try:
            if len(body) <= INLINE_PARSE_BYTES:
                return parse_feed(body)
            return await run_cpu(partial(parse_feed, body), what="feed parsing",
                                 timeout=self.config.extract_timeout, url=self.config.url)
        except ParseError as exc:
            raise self.error(ParseError, exc.reason, self.config.url) from exc

    async def _article(self, entry: dict[str, Any], prov: dict[str, Any], key: str
                       ) -> RawArticle | ConnectorError:
        url = entry.get("url")
        if not url:
            return self.error(ParseError, "feed entry has no link", self.config.url, key=key,
                              raw=json.dumps(_entry_json(entry)).encode())
        text = entry.get("text") or ""
        fields: dict[str, Any] = {k: entry.get(k) for k in ("title", "summary",
                                                            "published_at")}
        fields["authors"] = list(entry.get("authors") or [])
        mode = self.config.full_text
        if mode == "always" or (mode == "auto" and len(text) < self.config.min_text_chars):
            try:
                page = self.check_status(
                    await self.context.fetcher.get(url, limits=self._limits()), url)
                ext = await self.extract(page.body, url)
                text = ext.text
                fields["authors"] = fields["authors"] or ext.authors
                fields["published_at"] = fields["published_at"] or ext.published_at
                fields["title"] = fields["title"] or ext.title
                fields["access"], fields["images"] = ext.access, ext.images
            except ConnectorError as exc:
                if isinstance(exc, Skipped):  # not in the source's languages
                    return self.failed(exc, url=url, key=key)
                if transient(exc) and not self.context.items.final_attempt(key):
                    # attempted again on a later pass (the feed's text is not enough)
                    return self.failed(exc, url=url, key=key,
                                       retry={"entry": _entry_json(entry), "prov": prov})
                if not (text or entry.get("summary")):
                    return self.failed(exc, url=url, key=key)
        text = text or entry.get("summary") or ""
        if not text.strip():
            return self.error(ParseError, "entry has no text", url, key=key)
        try:
            return self.article(url=url, text=text, provenance=self.provenance(**prov),
                                **fields)
        except ValueError as exc:  # pydantic's ValidationError: a field of the wrong shape
            return self.error(ParseError, f"entry is not a valid article: {exc}", url, key=key)

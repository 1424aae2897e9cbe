"""A generic JSON HTTP API connector for NewsAPI-like services (``jsonapi.v1``).

Field mapping in config (dotted paths), page or cursor pagination, an auth header
whose value comes from an environment variable (never from the file, never logged)::

    sources:
      - name: newsapi
        type: jsonapi.v1
        url: https://newsapi.org/v2/top-headlines?country=gb
        items: articles
        fields: {url: url, title: title, text: content, summary: description,
                 published_at: publishedAt, authors: author, publisher: source.name}
        pagination: {type: page, param: page, max_pages: 3}
        auth_header: X-Api-Key
        auth_env: NEWSAPI_KEY

An item that cannot be read (no url or text, a field of the wrong type) is an item
error carrying the item's JSON; the other items and pages go on.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field

from connectors.base import ByteSize, Connector, HTTPConfig, Seconds, content_key
from connectors.errors import ConnectorError, ParseError, SourceConfigError
from connectors.http import Limits
from pipeline.core.contracts import RawArticle
from pipeline.core.env import secret
from pipeline.core.errors import ConfigError


class Pagination(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["none", "page", "cursor"] = "none"
    param: str = "page"
    start: int = 1
    max_pages: int = Field(default=5, ge=1)
    next_path: str = "next"  # cursor: where the next cursor is in the response


class JSONAPIConfig(HTTPConfig):
    url: str
    items: str = ""
    fields: dict[str, str] = Field(default_factory=lambda: {"url": "url", "title": "title",
                                                            "text": "content"})
    pagination: Pagination = Pagination()
    auth_header: str | None = None
    auth_env: str | None = None
    allow_private: bool = False
    timeout: Seconds = 20.0
    max_bytes: ByteSize = 10 * 1024 * 1024


def dig(data: Any, path: str) -> Any:
    """dig({"a": {"b": 1}}, "a.b") == 1; None when any step is missing."""
    for part in [p for p in path.split(".") if p]:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def with_param(url: str, key: str, value: Any) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != key] + [(key, str(value))]
    return urlunsplit(parts._replace(query=urlencode(query)))


class JSONAPIConnector(Connector[JSONAPIConfig]):
    name = "jsonapi.v1"
    Config = JSONAPIConfig

    def _headers(self) -> dict[str, str]:
        c = self.config
        if not c.auth_header:
            return {}
        try:  # the variable, or the file its ``_FILE`` twin names (a Docker secret)
            value = secret(os.environ, c.auth_env) if c.auth_env else None
        except ConfigError as exc:
            raise self.error(SourceConfigError, str(exc)) from None
        if not value:
            raise self.error(SourceConfigError, f"environment variable {c.auth_env!r} (or "
                             f"{c.auth_env}_FILE) for the {c.auth_header} header is not set")
        return {c.auth_header: value}

    async def fetch(self) -> AsyncIterator[RawArticle | ConnectorError]:
        c, p = self.config, self.config.pagination
        limits = Limits(timeout=c.timeout, allow_private=c.allow_private,
                        per_host_delay=c.delay, max_bytes=c.max_bytes, proxy=c.proxy_config())
        headers = self._headers()
        url = with_param(c.url, p.param, p.start) if p.type == "page" else c.url
        for page in range(p.max_pages if p.type != "none" else 1):
            resp = self.check_status(
                await self.context.fetcher.get(url, headers=headers, limits=limits), c.url)
            try:
                data = json.loads(resp.body)
            except ValueError as exc:
                raise self.error(ParseError, f"not JSON: {exc}", c.url) from exc
            items = dig(data, c.items) if c.items else data
            if not isinstance(items, list):
                raise self.error(ParseError, f"'{c.items}' is not a list in the response",
                                 c.url)
            for item in items:
                yield self._article(item, resp.status)
            if not items:
                break
            if p.type == "page":
                url = with_param(c.url, p.param, p.start + page + 1)
            elif p.type == "cursor":
                cursor = dig(data, p.next_path)
                if not cursor:
                    break
                url = with_param(c.url, p.param, cursor)

    def _article(self, item: Any, status: int) -> RawArticle | ConnectorError:
        try:
            return self._build(item, status)
        except (ParseError, TypeError, ValueError) as exc:  # ValidationError is a ValueError
            raw = json.dumps(item, ensure_ascii=False, default=str).encode()
            url = dig(item, self.config.fields.get("url", "url"))
            key = url if isinstance(url, str) and url else content_key(raw, self.config.url)
            reason = exc.reason if isinstance(exc, ParseError) else \
                f"{type(exc).__name__}: {str(exc)[:300]}"
            return self.error(ParseError, f"unreadable item: {reason}", self.config.url,
                              key=key, raw=raw)

    def _build(self, item: Any, status: int) -> RawArticle:
        f = self.config.fields
        get = {k: dig(item, v) for k, v in f.items()}
        url, text = get.get("url"), get.get("text") or get.get("summary")
        if not isinstance(url, str) or not isinstance(text, str) or not text.strip():
            raise ParseError("item without a url or text")
        authors = get.get("authors")
        authors = [authors] if isinstance(authors, str) else [
            a for a in (authors if isinstance(authors, list) else []) if isinstance(a, str)]
        published = get.get("published_at")
        when = None
        if isinstance(published, str):
            try:
                when = datetime.fromisoformat(published.replace("Z", "+00:00"))
                when = when if when.tzinfo else when.replace(tzinfo=UTC)
            except ValueError:
                when = None
        prov = self.provenance(feed_url=self.config.url, http_status=status)
        if isinstance(get.get("publisher"), str):
            prov = prov.model_copy(update={"publisher": get["publisher"]})
        return self.article(url=url, text=text, title=get.get("title"),
                            summary=get.get("summary"), authors=authors, published_at=when,
                            provenance=prov)

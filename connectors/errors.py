"""Typed connector errors: each names the source it happened in.

A connector yields (or raises) these; the runner records them in the source's
health and keeps every other source flowing.
"""

from __future__ import annotations

from pipeline.core.errors import NewsflowError


class ConnectorError(NewsflowError):
    """Base of connector errors. ``source`` names the configured source."""

    def __init__(self, message: str, *, source: str = "?", url: str | None = None) -> None:
        self.source, self.url, self.reason = source, url, message
        where = f" ({url})" if url else ""
        super().__init__(f"source '{source}'{where}: {message}")


class FetchError(ConnectorError):
    """The HTTP fetch failed: network, timeout, status >= 400, redirect loop."""


class BlockedURL(ConnectorError):
    """The URL is not allowed: private/loopback target (SSRF guard) or robots.txt."""


class TooLarge(ConnectorError):
    """The response exceeded the configured size limit."""


class ParseError(ConnectorError):
    """The body is not a feed/page/JSON we can read."""


class Walled(ConnectorError):
    """The page is a wall, not the article: a bot-protection challenge, a consent wall,
    or an app shell whose text needs JavaScript. Reported, backed off, never ingested."""

    def __init__(self, message: str, *, kind: str = "?", rule: str = "?", source: str = "?",
                 url: str | None = None) -> None:
        self.kind, self.rule = kind, rule
        super().__init__(message, source=source, url=url)


class Skipped(ConnectorError):
    """The item is left out by the source's own filter (e.g. ``languages``): counted in
    the pass result and the source's health, neither an error nor an article."""

    def __init__(self, message: str, *, reason: str = "language", source: str = "?",
                 url: str | None = None) -> None:
        self.why = reason
        super().__init__(message, source=source, url=url)


class SourceConfigError(ConnectorError):
    """A source's configuration is invalid (raised at startup)."""

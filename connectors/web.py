"""Web pages from a list of URLs, one-off or scheduled (``web.v1``).

    sources:
      - name: watchlist
        type: web.v1
        urls: [https://example.org/a, https://example.org/b]
        # or: urls_file: watchlist.txt     (one URL a line, # comments)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from pydantic import Field, model_validator

from connectors.base import Connector, ConnectorConfig
from connectors.errors import ConnectorError, FetchError
from connectors.extract import extract_article
from connectors.http import Limits
from pipeline.core.contracts import RawArticle


class WebConfig(ConnectorConfig):
    urls: list[str] = Field(default_factory=list)
    urls_file: str | None = None
    allow_private: bool = False
    timeout: float = 20.0

    @model_validator(mode="after")
    def _some_urls(self) -> WebConfig:
        if not self.urls and not self.urls_file:
            raise ValueError("give 'urls' or 'urls_file'")
        return self


class WebConnector(Connector[WebConfig]):
    name = "web.v1"
    Config = WebConfig

    def _urls(self) -> list[str]:
        urls = list(self.config.urls)
        if self.config.urls_file:
            for line in Path(self.config.urls_file).read_text(encoding="utf-8").splitlines():
                line = line.split("#", 1)[0].strip()
                if line:
                    urls.append(line)
        return urls

    async def fetch(self) -> AsyncIterator[RawArticle | ConnectorError]:
        limits = Limits(timeout=self.config.timeout, allow_private=self.config.allow_private,
                        per_host_delay=self.config.delay)
        for url in self._urls():
            try:
                resp = await self.context.fetcher.get(url, limits=limits)
                if resp.status >= 400:
                    yield self.error(FetchError, f"HTTP {resp.status}", url)
                    continue
                ext = extract_article(resp.body, url=url)
            except ConnectorError as exc:
                yield self.error(type(exc), exc.reason, url)
                continue
            yield self.article(url=url, text=ext.text, title=ext.title, authors=ext.authors,
                               published_at=ext.published_at,
                               provenance=self.provenance(http_status=resp.status))

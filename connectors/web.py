"""Web pages from a list of URLs, one-off or scheduled (``web.v1``).

    sources:
      - name: watchlist
        type: web.v1
        urls: [https://example.org/a, https://example.org/b]
        # or: urls_file: watchlist.txt     (one URL a line, # comments)

Every pass fetches every URL (the runner passes on unchanged articles). A URL that
failed for a transient reason waits out its backoff before it is fetched again; a page
answering a non-2xx status is an item error, never article text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from pydantic import Field, model_validator

from connectors.base import ByteSize, Connector, ExtractingConfig, HTTPConfig, Seconds
from connectors.errors import ConnectorError, ParseError
from connectors.http import Limits
from pipeline.core.contracts import RawArticle


class WebConfig(ExtractingConfig, HTTPConfig):
    urls: list[str] = Field(default_factory=list)
    urls_file: str | None = None
    allow_private: bool = False
    timeout: Seconds = 20.0
    max_bytes: ByteSize = 10 * 1024 * 1024

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
            try:
                lines = Path(self.config.urls_file).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise self.error(ParseError, f"cannot read urls_file "
                                 f"'{self.config.urls_file}': {exc}") from exc
            for line in lines:
                line = line.split("#", 1)[0].strip()
                if line:
                    urls.append(line)
        return urls

    async def fetch(self) -> AsyncIterator[RawArticle | ConnectorError]:
        limits = Limits(timeout=self.config.timeout, allow_private=self.config.allow_private,
                        per_host_delay=self.config.delay, max_bytes=self.config.max_bytes,
                        proxy=self.config.proxy_config())
        items = self.context.items
        due = {f.item for f in items.due()}
        for url in self._urls():
            if items.waiting(url) and url not in due:
                continue  # failed for a transient reason: waits for its backoff
            try:
                resp = self.check_status(await self.context.fetcher.get(url, limits=limits), url)
                ext = await self.extract(resp.body, url)
            except ConnectorError as exc:
                yield self.failed(exc, url=url, key=url, retry={"url": url})
                continue
            try:
                yield self.article(url=url, text=ext.text, title=ext.title,
                                   authors=ext.authors, published_at=ext.published_at,
                                   access=ext.access, images=ext.images,
                                   provenance=self.provenance(http_status=resp.status))
            except ValueError as exc:  # pydantic's ValidationError
                yield self.error(ParseError, f"not a valid article: {exc}", url, key=url)

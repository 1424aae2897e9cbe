"""WARC backfill in Common Crawl CC-NEWS format (``warc.v1``, fastwarc).

Reads ``response`` records of HTML pages from local .warc/.warc.gz files, filters by
host and date, extracts each page; resumable (records done per file are remembered)
and shows progress in the log every ``progress_every`` records::

    sources:
      - name: ccnews-2024-01
        type: warc.v1
        paths: [/data/CC-NEWS-20240101.warc.gz]
        hosts: [www.bbc.co.uk, www.theguardian.com]
        since: 2024-01-01
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from fastwarc.warc import ArchiveIterator, WarcRecordType
from pydantic import Field

from connectors.base import Connector, ConnectorConfig
from connectors.errors import ConnectorError, ParseError
from connectors.extract import extract_article
from pipeline.core.contracts import RawArticle

log = logging.getLogger("newsflow.connectors.warc")


class WARCConfig(ConnectorConfig):
    paths: list[str]
    hosts: list[str] = Field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    progress_every: int = 1000


class WARCConnector(Connector[WARCConfig]):
    name = "warc.v1"
    Config = WARCConfig

    def _wanted(self, url: str, when: datetime | None) -> bool:
        c = self.config
        if c.hosts and (urlsplit(url).hostname or "") not in set(c.hosts):
            return False
        if when is not None:
            if c.since and when < c.since.replace(tzinfo=c.since.tzinfo or UTC):
                return False
            if c.until and when > c.until.replace(tzinfo=c.until.tzinfo or UTC):
                return False
        return True

    async def fetch(self) -> AsyncIterator[RawArticle | ConnectorError]:
        done: dict[str, int] = self.context.state.setdefault("records_done", {})
        for path in self.config.paths:
            if not Path(path).exists():
                yield self.error(ParseError, f"WARC file '{path}' does not exist")
                continue
            key = str(Path(path).resolve())
            with open(path, "rb") as stream:
                for n, record in enumerate(ArchiveIterator(
                        stream, record_types=WarcRecordType.response, parse_http=True), 1):
                    if n <= done.get(key, 0):
                        continue
                    item = self._record(record)
                    if item is not None:
                        yield item
                    done[key] = n
                    if n % self.config.progress_every == 0:
                        log.info("%s: %s records read from %s", self.context.source, n, path)

    def _record(self, record: object) -> RawArticle | ConnectorError | None:
        url = record.headers.get("WARC-Target-URI") or ""  # type: ignore[attr-defined]
        date = record.record_date  # type: ignore[attr-defined]
        when = date.replace(tzinfo=UTC) if date and not date.tzinfo else date
        http = record.http_headers  # type: ignore[attr-defined]
        ctype = (http.get("Content-Type") or "") if http else ""
        if not url or "html" not in ctype.lower() or not self._wanted(url, when):
            return None
        body = record.reader.read()  # type: ignore[attr-defined]
        try:
            ext = extract_article(body, url=url)
        except ParseError as exc:
            return self.error(ParseError, exc.reason, url)
        return self.article(url=url, text=ext.text, title=ext.title, authors=ext.authors,
                            published_at=ext.published_at or when,
                            provenance=self.provenance(feed_url=f"warc:{url}",
                                                       http_status=http.status_code
                                                       if http else None))

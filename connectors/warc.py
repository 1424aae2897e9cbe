"""WARC backfill in Common Crawl CC-NEWS format (``warc.v1``, fastwarc).

Reads ``response`` records of HTML pages from local .warc/.warc.gz files, filters by
host and date, extracts each page (in a worker process, under ``extract_timeout``);
resumable and shows progress in the log every ``progress_every`` records::

    sources:
      - name: ccnews-2024-01
        type: warc.v1
        paths: [/data/CC-NEWS-20240101.warc.gz]
        hosts: [www.bbc.co.uk, www.theguardian.com]
        since: 2024-01-01

Progress is the offset of the last record read in each file (with its record id, checked
on resume), part of the connector state that the runner saves as Kafka confirms the
articles: a crash late in a file resumes at that record, without reading the file again.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from fastwarc.warc import ArchiveIterator, WarcRecordType
from pydantic import Field

from connectors.base import ByteSize, Connector, ExtractingConfig
from connectors.errors import ConnectorError, ParseError, TooLarge
from pipeline.core.contracts import RawArticle

log = logging.getLogger("newsflow.connectors.warc")


class WARCConfig(ExtractingConfig):
    paths: list[str]
    hosts: list[str] = Field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    progress_every: int = Field(default=1000, ge=1)
    max_bytes: ByteSize = 10 * 1024 * 1024


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
        state = self.context.state
        progress: dict[str, dict[str, Any]] = state.setdefault("progress", {})
        legacy: dict[str, int] = state.pop("records_done", None) or {}  # older state: counts
        for path in self.config.paths:
            if not Path(path).exists():
                yield self.error(ParseError, f"WARC file '{path}' does not exist", key=path)
                continue
            key = str(Path(path).resolve())
            saved = progress.get(key) or ({"pos": None, "id": None, "n": legacy[key]}
                                          if key in legacy else None)
            with open(path, "rb") as stream:
                n = int(saved["n"]) if saved else 0
                for record in self._records(stream, saved):
                    n += 1
                    progress[key] = {"pos": record.stream_pos, "n": n,
                                     "id": record.headers.get("WARC-Record-ID")}
                    item = await self._record(record)
                    if item is not None:
                        yield item  # the progress above is saved once Kafka has it
                    if n % self.config.progress_every == 0:
                        log.info("%s: %s records read from %s", self.context.source, n, path)

    def _records(self, stream: BinaryIO, saved: dict[str, Any] | None) -> Iterator[Any]:
        """Response records after the last one done: by seeking to its offset (and checking
        its id), or else by reading past as many records as were done."""
        if saved and saved.get("pos") is not None:
            stream.seek(int(saved["pos"]))
            records = iter(ArchiveIterator(stream, record_types=WarcRecordType.response,
                                           parse_http=True))
            first = next(records, None)
            if first is not None and first.stream_pos == saved["pos"] \
                    and first.headers.get("WARC-Record-ID") == saved.get("id"):
                yield from records
                return
            log.warning("%s: cannot resume at offset %s; counting %s records instead",
                        self.context.source, saved["pos"], saved.get("n"))
            stream.seek(0)
        skip = int(saved["n"]) if saved else 0
        for n, record in enumerate(ArchiveIterator(
                stream, record_types=WarcRecordType.response, parse_http=True), 1):
            if n > skip:
                yield record

    async def _record(self, record: Any) -> RawArticle | ConnectorError | None:
        url = record.headers.get("WARC-Target-URI") or ""
        date = record.record_date
        when = date.replace(tzinfo=UTC) if date and not date.tzinfo else date
        http = record.http_headers
        ctype = (http.get("Content-Type") or "") if http else ""
        if not url or "html" not in ctype.lower() or not self._wanted(url, when):
            return None
        body = record.reader.read(self.config.max_bytes + 1)
        if len(body) > self.config.max_bytes:
            return self.error(TooLarge, f"record body over the limit of "
                              f"{self.config.max_bytes:,} bytes", url, key=url,
                              raw=bytes(body[:64 * 1024]))
        try:
            ext = await self.extract(body, url)
            return self.article(url=url, text=ext.text, title=ext.title, authors=ext.authors,
                                published_at=ext.published_at or when,
                                provenance=self.provenance(
                                    feed_url=f"warc:{url}",
                                    http_status=http.status_code if http else None))
        except ConnectorError as exc:
            return self.failed(exc, url=url, key=url)
        except ValueError as exc:  # pydantic's ValidationError
            return self.error(ParseError, f"not a valid article: {exc}", url, key=url)

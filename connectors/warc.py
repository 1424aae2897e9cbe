"""WARC backfill in Common Crawl CC-NEWS format (``warc.v1``, fastwarc).

Reads ``response`` records of HTML pages from local .warc/.warc.gz files, filters by
host, date and language, extracts the pages on every core (``workers`` processes, each
page under ``extract_timeout``) and yields them in the file's order; resumable and shows
progress in the log every ``progress_every`` records::

    sources:
      - name: ccnews-2024-01
        type: warc.v1
        paths: [/data/CC-NEWS-20240101.warc.gz]
        hosts: [www.bbc.co.uk, www.theguardian.com]
        since: 2024-01-01
        languages: [en, fr]   # judged on Content-Language / <html lang> before extraction
        workers: 4            # default: one per core; 1: one process

At most ``2 * workers`` pages are read ahead of the one being yielded, so memory stays
bounded by the records' ``max_bytes``; the output (and so the state) is the same whatever
the number of workers. A record whose language is declared and not wanted is skipped
before extraction; one that declares none is judged on the detected language of its text.

Progress is the offset of the last record read in each file (with its record id, checked
on resume), part of the connector state that the runner saves as Kafka confirms the
articles: a crash late in a file resumes at that record, without reading the file again.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from fastwarc.warc import ArchiveIterator, WarcRecordType
from pydantic import Field

from connectors.base import ByteSize, Connector, ExtractingConfig
from connectors.errors import ConnectorError, ParseError, TooLarge
from connectors.extract import CPUWorkers, cpu_workers
from connectors.language import sniff, wanted
from pipeline.core.contracts import RawArticle

log = logging.getLogger("newsflow.connectors.warc")


class WARCConfig(ExtractingConfig):
    paths: list[str]
    hosts: list[str] = Field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    progress_every: int = Field(default=1000, ge=1)
    max_bytes: ByteSize = 10 * 1024 * 1024
    workers: int | None = Field(default=None, ge=1, le=64,
                                description="extraction processes (default: one per core)")

    def pool_size(self) -> int:
        return self.workers or os.cpu_count() or 1


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
        pool = cpu_workers(self.config.pool_size())
        ahead = 2 * self.config.pool_size()
        for path in self.config.paths:
            if not Path(path).exists():
                yield self.error(ParseError, f"WARC file '{path}' does not exist", key=path)
                continue
            key = str(Path(path).resolve())
            saved = progress.get(key) or ({"pos": None, "id": None, "n": legacy[key]}
                                          if key in legacy else None)
            pending: deque[tuple[dict[str, Any], Any]] = deque()  # (progress, job) in order
            try:
                with open(path, "rb") as stream:
                    n = int(saved["n"]) if saved else 0
                    for record in self._records(stream, saved):
                        n += 1
                        pending.append(({"pos": record.stream_pos, "n": n,
                                         "id": record.headers.get("WARC-Record-ID")},
                                        self._start(record, pool)))
                        while pending and (len(pending) > ahead or _done(pending[0][1])):
                            mark, job = pending.popleft()
                            item = await job if isinstance(job, asyncio.Task) else job
                            progress[key] = mark  # saved once Kafka has what comes before
                            if item is not None:
                                yield item
                        if n % 256 == 0:
                            await asyncio.sleep(0)  # a long run of skipped records
                        if n % self.config.progress_every == 0:
                            log.info("%s: %s records read from %s", self.context.source, n,
                                     path)
                    while pending:
                        mark, job = pending.popleft()
                        item = await job if isinstance(job, asyncio.Task) else job
                        progress[key] = mark
                        if item is not None:
                            yield item
            finally:
                for _, job in pending:
                    if isinstance(job, asyncio.Task):
                        job.cancel()

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

    def _start(self, record: Any, pool: CPUWorkers) -> Any:
        """What one record gives: nothing (not wanted), an error, or its extraction
        started in ``pool`` (the body is read now, before the iterator moves on)."""
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
        declared = None
        if self.config.languages:
            declared = sniff(body, content_language=http.get("Content-Language")
                             if http else None,
                             identified=record.headers.get("WARC-Identified-Content-Language"))
            if declared is not None and not wanted(declared, self.config.languages):
                return self.skipped(declared, url, when="declared")
        status = http.status_code if http else None
        return asyncio.ensure_future(self._extracted(bytes(body), url, when, status,
                                                     declared, pool))

    async def _extracted(self, body: bytes, url: str, when: datetime | None,
                         status: int | None, declared: str | None, pool: CPUWorkers
                         ) -> RawArticle | ConnectorError:
        try:
            ext = await self.extract(body, url, declared=declared, workers=pool)
            fields: dict[str, Any] = {"language": ext.language} if ext.language else {}
            return self.article(url=url, text=ext.text, title=ext.title, authors=ext.authors,
                                published_at=ext.published_at or when, access=ext.access,
                                images=ext.images, **fields,
                                provenance=self.provenance(feed_url=f"warc:{url}",
                                                           http_status=status))
        except ConnectorError as exc:
            return self.failed(exc, url=url, key=url)
        except ValueError as exc:  # pydantic's ValidationError
            return self.error(ParseError, f"not a valid article: {exc}", url, key=url)


def _done(job: Any) -> bool:
    return not isinstance(job, asyncio.Task) or job.done()

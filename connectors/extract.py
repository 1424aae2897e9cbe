"""Full-text extraction from an article page (trafilatura + htmldate).

    >>> para = b"<p>The harbour reopened on Monday after a week of repairs, the port said.</p>"
    >>> html = b"<html><head><title>Harbour reopens</title></head><body><article>" \\
    ...        + para * 5 + b"</article></body></html>"
    >>> art = extract_article(html, url="https://example.org/a")
    >>> art.title, art.text.startswith("The harbour reopened")
    ('Harbour reopens', True)

Connectors extract off the event loop, in worker processes, under a time limit::

    art = await extract_article_async(html, url=url, timeout=30)

Extraction is CPU work that can take long (trafilatura spends ~4 s on 1 MB of ordinary
markup and ~25 s on 1 MB of deeply nested markup), so it runs in :class:`CPUWorkers`:
processes rather than threads, because a thread cannot be stopped. A job over its time
limit has its process killed and replaced, and fails with a clear :class:`ParseError`
("extraction took longer than N s"); the event loop and the other sources never wait.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from multiprocessing.connection import Connection
from typing import Any, TypeVar

import trafilatura
from htmldate import find_date
from lxml import html as lxml_html

from connectors.errors import ParseError, Walled
from connectors.page import analyse, wall_of


@dataclass
class Extracted:
    text: str
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    canonical_url: str | None = None
    language: str | None = None
    description: str | None = None
    access: str = "unknown"  # free, paywalled, registration, unknown (connectors.page)
    images: list[dict[str, Any]] = field(default_factory=list)  # url, caption, credit, lead

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "title": self.title, "authors": self.authors,
                "published_at": self.published_at.isoformat() if self.published_at else None,
                "canonical_url": self.canonical_url, "language": self.language,
                "description": self.description, "access": self.access,
                "images": self.images}


def parse_date(value: Any) -> datetime | None:
    """An ISO 8601 date as an aware datetime (UTC when it has no zone); anything
    unreadable is no date (as feedparser does for RSS/Atom). Shared by the connectors::

        >>> parse_date(" 2023-03-14T09:00:00Z "), parse_date("Tuesday"), parse_date(7)
        (datetime.datetime(2023, 3, 14, 9, 0, tzinfo=datetime.timezone.utc), None, None)
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        d = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def _authors(value: str | None) -> list[str]:
    if not value:
        return []
    return [a.strip() for a in re.split(r";|\band\b|,(?=\s*[A-Z])", value) if a.strip()]


MIN_WORDS = 5


def extract_article(html: str | bytes, *, url: str | None = None) -> Extracted:
    """Extract body text, metadata, access and images; raise :class:`Walled` when the page
    is a consent wall or an app shell, :class:`ParseError` when there is no text."""
    if isinstance(html, bytes):
        html = trafilatura.utils.decode_file(html)
    # Precision first; when that keeps under half of what the recall setting finds, the
    # page's layout fooled it and the recall result is the better one (F1 0.969 vs 0.953
    # for trafilatura's defaults on the article-extraction-benchmark: bench/extraction.py).
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True,
                                      include_comments=False, favor_precision=True)
    recall = trafilatura.bare_extraction(html, url=url, with_metadata=True,
                                         include_comments=False, favor_recall=True)
    precise_text = getattr(doc, "text", None) or "" if doc is not None else ""
    recall_text = getattr(recall, "text", None) or "" if recall is not None else ""
    if recall_text and len(precise_text) < 0.5 * len(recall_text):
        doc = recall
    body = getattr(doc, "text", None) if doc is not None else None
    wall = wall_of(html, status=200, text=body)
    if wall is not None:
        raise Walled(f"{wall.kind} wall (rule '{wall.rule}'): not ingested, attempted again "
                     "later", kind=wall.kind, rule=wall.rule, url=url)
    if not body or len(body.split()) < MIN_WORDS:
        raise ParseError(f"no article text found in the page (under {MIN_WORDS} words)",
                         url=url)
    published = parse_date(getattr(doc, "date", None))
    if published is None:
        try:
            published = parse_date(find_date(html, url=url, original_date=True))
        except Exception:  # noqa: BLE001 - htmldate fails on odd markup; the date is optional
            published = None
    page = analyse(html, words=len(body.split()), url=getattr(doc, "url", None) or url)
    return Extracted(text=str(body).strip(), title=getattr(doc, "title", None),
                     authors=_authors(getattr(doc, "author", None)), published_at=published,
                     canonical_url=getattr(doc, "url", None) or url,
                     language=getattr(doc, "language", None),
                     description=getattr(doc, "description", None), **page)


BLOCKS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr",
          "section", "article"}


def html_to_text(fragment: str) -> str:
    """Feed content (an HTML fragment) to plain text, paragraphs kept apart."""
    if "<" not in fragment:
        return fragment.strip()
    try:
        root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    except Exception:  # noqa: BLE001 - lxml raises several types on junk
        return re.sub(r"<[^>]+>", " ", fragment).strip()
    for el in root.iter():
        if el.tag in BLOCKS:
            el.tail = "\n\n" + (el.tail or "")
    text = root.text_content()
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    return re.sub(r"\s*\n\s*\n\s*", "\n\n", text).strip()


# ---------------------------------------------------------------- worker processes

DEFAULT_EXTRACT_TIMEOUT = 30.0
T = TypeVar("T")


class JobFailed(Exception):
    """A job raised in its worker process: the exception's type name and message."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind, self.message = kind, message


class JobTimeout(Exception):
    """A job ran over its time limit; its worker process was killed."""


def _serve(rfd: int, wfd: int) -> None:  # pragma: no cover - runs in the worker process
    """The worker process's loop: receive a pickled job, send back (ok, result)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    jobs, results = Connection(rfd, writable=False), Connection(wfd, readable=False)
    results.send("ready")
    while True:
        try:
            job = jobs.recv()
        except (EOFError, OSError):
            return  # the parent has gone
        try:
            result: tuple[bool, Any] = (True, job())
        except Walled as exc:
            result = (False, ("Walled", f"{exc.kind}\x1f{exc.rule}\x1f{exc.reason}"))
        except ParseError as exc:
            result = (False, ("ParseError", exc.reason))
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
            result = (False, (type(exc).__name__, str(exc)[:1000]))
        try:
            results.send(result)
        except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
            results.send((False, (type(exc).__name__, str(exc)[:1000])))


class _Worker:
    """One worker process, started with the current interpreter (``python -c``; not
    multiprocessing's spawn, which would re-run the parent's ``__main__``)."""

    START_TIMEOUT = 120.0

    def __init__(self) -> None:
        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        code = f"from connectors.extract import _serve; _serve({job_r}, {res_w})"
        try:
            self.proc = subprocess.Popen([sys.executable, "-c", code], pass_fds=(job_r, res_w),
                                         stdin=subprocess.DEVNULL)
        finally:
            os.close(job_r)
            os.close(res_w)
        self.jobs = Connection(job_w, readable=False)
        self.results = Connection(res_r, writable=False)
        if not self.results.poll(self.START_TIMEOUT):
            self.kill()
            raise JobFailed("WorkerStart", "the worker process did not start")
        try:
            self.results.recv()
        except EOFError as exc:
            self.kill()
            raise JobFailed("WorkerStart", "the worker process failed to start") from exc

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.jobs.close()
        self.results.close()


class CPUWorkers:
    """Run picklable CPU-heavy jobs in worker processes, each under a time limit.

    At most ``size`` jobs run at once (more wait their turn; the time limit counts from
    a job's start). Shared by every source of a process: :func:`cpu_workers`.
    """

    def __init__(self, size: int | None = None) -> None:
        self.size = size or max(1, min(4, os.cpu_count() or 1))
        self._threads = ThreadPoolExecutor(self.size, thread_name_prefix="newsflow-cpu")
        self._local = threading.local()
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()

    async def run(self, job: Callable[[], T], *, timeout: float) -> T:
        """``job()`` (picklable, e.g. a partial of a module function) in a worker;
        :class:`JobTimeout` after ``timeout`` s, :class:`JobFailed` when it raised."""
        loop = asyncio.get_running_loop()
        result: T = await loop.run_in_executor(self._threads, self._call, job, timeout)
        return result

    def _worker(self) -> _Worker:
        worker: _Worker | None = getattr(self._local, "worker", None)
        if worker is None or not worker.alive():
            if worker is not None:
                self._drop(worker)
            worker = _Worker()
            with self._lock:
                self._workers.add(worker)
            self._local.worker = worker
        return worker

    def _drop(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._workers.discard(worker)
        if getattr(self._local, "worker", None) is worker:
            self._local.worker = None

    def _call(self, job: Callable[[], Any], timeout: float) -> Any:
        worker = self._worker()
        try:
            worker.jobs.send(job)
            if not worker.results.poll(timeout):
                self._drop(worker)
                raise JobTimeout(f"took longer than {timeout:g} s")
            ok, value = worker.results.recv()
        except (EOFError, OSError) as exc:
            self._drop(worker)
            raise JobFailed("WorkerDied", f"the worker process ended ({exc!r})") from exc
        if ok:
            return value
        raise JobFailed(*value)

    def shutdown(self) -> None:
        with self._lock:
            workers, self._workers = list(self._workers), set()
        for worker in workers:
            worker.kill()
        self._local = threading.local()


_POOLS: dict[int | None, CPUWorkers] = {}
_POOL_LOCK = threading.Lock()


def cpu_workers(size: int | None = None) -> CPUWorkers:
    """The process's shared :class:`CPUWorkers` of ``size`` processes (default: up to
    4), started on first use; a backfill asks for one process per core::

        pool = cpu_workers(os.cpu_count())
    """
    with _POOL_LOCK:
        pool = _POOLS.get(size)
        if pool is None:
            pool = _POOLS[size] = CPUWorkers(size)
            atexit.register(pool.shutdown)
        return pool


async def run_cpu(job: Callable[[], T], *, timeout: float, what: str,
                  url: str | None = None, workers: CPUWorkers | None = None) -> T:
    """``job()`` in a worker process; a timeout or failure is a :class:`ParseError`
    ("<what> took longer than N s")."""
    try:
        return await (workers or cpu_workers()).run(job, timeout=timeout)
    except JobTimeout:
        raise ParseError(f"{what} took longer than {timeout:g} s", url=url) from None
    except JobFailed as exc:
        if exc.kind == "Walled":
            kind, rule, reason = exc.message.split("\x1f", 2)
            raise Walled(reason, kind=kind, rule=rule, url=url) from None
        message = exc.message if exc.kind == "ParseError" else f"{what} failed: {exc}"
        raise ParseError(message, url=url) from None


async def extract_article_async(html: str | bytes, *, url: str | None = None,
                                timeout: float = DEFAULT_EXTRACT_TIMEOUT,
                                workers: CPUWorkers | None = None) -> Extracted:
    """:func:`extract_article` in a worker process (of ``workers``, else the shared
    pool); over ``timeout`` s it is a ParseError saying "extraction took longer than N s"."""
    return await run_cpu(partial(extract_article, html, url=url), timeout=timeout,
                         what="extraction", url=url, workers=workers)

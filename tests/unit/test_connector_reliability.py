"""Connector reliability: failed items are retried, bad items reported without failing the
source, Kafka being away is waited out, progress follows Kafka's confirmations, CPU work
stays off the event loop, limits are validated.

Kafka is a fake here (kafka-python's producer surface: ``send`` -> future, ``flush``,
``close``); HTTP is real, on loopback. The real-Kafka counterparts are in
tests/integration/test_connector_kafka.py.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka.errors import KafkaTimeoutError, MessageSizeTooLargeError

import connectors.state
from connectors.errors import SourceConfigError
from connectors.runner import PassResult, Runner
from connectors.sources import load_sources, parse_sources
from connectors.state import StateStore
from pipeline.core.contracts import DeadLetter, RawArticle
from pipeline.core.settings import MAX_MESSAGE_BYTES, Settings
from pipeline.ops.feedserver import QuietHandler, serving

SETTINGS = Settings.from_env({"NEWSFLOW_TOPIC_PREFIX": "unit"})
RAW, DLQ = SETTINGS.raw_topic, SETTINGS.dead_letter_topic
PAGE = (Path(__file__).resolve().parents[1] / "contract" / "fixtures" / "rss.v1" / "http"
        / "page.html").read_bytes()
MAINTENANCE = (b"<html><head><title>Maintenance</title></head><body><article><h1>Down for "
               b"maintenance</h1><p>We are down for maintenance right now. Our engineers are "
               b"working on it and the site will be back later today, please come back "
               b"soon.</p></article></body></html>")


# ---------------------------------------------------------------- fakes and helpers


class FakeFuture:
    def __init__(self, exception: BaseException | None = None, done: bool = True) -> None:
        self.is_done, self.exception, self.value = done, exception, None

    def succeeded(self) -> bool:
        return self.is_done and self.exception is None

    def failed(self) -> bool:
        return self.is_done and self.exception is not None

    def get(self, timeout: float | None = None) -> Any:
        if not self.is_done:
            raise KafkaTimeoutError(f"Timeout after waiting for {timeout} secs.")
        if self.exception is not None:
            raise self.exception
        return self.value


class FakeProducer:
    """What the runner uses of kafka-python's KafkaProducer, with Kafka's failure modes:
    ``down_until`` (monotonic time): ``send`` raises KafkaTimeoutError ("Failed to update
    metadata") when ``send_raises``, else its futures fail (expired batches) and ``flush``
    times out; ``stall_after``: after that many messages, futures never complete."""

    def __init__(self, *, max_request_size: int = MAX_MESSAGE_BYTES, keep: bool = True) -> None:
        self.max_request_size, self.keep = max_request_size, keep
        self.sent: list[tuple[str, bytes | None, bytes]] = []
        self.count = 0
        self.down_until = 0.0
        self.send_raises = False
        self.stall_after: int | None = None
        self.stalled: list[FakeFuture] = []
        self.lock = threading.Lock()

    def down(self) -> bool:
        return time.monotonic() < self.down_until

    def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> FakeFuture:
        size = len(value or b"") + len(key or b"") + 100
        if size > self.max_request_size:
            raise MessageSizeTooLargeError(
                f"The message is {size} bytes when serialized which is larger than the "
                "maximum request size you have configured with the max_request_size "
                "configuration")
        if self.down():
            if self.send_raises:
                time.sleep(0.05)
                raise KafkaTimeoutError("Failed to update metadata after 10.0 secs.")
            return FakeFuture(KafkaTimeoutError("Expiring 1 record(s): 120000 ms has passed"))
        with self.lock:
            if self.stall_after is not None and self.count >= self.stall_after:
                fut = FakeFuture(done=False)
                self.stalled.append(fut)
                return fut
            self.count += 1
            self.sent.append((topic, key, value if self.keep else b""))
        return FakeFuture()

    def flush(self, timeout: float | None = None) -> None:
        if self.down() or self.stalled:
            time.sleep(min(timeout or 0.1, 0.1))
            raise KafkaTimeoutError("Timeout waiting for future")

    def close(self, timeout: float | None = None) -> None:
        pass

    def on(self, topic: str) -> list[bytes]:
        return [v for t, _, v in self.sent if t == topic]

    def articles(self) -> list[RawArticle]:
        return [RawArticle.from_bytes(v) for v in self.on(RAW)]

    def letters(self) -> list[DeadLetter]:
        return [DeadLetter.model_validate_json(v) for v in self.on(DLQ)]


def run_pass(specs: list[dict[str, Any]], store: StateStore, producer: FakeProducer
             ) -> list[PassResult]:
    runner = Runner(parse_sources({"sources": specs}), settings=SETTINGS, state=store,
                    producer=producer)  # type: ignore[arg-type]
    try:
        return asyncio.run(runner.run(once=True))
    finally:
        runner.close()


class Later:
    """``time`` as connectors.state sees it, moved forward (retries come due)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Later:
    clock = Later()
    monkeypatch.setattr(connectors.state, "time", clock)
    return clock


class Site:
    """A loopback site: path -> list of answers (status, body, headers); the last answer
    repeats. Answers 304 to a conditional request that carries the ETag it sent."""

    def __init__(self, routes: dict[str, list[tuple[int, bytes, dict[str, str]]]]) -> None:
        self.routes = routes
        self.hits: Counter[str] = Counter()
        self.conditional: Counter[str] = Counter()

    def handler(self) -> type[QuietHandler]:
        site = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                path = self.path
                site.hits[path] += 1
                answers = site.routes.get(path) or [(404, b"", {})]
                status, body, headers = answers.pop(0) if len(answers) > 1 else answers[0]
                etag = headers.get("ETag")
                if etag and self.headers.get("If-None-Match") == etag:
                    site.conditional[path] += 1
                    self.reply(304, b"", "text/plain", headers)
                    return
                self.reply(status, body, "text/html" if b"<html" in body[:200] else
                           "application/xml", headers)

        return Handler


@contextlib.contextmanager
def site(routes: dict[str, list[tuple[int, bytes, dict[str, str]]]]) -> Iterator[tuple[str, Site]]:
    s = Site(routes)
    with serving(s.handler()) as base:
        yield base, s


def rss_feed(base: str, items: list[tuple[str, str]]) -> bytes:
    body = "".join(f"<item><title>{t}</title><link>{base}{p}</link><guid>{base}{p}</guid>"
                   f"<description>{t} in brief.</description></item>" for p, t in items)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            f"<link>{base}/</link><description>d</description>{body}</channel></rss>").encode()


def feed_source(base: str, **extra: Any) -> dict[str, Any]:
    return {"name": "feed", "type": "rss.v1", "url": f"{base}/feed.xml", "allow_private": True,
            "delay": 0, "timeout": 5, **extra}


# ---------------------------------------------------------------- A: failed items retried


def test_rss_page_503_is_never_text_and_is_retried_while_the_feed_is_unchanged(
        tmp_path: Path, later: Later) -> None:
    routes: dict[str, list[tuple[int, bytes, dict[str, str]]]] = {
        "/a": [(503, MAINTENANCE, {}), (200, PAGE, {})],
        "/b": [(200, PAGE.replace(b"summary-only", b"other-page"), {})],
    }
    with site(routes) as (base, s):
        routes["/feed.xml"] = [(200, rss_feed(base, [("/a", "Alpha"), ("/b", "Beta")]),
                                {"ETag": '"v1"'})]
        store, producer = StateStore(tmp_path / "s.sqlite"), FakeProducer()
        [first] = run_pass([feed_source(base)], store, producer)
        assert first.failed is None, first.failed
        sent = producer.articles()
        assert all("maintenance" not in a.text.lower() for a in sent)  # never article text
        assert [a.url for a in sent] == [f"{base}/b"]  # /a waits for its retry
        [failure] = store.item_failures("feed")
        assert failure.item == f"{base}/a" and failure.status == "retry"
        assert failure.attempts == 1 and "HTTP 503" in failure.error
        assert store.health("feed").consecutive_failures == 0

        later.offset = 2 * 3600  # the retry is due; the feed has not changed (304)
        [second] = run_pass([feed_source(base)], store, producer)
        assert s.conditional["/feed.xml"] == 1
        assert second.failed is None and second.new == 1
        retried = producer.articles()[-1]
        assert retried.url == f"{base}/a" and "maintenance" not in retried.text.lower()
        assert len(retried.text) > 200
        assert store.item_failures("feed") == []
        assert s.hits["/b"] == 1  # an unchanged entry is not fetched again

        later.offset = 4 * 3600
        [third] = run_pass([feed_source(base)], store, producer)
        assert third.new == 0 and s.hits["/a"] == 2


def test_rss_retries_are_bounded_then_the_summary_is_used(tmp_path: Path, later: Later) -> None:
    routes: dict[str, list[tuple[int, bytes, dict[str, str]]]] = {
        "/a": [(503, MAINTENANCE, {"Retry-After": "120"})]}
    with site(routes) as (base, s):
        routes["/feed.xml"] = [(200, rss_feed(base, [("/a", "Alpha")]), {"ETag": '"v1"'})]
        store, producer = StateStore(tmp_path / "s.sqlite"), FakeProducer()
        spec = feed_source(base, retry_attempts=3)
        for n in range(1, 3):
            [result] = run_pass([spec], store, producer)
            assert result.failed is None and producer.articles() == []
            [failure] = store.item_failures("feed")
            assert (failure.status, failure.attempts) == ("retry", n)
            later.offset += 24 * 3600
        [result] = run_pass([spec], store, producer)  # third attempt: the last one
        [art] = producer.articles()
        assert art.text == "Alpha in brief." and "maintenance" not in art.text.lower()
        assert store.item_failures("feed") == [] and s.hits["/a"] == 3
        later.offset += 24 * 3600
        run_pass([spec], store, producer)
        assert s.hits["/a"] == 3  # done with: not fetched again


def test_a_page_that_keeps_failing_is_dead_lettered_once(tmp_path: Path, later: Later) -> None:
    sitemap = (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/'
               b'sitemap/0.9"><url><loc>{base}/a</loc><lastmod>2026-01-01</lastmod></url>'
               b"<url><loc>{base}/b</loc><lastmod>2026-01-01</lastmod></url></urlset>")
    routes: dict[str, list[tuple[int, bytes, dict[str, str]]]] = {
        "/a": [(500, b"oops", {})], "/b": [(200, PAGE, {})]}
    with site(routes) as (base, s):
        routes["/sitemap.xml"] = [(200, sitemap.replace(b"{base}", base.encode()), {})]
        spec = {"name": "sm", "type": "sitemap.v1", "url": f"{base}/sitemap.xml",
                "allow_private": True, "since_days": None, "delay": 0, "retry_attempts": 2}
        store, producer = StateStore(tmp_path / "s.sqlite"), FakeProducer()
        [first] = run_pass([spec], store, producer)
        assert first.failed is None and [a.url for a in producer.articles()] == [f"{base}/b"]
        assert store.item_failures("sm")[0].status == "retry"
        for _ in range(3):
            later.offset += 24 * 3600
            [result] = run_pass([spec], store, producer)
            assert result.failed is None
        assert s.hits["/a"] == 2  # two attempts, then given up
        [failure] = store.item_failures("sm")
        assert failure.status == "gave_up" and "HTTP 500" in failure.error
        [letter] = producer.letters()
        assert letter.stage == "connector" and "HTTP 500" in letter.error
        assert "source 'sm'" in letter.error
        assert store.health("sm").consecutive_failures == 0


def test_sitemap_page_503_is_retried_though_lastmod_is_unchanged(tmp_path: Path,
                                                                 later: Later) -> None:
    sitemap = (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/'
               b'sitemap/0.9"><url><loc>{base}/a</loc><lastmod>2026-01-01</lastmod></url>'
               b"</urlset>")
    routes: dict[str, list[tuple[int, bytes, dict[str, str]]]] = {
        "/a": [(503, MAINTENANCE, {}), (200, PAGE, {})]}
    with site(routes) as (base, _):
        routes["/sitemap.xml"] = [(200, sitemap.replace(b"{base}", base.encode()), {})]
        spec = {"name": "sm", "type": "sitemap.v1", "url": f"{base}/sitemap.xml",
                "allow_private": True, "since_days": None, "delay": 0}
        store, producer = StateStore(tmp_path / "s.sqlite"), FakeProducer()
        [first] = run_pass([spec], store, producer)
        assert first.failed is None and producer.articles() == []
        later.offset = 2 * 3600
        [second] = run_pass([spec], store, producer)
        [art] = producer.articles()
        assert second.new == 1 and art.url == f"{base}/a"
        assert "maintenance" not in art.text.lower()


def test_web_page_non_2xx_is_an_item_error_never_text(tmp_path: Path) -> None:
    routes: dict[str, list[tuple[int, bytes, dict[str, str]]]] = {
        "/gone": [(410, MAINTENANCE.replace(b"maintenance", b"removal"), {})],
        "/ok": [(200, PAGE, {})]}
    with site(routes) as (base, _):
        spec = {"name": "w", "type": "web.v1", "urls": [f"{base}/gone", f"{base}/ok"],
                "allow_private": True, "delay": 0}
        store, producer = StateStore(tmp_path / "s.sqlite"), FakeProducer()
        [result] = run_pass([spec], store, producer)
        assert [a.url for a in producer.articles()] == [f"{base}/ok"]
        [failure] = store.item_failures("w")
        assert failure.status == "bad" and "HTTP 410" in failure.error
        assert result.failed is None and len(result.errors) == 1


# ---------------------------------------------------------------- B: bad items


def test_bad_jsonl_lines_are_dead_lettered_and_the_file_goes_on(tmp_path: Path) -> None:
    big = json.dumps({"url": "https://e.org/big", "text": "word " * 40_000})
    lines = [json.dumps({"url": "https://e.org/1", "text": "One."}),
             json.dumps({"url": 123, "text": "A number for a URL."}),
             "{not json",
             json.dumps({"url": "https://e.org/2", "text": "Two.", "authors": "Ann"}),
             big,
             json.dumps(["a", "list"]),
             json.dumps({"url": "https://e.org/3", "text": "Three."})]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    spec = {"name": "bf", "type": "jsonl.v1", "path": str(path)}
    store = StateStore(tmp_path / "s.sqlite")
    producer = FakeProducer(max_request_size=100_000)  # the big line is over it
    [result] = run_pass([spec], store, producer)
    assert result.failed is None
    assert [a.url for a in producer.articles()] == ["https://e.org/1", "https://e.org/3"]
    letters = producer.letters()
    assert len(letters) == 5 and result.dead_lettered == 5
    assert all(x.stage == "connector" and "source 'bf'" in x.error for x in letters)
    assert letters[0].payload() == lines[1].encode() + b"\n"
    too_large = next(x for x in letters if x.error_type == "TooLarge")
    assert too_large.article_id and too_large.payload_size > 100_000
    assert len(too_large.to_bytes()) < MAX_MESSAGE_BYTES
    failures = store.item_failures("bf")
    assert len(failures) == 5 and {f.status for f in failures} == {"bad"}
    health = store.health("bf")
    assert health.consecutive_failures == 0 and not health.disabled
    assert health.items_dead_lettered == 5

    with path.open("a") as fh:  # the next pass reads only what was added
        fh.write(json.dumps({"url": "https://e.org/4", "text": "Four."}) + "\n")
    [again] = run_pass([spec], store, producer)
    assert again.new == 1 and again.dead_lettered == 0 and len(producer.letters()) == 5


def test_dead_letter_of_a_huge_item_fits_in_one_kafka_message(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"url": "https://e.org/huge", "text": "word " * 3_600_000})
                    + "\n" + json.dumps({"url": "https://e.org/ok", "text": "Fine."}) + "\n")
    store, producer = StateStore(tmp_path / "s.sqlite"), FakeProducer()
    [result] = run_pass([{"name": "bf", "type": "jsonl.v1", "path": str(path)}], store,
                        producer)
    assert result.failed is None and [a.url for a in producer.articles()] == ["https://e.org/ok"]
    [letter_bytes] = producer.on(DLQ)
    letter = DeadLetter.model_validate_json(letter_bytes)
    assert len(letter_bytes) < MAX_MESSAGE_BYTES and letter.payload_size > MAX_MESSAGE_BYTES
    assert letter.payload().startswith(b'{"schema_version":1,')  # the article, cut to fit
    assert len(letter.payload()) < letter.payload_size and letter.error_type == "TooLarge"


def test_json_feed_bad_items_do_not_fail_the_feed(tmp_path: Path) -> None:
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [
        "x",
        {"id": "1", "url": "https://e.org/1", "content_text": "First story text.",
         "date_published": "2026-13-45T99:00:00Z"},
        {"id": "2", "url": "https://e.org/2", "title": 5, "content_text": "Second."},
        {"id": "3", "url": "https://e.org/3", "content_text": "Third story text.",
         "date_published": "2026-01-02T10:00:00Z"},
    ]}
    routes: dict[str, list[tuple[int, bytes, dict[str, str]]]] = {
        "/feed.json": [(200, json.dumps(feed).encode(), {})]}
    with site(routes) as (base, _):
        spec = {**feed_source(base, full_text="never"), "url": f"{base}/feed.json"}
        store, producer = StateStore(tmp_path / "s.sqlite"), FakeProducer()
        [result] = run_pass([spec], store, producer)
    assert result.failed is None
    arts = {a.url: a for a in producer.articles()}
    assert set(arts) == {"https://e.org/1", "https://e.org/3"}
    assert arts["https://e.org/1"].published_at is None  # an unreadable date is no date
    assert arts["https://e.org/3"].published_at is not None
    letters = producer.letters()
    assert len(letters) == 2 and letters[0].payload() == b'"x"'
    assert store.health("feed").consecutive_failures == 0


def test_jsonapi_bad_item_does_not_fail_the_page(tmp_path: Path) -> None:
    body = {"articles": [{"url": 123, "content": "Number URL."},
                         {"url": "https://e.org/a", "content": "Fine.", "author": 7},
                         {"url": "https://e.org/b", "content": "Fine too.", "title": ["x"]}]}
    routes: dict[str, list[tuple[int, bytes, dict[str, str]]]] = {
        "/api": [(200, json.dumps(body).encode(), {})]}
    with site(routes) as (base, _):
        spec = {"name": "api", "type": "jsonapi.v1", "url": f"{base}/api", "items": "articles",
                "fields": {"url": "url", "text": "content", "title": "title",
                           "authors": "author"}, "allow_private": True, "delay": 0}
        store, producer = StateStore(tmp_path / "s.sqlite"), FakeProducer()
        [result] = run_pass([spec], store, producer)
    assert result.failed is None and [a.url for a in producer.articles()] == ["https://e.org/a"]
    assert len(producer.letters()) == 2 and len(store.item_failures("api")) == 2


# ---------------------------------------------------------------- C: Kafka away


def _jsonl(path: Path, n: int, start: int = 0) -> Path:
    path.write_text("".join(json.dumps({"url": f"https://e.org/{i}", "text": f"Story {i}."})
                            + "\n" for i in range(start, start + n)))
    return path


@pytest.mark.parametrize("send_raises", [False, True], ids=["batches-expire", "no-metadata"])
def test_kafka_away_is_waited_out_and_nothing_is_recorded_before_it_confirms(
        tmp_path: Path, send_raises: bool) -> None:
    path = _jsonl(tmp_path / "in.jsonl", 5)
    store, producer = StateStore(tmp_path / "s.sqlite"), FakeProducer()
    producer.send_raises = send_raises
    producer.down_until = time.monotonic() + 2.5
    seen_during: list[str] = []

    def watch() -> None:  # what the state says while Kafka is away
        time.sleep(1.5)
        probe = StateStore(tmp_path / "s.sqlite")
        seen_during.extend(probe.classify(f"https://e.org/{i}", "x")[0] for i in range(5))
        seen_during.append(json.dumps(probe.conn_state("bf")))

    watcher = threading.Thread(target=watch)
    watcher.start()
    [result] = run_pass([{"name": "bf", "type": "jsonl.v1", "path": str(path)}], store,
                        producer)
    watcher.join()
    assert result.failed is None and result.new == 5
    assert sorted(a.url for a in producer.articles()) == [f"https://e.org/{i}"
                                                           for i in range(5)]
    assert seen_during[:5] == ["new"] * 5 and seen_during[5] == "{}"
    assert store.classify("https://e.org/0", producer.articles()[0].content_hash)[0] == \
        "unchanged"
    [again] = run_pass([{"name": "bf", "type": "jsonl.v1", "path": str(path)}], store,
                       producer)
    assert again.seen == 0 and len(producer.articles()) == 5


# ---------------------------------------------------------------- D: progress as confirmed


def test_crash_late_in_a_backfill_resumes_after_what_kafka_confirmed(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "in.jsonl", 200)
    spec = {"name": "bf", "type": "jsonl.v1", "path": str(path)}
    store, producer = StateStore(tmp_path / "s.sqlite"), FakeProducer()
    producer.stall_after = 150  # Kafka confirms 150 articles, then the process dies

    async def crash() -> None:
        runner = Runner(parse_sources({"sources": [spec]}), settings=SETTINGS, state=store,
                        producer=producer)  # type: ignore[arg-type]
        task = asyncio.create_task(runner.run(once=True))
        await asyncio.sleep(2.0)
        task.cancel()  # kill -9, as far as the state can tell
        with contextlib.suppress(BaseException):
            await task

    asyncio.run(crash())
    assert producer.count == 150
    resumed = FakeProducer()
    [result] = run_pass([spec], StateStore(tmp_path / "s.sqlite"), resumed)
    assert result.failed is None
    assert [a.url for a in resumed.articles()] == [f"https://e.org/{i}" for i in range(150, 200)]


MEMORY_SCRIPT = r"""
import asyncio, json, sys
sys.path.insert(0, sys.argv[3])
from tests.unit.test_connector_reliability import FakeProducer, SETTINGS
from connectors.runner import Runner
from connectors.sources import parse_sources
from connectors.state import StateStore

def kib(field):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field))

runner = Runner(parse_sources({"sources": [{"name": "bf", "type": "jsonl.v1",
                "path": sys.argv[1]}]}), settings=SETTINGS, state=StateStore(sys.argv[2]),
                producer=FakeProducer(keep=False))
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # the peak (VmHWM) starts again from here
before = kib("VmRSS:")
[result] = asyncio.run(runner.run(once=True))
runner.close()
print(json.dumps({"new": result.new, "failed": result.failed,
                  "grew_kib": kib("VmHWM:") - before}))
"""


def test_a_big_backfill_is_streamed_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    para = "Officials said the talks would resume next week. " * 80  # ~4 KB a line
    n = 27_000
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({"url": f"https://e.org/{i}", "text": f"{i} {para}"}) + "\n")
    assert path.stat().st_size > 100 * 1024 * 1024
    root = str(Path(__file__).resolve().parents[2])
    proc = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(path),
                           str(tmp_path / "s.sqlite"), root], capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["failed"] is None and out["new"] == n
    assert out["grew_kib"] < 80 * 1024, out  # ~45 MB here; holding the pass took ~200 MB


def _warc_record(url: str, html: bytes, n: int) -> bytes:
    http = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
            b"Content-Length: " + str(len(html)).encode() + b"\r\n\r\n" + html)
    head = (f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Date: 2026-02-01T10:00:00Z\r\n"
            f"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-{n:012d}>\r\n"
            f"WARC-Target-URI: {url}\r\nContent-Type: application/http; msgtype=response\r\n"
            f"Content-Length: {len(http)}\r\n\r\n").encode()
    return gzip.compress(head + http + b"\r\n\r\n")


def test_warc_resumes_at_the_record_kafka_confirmed(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "x.warc.gz"
    pages = [PAGE.replace(b"summary-only", f"page number {i}".encode()) for i in range(6)]
    path.write_bytes(b"".join(_warc_record(f"https://example.org/{i}", p, i)
                              for i, p in enumerate(pages)))
    spec = {"name": "w", "type": "warc.v1", "paths": [str(path)]}
    store, producer = StateStore(tmp_path / "s.sqlite"), FakeProducer()
    producer.stall_after = 4

    async def crash() -> None:
        runner = Runner(parse_sources({"sources": [spec]}), settings=SETTINGS, state=store,
                        producer=producer)  # type: ignore[arg-type]
        task = asyncio.create_task(runner.run(once=True))
        for _ in range(600):
            await asyncio.sleep(0.1)
            if len(producer.stalled) >= 2:
                break
        await asyncio.sleep(1.0)
        task.cancel()
        with contextlib.suppress(BaseException):
            await task

    asyncio.run(crash())
    assert producer.count == 4
    [progress] = StateStore(tmp_path / "s.sqlite").conn_state("w")["progress"].values()
    assert progress["n"] == 4 and progress["pos"] > 0  # the 4th record, by offset and id
    resumed = FakeProducer()
    [result] = run_pass([spec], StateStore(tmp_path / "s.sqlite"), resumed)
    assert result.failed is None
    assert [a.url for a in resumed.articles()] == ["https://example.org/4",
                                                   "https://example.org/5"]
    assert "cannot resume" not in caplog.text  # by seeking to the offset, not re-reading


# ---------------------------------------------------------------- C: CPU work off the loop


def _nested_page(size: int) -> bytes:
    unit = "<div>" * 200 + "x words words words" + "</div>" * 200
    return ("<html><body><article><h1>Big</h1>" + "<p>Officials said on Monday that the "
            "talks would resume next week in Berlin.</p>" * 10 + unit * (size // len(unit))
            + "</article></body></html>").encode()


def run_with_heartbeat(specs: list[dict[str, Any]], store: StateStore, producer: FakeProducer
                       ) -> tuple[dict[str, PassResult], float]:
    """One pass; also the worst delay of a 50 ms heartbeat on the same event loop."""
    lags: list[float] = [0.0]

    async def main() -> list[PassResult]:
        runner = Runner(parse_sources({"sources": specs}), settings=SETTINGS, state=store,
                        producer=producer)  # type: ignore[arg-type]
        done = asyncio.Event()

        async def heartbeat() -> None:
            while not done.is_set():
                t0 = time.perf_counter()
                await asyncio.sleep(0.05)
                lags.append(time.perf_counter() - t0 - 0.05)

        beat = asyncio.create_task(heartbeat())
        try:
            return await runner.run(once=True)
        finally:
            done.set()
            await beat
            runner.close()

    return {r.source: r for r in asyncio.run(main())}, max(lags)


def test_extraction_has_a_time_limit_and_never_blocks_other_sources(tmp_path: Path) -> None:
    heavy = _nested_page(1024 * 1024)  # trafilatura: ~25 s of CPU
    routes: dict[str, list[tuple[int, bytes, dict[str, str]]]] = {
        "/heavy": [(200, heavy, {})], "/ok": [(200, PAGE, {})]}
    with site(routes) as (base, _):
        routes["/feed.xml"] = [(200, rss_feed(base, [("/x", "Xi")]), {})]
        specs = [{"name": "pages", "type": "web.v1", "urls": [f"{base}/heavy", f"{base}/ok"],
                  "allow_private": True, "delay": 0, "extract_timeout": 3},
                 {**feed_source(base, full_text="never"), "name": "other"}]
        t0 = time.monotonic()
        results, lag = run_with_heartbeat(specs, StateStore(tmp_path / "s.sqlite"),
                                          FakeProducer())
        elapsed = time.monotonic() - t0
    assert results["other"].failed is None and results["other"].new == 1
    pages = results["pages"]
    assert pages.failed is None and pages.new == 1
    [error] = pages.errors
    assert "extraction took longer than 3 s" in error and f"{base}/heavy" in error
    assert lag < elapsed / 4, (lag, elapsed)  # the event loop kept running


def test_big_feed_is_parsed_off_the_loop(tmp_path: Path) -> None:
    items = [(f"/p{i}", f"Story {i}") for i in range(12_000)]  # ~1.5 MB: 1-2 s to parse
    routes: dict[str, list[tuple[int, bytes, dict[str, str]]]] = {}
    with site(routes) as (base, _):
        routes["/feed.xml"] = [(200, rss_feed(base, items), {})]
        t0 = time.perf_counter()
        results, lag = run_with_heartbeat([feed_source(base, full_text="never",
                                                       max_bytes=50_000_000)],
                                          StateStore(tmp_path / "s.sqlite"), FakeProducer())
        elapsed = time.perf_counter() - t0
    assert results["feed"].failed is None and results["feed"].new == 12_000
    # parsed on the loop, the heartbeat would stall for most of the pass; a ratio, not a
    # time, so a loaded machine slows both sides alike
    assert lag < elapsed / 4, (lag, elapsed)


# ---------------------------------------------------------------- F: limits and the file


@pytest.mark.parametrize("source,field", [
    ({"type": "rss.v1", "url": "https://e.org/f", "timeout": -1}, "timeout"),
    ({"type": "rss.v1", "url": "https://e.org/f", "timeout": 0}, "timeout"),
    ({"type": "rss.v1", "url": "https://e.org/f", "max_bytes": 0}, "max_bytes"),
    ({"type": "rss.v1", "url": "https://e.org/f", "min_text_chars": -5}, "min_text_chars"),
    ({"type": "rss.v1", "url": "https://e.org/f", "extract_timeout": -2}, "extract_timeout"),
    ({"type": "sitemap.v1", "url": "https://e.org/s", "timeout": -1}, "timeout"),
    ({"type": "sitemap.v1", "url": "https://e.org/s", "max_urls": 0}, "max_urls"),
    ({"type": "web.v1", "urls": ["https://e.org/a"], "timeout": -1}, "timeout"),
    ({"type": "jsonapi.v1", "url": "https://e.org/api", "timeout": -0.5}, "timeout"),
    ({"type": "jsonapi.v1", "url": "https://e.org/api", "pagination": {"max_pages": 0}},
     "max_pages"),
    ({"type": "jsonl.v1", "path": "x.jsonl", "max_line_bytes": 0}, "max_line_bytes"),
    ({"type": "warc.v1", "paths": ["x.warc"], "progress_every": 0}, "progress_every"),
    ({"type": "rss.v1", "url": "https://e.org/f", "delay": -1}, "delay"),
    ({"type": "rss.v1", "url": "https://e.org/f", "retry_attempts": 0}, "retry_attempts"),
])
def test_limits_are_validated(source: dict[str, Any], field: str) -> None:
    with pytest.raises(SourceConfigError) as exc:
        parse_sources({"sources": [{"name": "bad", **source}]})
    assert "source 'bad'" in str(exc.value) and field in str(exc.value)


def test_non_utf8_sources_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_bytes("sources:\n  - name: caf\xe9\n    type: rss.v1\n".encode("latin-1"))
    with pytest.raises(SourceConfigError) as exc:
        load_sources(path)
    assert str(path) in str(exc.value) and "UTF-8" in str(exc.value)


def test_dead_letter_payload_is_base64_of_the_raw_line(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"url": "https://e.org/x", "text": 5}\n')
    store, producer = StateStore(tmp_path / "s.sqlite"), FakeProducer()
    run_pass([{"name": "bf", "type": "jsonl.v1", "path": str(path)}], store, producer)
    [letter] = producer.letters()
    assert base64.b64decode(letter.payload_b64) == path.read_bytes()
    assert "in.jsonl:1" in letter.error

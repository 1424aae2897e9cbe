"""Hostile sources over real HTTP on loopback, through the real runner into real Kafka:
each fails with a clear recorded error, nothing crashes, the good source keeps flowing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer

from connectors.runner import Runner
from connectors.sources import parse_sources
from connectors.state import StateStore
from pipeline.core.contracts import RawArticle
from pipeline.core.settings import Settings
from pipeline.ops.feedserver import QuietHandler, load_samples, rss, serving
from pipeline.stream.topics import ensure_topics

pytestmark = pytest.mark.integration

GOOD = rss(load_samples()[:3])
BOMB = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i else "&lol;" * 10}">'
                   .encode() for i in range(1, 10))
        + b']><rss version="2.0"><channel><title>&lol9;</title><item><title>x</title>'
        b"<link>http://e.org/x</link><description>&lol9;</description></item></channel></rss>")


class Hostile(QuietHandler):
    def do_GET(self) -> None:
        path = self.path
        if path == "/good.xml":
            self.reply(200, GOOD, "application/rss+xml")
        elif path == "/html.xml":
            self.reply(200, b"<html><body><h1>Not a feed</h1><p>Sorry.</p></body></html>",
                       "text/html")
        elif path == "/truncated.xml":
            self.reply(200, GOOD[: len(GOOD) // 3], "application/rss+xml")
        elif path == "/bomb.xml":
            self.reply(200, BOMB, "application/xml")
        elif path == "/huge.xml":
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.end_headers()
            chunk = b"<!-- padding -->" * 65536
            try:
                for _ in range(50 * 1024 * 1024 // len(chunk)):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif path == "/500.xml":
            self.reply(500, b"oops", "text/plain")
        elif path == "/slow.xml":
            time.sleep(4)
            self.reply(200, GOOD, "application/rss+xml")
        elif path == "/loop.xml":
            self.reply(302, headers={"Location": "/loop.xml"})
        else:
            self.reply(404, b"", "text/plain")


@pytest.fixture
def server() -> Iterator[str]:
    with serving(Hostile) as base:
        yield base


EXPECTED = {  # source -> words its recorded error must contain
    "html": "not a readable feed", "huge": "over the limit", "500": "HTTP 500",
    "slow": "timed out", "loop": "redirect", "private": "SSRF",
}


def test_hostile_sources(isolated: Settings, server: str, tmp_path: Path) -> None:
    ensure_topics(isolated)
    names = ["good", "html", "truncated", "bomb", "huge", "500", "slow", "loop"]
    specs = [{"name": n, "type": "rss.v1", "url": f"{server}/{n}.xml", "allow_private": True,
              "full_text": "never", "timeout": 2, "max_failures": 2} for n in names]
    # no allow_private: the SSRF guard refuses loopback
    specs.append({"name": "private", "type": "rss.v1", "url": f"{server}/good.xml",
                  "full_text": "never", "max_failures": 2})
    store = StateStore(tmp_path / "state.sqlite")
    runner = Runner(parse_sources({"sources": specs}), settings=isolated, state=store)
    try:
        results = {r.source: r for r in asyncio.run(runner.run(once=True))}
        again = {r.source: r for r in asyncio.run(runner.run(once=True))}
    finally:
        runner.close()
    assert results["good"].failed is None and results["good"].new == 3
    assert again["good"].new == 0  # unchanged feed: nothing re-sent
    for name, words in EXPECTED.items():
        health = store.health(name)
        assert health.last_error and words in health.last_error, (name, health.last_error)
        assert f"source '{name}'" in health.last_error
        assert health.disabled  # two consecutive failures, max_failures=2
    # the entity bomb is read without expanding its entities: one item titled "x", no lols
    bomb = results["bomb"]
    assert (bomb.failed, bomb.seen, bomb.new) == (None, 1, 1)
    # the feed cut after its first item gives that item (already sent by "good": not new)
    truncated = results["truncated"]
    assert (truncated.failed, truncated.seen, truncated.new) == (None, 1, 0)
    consumer = KafkaConsumer(isolated.raw_topic, bootstrap_servers=isolated.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=3000)
    sent = [RawArticle.from_bytes(m.value) for m in consumer]
    consumer.close()
    versions = [(a.id, a.version) for a in sent]
    assert len(versions) == len(set(versions))  # a change is a new version, never a duplicate
    assert {a.provenance.source for a in sent} <= {"good", "truncated", "bomb"}
    assert all(len(a.text) < 100_000 and len(a.title or "") < 10_000 for a in sent)
    assert [a.title for a in sent if a.provenance.source == "bomb"] == ["x"]

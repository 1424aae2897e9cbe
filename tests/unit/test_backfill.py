"""Backfill at speed: WARC records extracted in parallel, in the file's order, and the
``languages`` filter (before extraction when the record declares its language)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from connectors.base import Context
from connectors.errors import Skipped, SourceConfigError
from connectors.http import Fetcher
from connectors.sources import parse_sources
from connectors.state import StateStore
from connectors.warc import WARCConnector
from pipeline.core.contracts import RawArticle
from tests.unit.test_connector_reliability import (
    PAGE,
    FakeProducer,
    _warc_record,
    feed_source,
    rss_feed,
    run_pass,
    site,
)

EN = ("The harbour reopened on Monday after a week of repairs, the port authority said, and "
      "the first ferries were expected to sail again by the evening. ")
FR = ("Le port a rouvert lundi après une semaine de travaux, a indiqué l'autorité portuaire, "
      "et les premiers ferries devaient reprendre la mer dans la soirée. ")
DE = ("Der Hafen wurde am Montag nach einer Woche Reparaturarbeiten wieder geöffnet, teilte "
      "die Hafenbehörde mit, und die ersten Fähren sollten am Abend wieder auslaufen. ")


def page(text: str, *, lang: str | None = None, n: int = 0) -> bytes:
    attr = f' lang="{lang}"' if lang else ""
    return (f"<!doctype html><html{attr}><head><title>Story {n}</title></head><body><article>"
            f"<h1>Story {n}</h1>" + f"<p>{n}: {text}</p>" * 6
            + "</article></body></html>").encode()


def record(url: str, html: bytes, n: int, *, content_language: str | None = None) -> bytes:
    """A gzip WARC response record; ``content_language`` as an HTTP header."""
    raw = _warc_record(url, html, n)
    if content_language is None:
        return raw
    import gzip

    body = gzip.decompress(raw)
    head, _, rest = body.partition(b"\r\n\r\n")  # the WARC header block
    http = rest.replace(b"Content-Type: text/html", b"Content-Language: "
                        + content_language.encode() + b"\r\nContent-Type: text/html", 1)
    head = head.replace(f"Content-Length: {len(rest) - 4}".encode(),
                        f"Content-Length: {len(http) - 4}".encode())
    return gzip.compress(head + b"\r\n\r\n" + http)


async def drain(config: dict[str, Any], state: dict[str, Any] | None = None
                ) -> list[RawArticle | Exception]:
    ctx = Context(source="w", fetcher=Fetcher(), state={} if state is None else state)
    conn = WARCConnector(WARCConnector.Config(**config), ctx)
    return [item async for item in conn.fetch()]


def test_parallel_extraction_gives_the_file_order_whatever_the_workers(tmp_path: Path) -> None:
    path = tmp_path / "x.warc.gz"
    pages = [PAGE.replace(b"summary-only", f"page number {i}".encode()) for i in range(9)]
    pages[3] = b"<html><body><p>too short</p></body></html>"  # a failure among them
    path.write_bytes(b"".join(_warc_record(f"https://example.org/{i}", p, i)
                              for i, p in enumerate(pages)))
    outputs, states = [], []
    for workers in (1, 2, 3):
        state: dict[str, Any] = {}
        items = asyncio.run(drain({"paths": [str(path)], "workers": workers}, state))
        outputs.append([(type(x).__name__, x.url, getattr(x, "content_hash", None))
                        for x in items])
        states.append(state)
    assert outputs[0] == outputs[1] == outputs[2]
    assert [u for _, u, _ in outputs[0]] == [f"https://example.org/{i}" for i in range(9)]
    assert outputs[0][3][0] == "ParseError"
    assert states[0] == states[1] == states[2]
    assert next(iter(states[0]["progress"].values()))["n"] == 9


def test_workers_is_a_positive_count() -> None:
    with pytest.raises(ValueError):
        WARCConnector.Config(paths=["x.warc"], workers=0)
    assert WARCConnector.Config(paths=["x.warc"]).pool_size() >= 1


def languages_warc(path: Path) -> None:
    records = [
        record("https://e.org/en-header", page(EN, n=0), 0, content_language="en-GB"),
        record("https://e.org/fr-lang", page(FR, lang="fr", n=1), 1),
        # declared German and empty: skipped before extraction, so not a ParseError
        record("https://e.org/de-empty", b"<html><body></body></html>", 2,
               content_language="de"),
        record("https://e.org/de-lang", page(DE, lang="de-AT", n=3), 3),
        record("https://e.org/en-undeclared", page(EN, n=4), 4),
        record("https://e.org/de-undeclared", page(DE, n=5), 5),
        record("https://e.org/fr-undeclared", page(FR, n=6), 6),
    ]
    path.write_bytes(b"".join(records))


def test_languages_filter_before_extraction_when_declared_else_after(tmp_path: Path) -> None:
    path = tmp_path / "l.warc.gz"
    languages_warc(path)
    items = asyncio.run(drain({"paths": [str(path)], "languages": ["EN", "fr"],
                               "workers": 2}))
    kept = {x.url: x.language for x in items if isinstance(x, RawArticle)}
    assert kept == {"https://e.org/en-header": "en", "https://e.org/fr-lang": "fr",
                    "https://e.org/en-undeclared": "en", "https://e.org/fr-undeclared": "fr"}
    skipped = {x.url: x.reason for x in items if isinstance(x, Skipped)}
    assert set(skipped) == {"https://e.org/de-empty", "https://e.org/de-lang",
                            "https://e.org/de-undeclared"}
    assert "(declared)" in skipped["https://e.org/de-empty"]
    assert "(declared)" in skipped["https://e.org/de-lang"]
    assert "language de (detected)" in skipped["https://e.org/de-undeclared"]
    assert len(items) == 7  # nothing else: no error


def test_no_filter_keeps_every_language(tmp_path: Path) -> None:
    path = tmp_path / "l.warc.gz"
    languages_warc(path)
    items = asyncio.run(drain({"paths": [str(path)], "workers": 1}))
    assert sum(isinstance(x, RawArticle) for x in items) == 6  # the empty page fails
    assert not any(isinstance(x, Skipped) for x in items)


def test_skipped_records_are_counted_in_the_pass_and_health(tmp_path: Path) -> None:
    path = tmp_path / "l.warc.gz"
    languages_warc(path)
    spec = {"name": "w", "type": "warc.v1", "paths": [str(path)], "languages": ["en", "fr"]}
    store, producer = StateStore(tmp_path / "s.sqlite"), FakeProducer()
    [result] = run_pass([spec], store, producer)
    assert result.failed is None and not result.errors
    assert result.skipped == 3 and result.new == 4
    assert store.health("w").items_skipped == 3
    assert not producer.letters()  # skipped records are not dead letters
    [progress] = store.conn_state("w")["progress"].values()
    assert progress["n"] == 7  # and the pass moved past them


def test_a_language_code_is_checked() -> None:
    with pytest.raises(SourceConfigError, match="ISO 639-1"):
        parse_sources({"sources": [{"name": "w", "type": "warc.v1", "paths": ["x"],
                                    "languages": ["english"]}]})


def test_feed_pages_take_the_filter_and_never_fall_back_to_the_summary(tmp_path: Path) -> None:
    routes: dict[str, list[tuple[int, bytes, dict[str, str]]]] = {
        "/en": [(200, page(EN, n=1), {})], "/de": [(200, page(DE, lang="de", n=2), {})],
        "/de2": [(200, page(DE, n=3), {})]}
    with site(routes) as (base, _):
        routes["/feed.xml"] = [(200, rss_feed(base, [("/en", "En"), ("/de", "De"),
                                                     ("/de2", "De2")]), {})]
        spec = feed_source(base, full_text="always", languages=["en"])
        store, producer = StateStore(tmp_path / "s.sqlite"), FakeProducer()
        [result] = run_pass([spec], store, producer)
    assert [a.url for a in producer.articles()] == [f"{base}/en"]
    assert result.skipped == 2 and not result.errors and not producer.letters()


def test_the_backfill_bench_counts_the_same_records_both_ways(tmp_path: Path) -> None:
    from bench.backfill import backfill_rate, fastwarc_rate, summarise
    from bench.connector_throughput import _warc

    path = tmp_path / "b.warc.gz"
    path.write_bytes(_warc([page(EN, n=i) for i in range(3)], "https://bench.example.org"))
    raw = fastwarc_rate(path, at_least=0.0)
    assert raw["records"] == 3 * raw["rounds"] == 3
    run = asyncio.run(backfill_rate(path, 1))
    assert run["articles"] == 3 and run["errors_or_skipped"] == 0
    run["fastwarc_records_per_s"] = raw["records_per_s"]
    run["ratio_to_fastwarc"] = run["records_per_s"] / raw["records_per_s"]
    [summary] = summarise([run], [1])
    assert summary["speedup_in_each_round"] == [1.0] and summary["ratio_to_fastwarc"] > 0


def test_the_warc_header_language_is_a_declaration(tmp_path: Path) -> None:
    import gzip

    def identified(raw: bytes, value: str) -> bytes:
        return gzip.compress(gzip.decompress(raw).replace(
            b"WARC-Target-URI", f"WARC-Identified-Content-Language: {value}\r\n"
            "WARC-Target-URI".encode(), 1))

    path = tmp_path / "h.warc.gz"
    path.write_bytes(b"".join([
        identified(record("https://e.org/deu", b"<html><body></body></html>", 0), "deu"),
        identified(record("https://e.org/fra", page(FR, lang="en", n=1), 1), "fra"),
        identified(record("https://e.org/two", page(DE, n=2), 2), "deu,eng"),  # no word
    ]))
    items = asyncio.run(drain({"paths": [str(path)], "languages": ["fr"], "workers": 1}))
    assert [(type(x).__name__, x.url) for x in items] == [
        ("Skipped", "https://e.org/deu"), ("RawArticle", "https://e.org/fra"),
        ("Skipped", "https://e.org/two")]
    assert "(declared)" in items[0].reason and "language de (detected)" in items[2].reason

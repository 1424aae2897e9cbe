"""A WARC backfill on two extraction processes with a language filter, against real
Kafka: the kept pages reach the raw topic once, the rest are counted as skipped, and a
second pass sends nothing again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from connectors.runner import Runner
from connectors.sources import parse_sources
from connectors.state import StateStore
from pipeline.core.contracts import RawArticle
from pipeline.core.settings import Settings
from pipeline.stream.topics import ensure_topics
from tests.integration.test_connector_kafka import _consume
from tests.unit.test_backfill import DE, EN, FR, page, record

pytestmark = pytest.mark.integration


def test_a_filtered_parallel_backfill_reaches_kafka_once(isolated: Settings,
                                                          tmp_path: Path) -> None:
    ensure_topics(isolated)
    path = tmp_path / "cc-news.warc.gz"
    texts = [EN, FR, DE, EN, DE, FR, EN, EN]
    langs = [None, "fr", "de", "en", None, None, None, "en"]
    path.write_bytes(b"".join(record(f"https://cc.example.org/{i}", page(t, lang=lang, n=i), i)
                              for i, (t, lang) in enumerate(zip(texts, langs, strict=True))))
    spec = {"name": "cc", "type": "warc.v1", "paths": [str(path)], "languages": ["en", "fr"],
            "workers": 2}
    store = StateStore(tmp_path / "state.sqlite")
    results = []
    for _ in range(2):
        runner = Runner(parse_sources({"sources": [spec]}), settings=isolated, state=store)
        try:
            results += asyncio.run(runner.run(once=True))
        finally:
            runner.close()
    first, second = results
    assert first.failed is None and first.new == 6 and first.skipped == 2 and not first.errors
    assert second.failed is None and second.new == 0 and second.skipped == 0
    sent = [RawArticle.from_bytes(v) for v in _consume(isolated, isolated.raw_topic)]
    kept = [f"https://cc.example.org/{i}" for i, t in enumerate(texts) if t is not DE]
    assert sorted(a.url for a in sent) == sorted(kept)
    assert {a.url: a.language for a in sent}["https://cc.example.org/1"] == "fr"
    assert store.health("cc").items_skipped == 2

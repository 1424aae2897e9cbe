"""Connector details that the recorded contract fixtures do not cover."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from connectors.base import Context
from connectors.errors import SourceConfigError
from connectors.jsonapi import JSONAPIConnector, dig, with_param
from connectors.rss import parse_feed
from connectors.sitemap import parse_sitemap
from connectors.state import StateStore
from connectors.testing import RecordedFetcher

FIX = Path(__file__).resolve().parents[1] / "contract" / "fixtures"


def test_feed_ttl_and_update_period() -> None:
    _, ttl = parse_feed((FIX / "rss.v1" / "http" / "feed.xml").read_bytes())
    assert ttl == 15 * 60
    sy = (b'<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">'
          b"<channel><title>t</title><sy:updatePeriod>hourly</sy:updatePeriod>"
          b"<sy:updateFrequency>2</sy:updateFrequency><item><title>a</title>"
          b"<link>http://e.org/a</link></item></channel></rss>")
    assert parse_feed(sy)[1] == 1800


def test_sitemap_ignores_entities() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            b"<url><loc>https://e.org/&b;</loc></url></urlset>")
    _, entries = parse_sitemap(bomb)
    assert all(len(e["url"]) < 100 for e in entries)


def test_jsonapi_auth_comes_from_env_and_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    config = JSONAPIConnector.Config(url="https://api.example.org/x", auth_header="X-Api-Key",
                                     auth_env="NEWSFLOW_TEST_KEY")
    conn = JSONAPIConnector(config, Context(source="api", fetcher=RecordedFetcher()))
    monkeypatch.delenv("NEWSFLOW_TEST_KEY", raising=False)

    async def first() -> object:
        return await conn.fetch().__anext__()

    with pytest.raises(SourceConfigError) as exc:
        asyncio.run(first())
    assert "NEWSFLOW_TEST_KEY" in str(exc.value) and "source 'api'" in str(exc.value)
    monkeypatch.setenv("NEWSFLOW_TEST_KEY", "s3cret")
    assert conn._headers() == {"X-Api-Key": "s3cret"}


def test_connector_secrets_can_come_from_files(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    """An API key or a proxy's user:password from ``<variable>_FILE`` (a Docker secret)."""
    from connectors.proxy import ProxyConfig

    key, auth = tmp_path / "api_key", tmp_path / "proxy_auth"
    key.write_text("from-a-file\n")
    auth.write_text("bob:pw\n")
    monkeypatch.delenv("NEWSFLOW_TEST_KEY", raising=False)
    monkeypatch.setenv("NEWSFLOW_TEST_KEY_FILE", str(key))
    config = JSONAPIConnector.Config(url="https://api.example.org/x", auth_header="X-Api-Key",
                                     auth_env="NEWSFLOW_TEST_KEY")
    conn = JSONAPIConnector(config, Context(source="api", fetcher=RecordedFetcher()))
    assert conn._headers() == {"X-Api-Key": "from-a-file"}
    monkeypatch.setenv("NEWSFLOW_TEST_KEY", "direct")
    with pytest.raises(SourceConfigError, match="both NEWSFLOW_TEST_KEY and "
                       "NEWSFLOW_TEST_KEY_FILE"):
        conn._headers()
    monkeypatch.delenv("TEST_PROXY_AUTH", raising=False)
    monkeypatch.setenv("TEST_PROXY_AUTH_FILE", str(auth))
    assert ProxyConfig("http://proxy:3128", "TEST_PROXY_AUTH").credentials() == ("bob", "pw")
    monkeypatch.setenv("TEST_PROXY_AUTH_FILE", str(tmp_path / "absent"))
    with pytest.raises(ValueError, match=r"TEST_PROXY_AUTH_FILE=.*absent.* cannot be read"):
        ProxyConfig("http://proxy:3128", "TEST_PROXY_AUTH").credentials()


def test_dig_and_params() -> None:
    assert dig({"a": {"b": [1, {"c": 2}]}}, "a.b.1.c") == 2 and dig({}, "a.b") is None
    assert with_param("https://e.org/x?a=1&page=2", "page", 3) == "https://e.org/x?a=1&page=3"


def test_runner_interval_reads_failures_and_the_feeds_poll_interval(tmp_path: Path) -> None:
    from connectors.runner import Runner
    from connectors.sources import parse_sources
    from connectors.state import StateStore
    from pipeline.core.settings import Settings

    store = StateStore(tmp_path / "state.sqlite")
    [source] = parse_sources({"sources": [{"name": "s", "type": "rss.v1", "interval": 300,
                                           "url": "https://example.org/feed.xml"}]})
    runner = Runner([source], settings=Settings(), state=store)
    try:
        assert runner._interval(source) == 300
        store.save_conn_state("s", {"min_interval": 1800})
        assert runner._interval(source) == 1800
        health = store.health("s")
        health.consecutive_failures = 3
        store.save_health(health)
        assert runner._interval(source) == 2400
    finally:
        runner.close()


def test_connector_state_log_replays_and_is_folded_past_its_bound(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:
    import connectors.state
    from connectors.journal import Journal, TrackedDict

    monkeypatch.setattr(connectors.state, "LOG_COMPACT_ROWS", 10)
    store = StateStore(tmp_path / "s.sqlite")
    store.save_conn_state("src", {"lastmod": {"a": "1"}, "etag": "x"})
    journal = Journal()
    state = TrackedDict(store.conn_state("src"), journal)
    for i in range(25):
        state["lastmod"][f"u{i}"] = str(i)
        if i % 2:
            del state["lastmod"][f"u{i - 1}"]
        store.log_conn_state("src", journal.drain())
    rows = store.db.execute("select count(*) from conn_state_log").fetchone()[0]
    assert rows < 10  # folded into the whole state twice
    assert StateStore(tmp_path / "s.sqlite").conn_state("src") == json.loads(json.dumps(state))

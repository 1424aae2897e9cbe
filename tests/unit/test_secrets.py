"""Secrets (API keys, Elasticsearch and Kafka passwords) never appear in reprs, errors or logs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from connectors.base import Context
from connectors.errors import ConnectorError
from connectors.http import Fetcher, Limits
from connectors.jsonapi import JSONAPIConnector
from pipeline.core.settings import Settings
from pipeline.ops.feedserver import QuietHandler, serving

SECRET = "sk-live-0123456789abcdef"
seen_headers: list[str] = []


class Echo(QuietHandler):
    def do_GET(self) -> None:
        seen_headers.append(self.headers.get("X-Api-Key", ""))
        self.reply(401)


@pytest.fixture
def server() -> Iterator[str]:
    with serving(Echo) as base:
        yield f"{base}/v2/top"


def test_settings_repr_hides_passwords() -> None:
    s = Settings.from_env({"NEWSFLOW_ES_USERNAME": "elastic", "NEWSFLOW_ES_PASSWORD": SECRET,
                           "NEWSFLOW_KAFKA_SASL_MECHANISM": "PLAIN",
                           "NEWSFLOW_KAFKA_SASL_USERNAME": "u",
                           "NEWSFLOW_KAFKA_SASL_PASSWORD": SECRET})
    assert SECRET not in repr(s) and SECRET not in str(s)


def test_api_key_reaches_the_server_but_no_error_or_log(server: str,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("NEWSFLOW_TEST_API_KEY", SECRET)
    config = JSONAPIConnector.Config(url=server, items="articles", auth_header="X-Api-Key",
                                     auth_env="NEWSFLOW_TEST_API_KEY", allow_private=True)
    fetcher = Fetcher(limits=Limits(allow_private=True, respect_robots=False))
    conn = JSONAPIConnector(config, Context(source="api", fetcher=fetcher))

    async def drain() -> None:
        async for _ in conn.fetch():
            pass

    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConnectorError) as exc:
        asyncio.run(drain())
    assert seen_headers == ["", SECRET]  # robots.txt is asked for without the key
    assert "HTTP 401" in str(exc.value) and SECRET not in str(exc.value)
    assert SECRET not in caplog.text

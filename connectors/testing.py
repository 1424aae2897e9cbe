"""Test kit for connectors: replay recorded HTTP, check the connector contract.

A fixture directory ``tests/contract/fixtures/<name>/`` holds ``source.yaml`` (the
connector's config; ``{fixtures}`` stands for the directory), ``expected.json``
(what the connector must produce) and ``http/`` with recorded responses listed
in ``http/index.json``: {url: {"status": 200, "headers": {...}, "file": "feed.xml"}}.
A recording with an ``etag`` or ``last-modified`` header answers a conditional request
that carries it with ``304 Not Modified``, as a real server would.

    articles, errors = asyncio.run(run_fixture(RSSConnector, fixture_dir))

:class:`FixtureRun` runs passes one after another keeping what the runner keeps
between passes (the connector state, saved as JSON; the seen articles; the per-item
failures), so cursors, validators and retries are exercised::

    run = FixtureRun(RSSConnector, fixture_dir)
    first = asyncio.run(run.one_pass())
    second = asyncio.run(run.one_pass())
    assert first.fresh and not second.fresh     # nothing new or changed the second time
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from connectors.base import Connector, Context, item_info, transient
from connectors.errors import ConnectorError, FetchError
from connectors.http import Fetcher, Limits, Response
from connectors.state import ItemLedger, RetryPolicy, StateStore
from pipeline.core.contracts import RawArticle


@dataclass
class RecordedFetcher(Fetcher):
    """Answers from recorded responses; an unrecorded URL is a FetchError."""

    recordings: dict[str, Response] = field(default_factory=dict)
    requested: list[str] = field(default_factory=list)

    async def get(self, url: str, *, headers: dict[str, str] | None = None,
                  limits: Limits | None = None) -> Response:
        self.requested.append(url)
        if url not in self.recordings:
            raise FetchError("no recording for this URL", url=url)
        resp = self.recordings[url]
        sent = {k.lower(): v for k, v in (headers or {}).items()}
        if (resp.etag and sent.get("if-none-match") == resp.etag) or \
                (resp.last_modified and sent.get("if-modified-since") == resp.last_modified):
            return Response(url, 304, dict(resp.headers), b"")
        return resp

    @classmethod
    def from_dir(cls, http_dir: Path) -> RecordedFetcher:
        index = json.loads((http_dir / "index.json").read_text()) if http_dir.exists() else {}
        rec = {url: Response(url, r.get("status", 200),
                             {k.lower(): v for k, v in r.get("headers", {}).items()},
                             (http_dir / r["file"]).read_bytes())
               for url, r in index.items()}
        return cls(recordings=rec)


def load_config(cls: type[Connector], fixture: Path) -> Any:
    raw = (fixture / "source.yaml").read_text().replace("{fixtures}", str(fixture))
    return cls.Config(**yaml.safe_load(raw))


async def run_fixture(cls: type[Connector], fixture: Path, *, state: dict[str, Any] | None = None
                      ) -> tuple[list[RawArticle], list[ConnectorError]]:
    """One pass from empty (or the given) state: what the connector yielded."""
    run = FixtureRun(cls, fixture, state=state if state is not None else {})
    result = await run.one_pass()
    if state is not None:
        state.clear()
        state.update(run.state)
    return result.articles, result.errors


@dataclass
class PassOutput:
    articles: list[RawArticle]
    errors: list[ConnectorError]
    fresh: list[RawArticle]  # articles the runner would produce: new or changed


class FixtureRun:
    """Passes over a fixture keeping state between them, as the runner does (no Kafka:
    an article counts as sent as soon as it is yielded)."""

    def __init__(self, cls: type[Connector], fixture: Path, *,
                 state: dict[str, Any] | None = None, policy: RetryPolicy | None = None,
                 fetcher: Fetcher | None = None) -> None:
        self.cls, self.fixture = cls, fixture
        self.source = f"fixture-{cls.name}"
        self.config = load_config(cls, fixture)
        self.store = StateStore(":memory:")
        self.ledger = ItemLedger(self.store, self.source, policy)
        self.fetcher = fetcher or RecordedFetcher.from_dir(fixture / "http")
        self.state: dict[str, Any] = dict(state or {})

    async def one_pass(self) -> PassOutput:
        # the runner keeps the state as JSON: what does not survive that is lost
        state = json.loads(json.dumps(self.state))
        ctx = Context(source=self.source, fetcher=self.fetcher, state=state, items=self.ledger)
        out = PassOutput([], [], [])
        async for item in self.cls(self.config, ctx).fetch():
            if isinstance(item, RawArticle):
                out.articles.append(item)
                status, version = self.store.classify(item.canonical_url, item.content_hash)
                if status != "unchanged":
                    out.fresh.append(item)
                    self.store.mark_sent(item.canonical_url, item.content_hash, version)
                self.ledger.resolve(item.url)
            elif isinstance(item, ConnectorError):
                out.errors.append(item)
                info = item_info(item)
                key = info.key or item.url or item.reason[:300]
                self.ledger.record(self.ledger.failure(
                    key, error_type=type(item).__name__, error=str(item),
                    transient=transient(item) if info.transient is None else info.transient,
                    payload=info.retry, retry_after=info.retry_after))
            else:
                raise TypeError(f"{self.cls.name} yielded {type(item).__name__}, "
                                "not RawArticle")
        self.state = json.loads(json.dumps(state))
        return out


def summary(articles: list[RawArticle]) -> list[dict[str, Any]]:
    """The stable part of each article, compared with ``expected.json``."""
    return [{"id": a.id, "url": a.url, "title": a.title, "text_start": a.text[:80],
             "text_chars": len(a.text), "authors": a.authors,
             "published_at": a.published_at.isoformat() if a.published_at else None}
            for a in articles]

"""Test kit for connectors: replay recorded HTTP, check the connector contract.

A fixture directory ``tests/contract/fixtures/<name>/`` holds ``source.yaml`` (the
connector's config; ``{fixtures}`` stands for the directory), ``expected.json``
(what the connector must produce) and ``http/`` with recorded responses listed
in ``http/index.json``: {url: {"status": 200, "headers": {...}, "file": "feed.xml"}}.

    articles, errors = asyncio.run(run_fixture(RSSConnector, fixture_dir))
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from connectors.base import Connector, Context
from connectors.errors import ConnectorError, FetchError
from connectors.http import Fetcher, Limits, Response
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
        return self.recordings[url]

    @classmethod
    def from_dir(cls, http_dir: Path) -> RecordedFetcher:
        index = json.loads((http_dir / "index.json").read_text()) if http_dir.exists() else {}
        rec = {url: Response(url, r.get("status", 200), r.get("headers", {}),
                             (http_dir / r["file"]).read_bytes())
               for url, r in index.items()}
        return cls(recordings=rec)


async def run_fixture(cls: type[Connector], fixture: Path, *, state: dict[str, Any] | None = None
                      ) -> tuple[list[RawArticle], list[ConnectorError]]:
    raw = (fixture / "source.yaml").read_text().replace("{fixtures}", str(fixture))
    config = cls.Config(**yaml.safe_load(raw))
    ctx = Context(source=f"fixture-{cls.name}", fetcher=RecordedFetcher.from_dir(
        fixture / "http"), state=state if state is not None else {})
    articles: list[RawArticle] = []
    errors: list[ConnectorError] = []
    async for item in cls(config, ctx).fetch():
        if isinstance(item, RawArticle):
            articles.append(item)
        elif isinstance(item, ConnectorError):
            errors.append(item)
        else:
            raise TypeError(f"{cls.name} yielded {type(item).__name__}, not RawArticle")
    return articles, errors


def summary(articles: list[RawArticle]) -> list[dict[str, Any]]:
    """The stable part of each article, compared with ``expected.json``."""
    return [{"id": a.id, "url": a.url, "title": a.title, "text_start": a.text[:80],
             "text_chars": len(a.text), "authors": a.authors,
             "published_at": a.published_at.isoformat() if a.published_at else None}
            for a in articles]

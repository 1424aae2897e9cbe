"""Replay articles from JSON Lines files or a directory of them (``jsonl.v1``).

For backfills and tests. Each line: {"url", "text", optional "title", "summary",
"authors", "published_at", "language"}::

    sources:
      - name: backfill
        type: jsonl.v1
        path: data/articles.jsonl      # a file or a directory of *.jsonl
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from connectors.base import Connector, ConnectorConfig
from connectors.errors import ConnectorError, ParseError
from pipeline.core.contracts import RawArticle

FIELDS = {"title", "summary", "authors", "published_at", "language", "tags"}


class JSONLConfig(ConnectorConfig):
    path: str
    pattern: str = "*.jsonl"


class JSONLConnector(Connector[JSONLConfig]):
    """Yields one article per line; bad lines become errors naming file and line."""

    name = "jsonl.v1"
    Config = JSONLConfig

    def _files(self) -> list[Path]:
        path = Path(self.config.path)
        if path.is_dir():
            return sorted(path.glob(self.config.pattern))
        if path.exists():
            return [path]
        raise self.error(ParseError, f"path '{path}' does not exist")

    async def fetch(self) -> AsyncIterator[RawArticle | ConnectorError]:
        done: dict[str, int] = self.context.state.setdefault("lines_done", {})
        for file in self._files():
            key = str(file.resolve())
            with file.open(encoding="utf-8", errors="replace") as fh:
                for lineno, line in enumerate(fh, 1):
                    if lineno <= done.get(key, 0) or not line.strip():
                        continue
                    yield self._parse(line, f"{file}:{lineno}")
                    done[key] = lineno

    def _parse(self, line: str, where: str) -> RawArticle | ConnectorError:
        try:
            data: dict[str, Any] = json.loads(line)
            if not isinstance(data, dict) or not data.get("url") or not data.get("text"):
                return self.error(ParseError, f"{where}: needs 'url' and 'text'")
            extra = {k: v for k, v in data.items() if k in FIELDS and v is not None}
            return self.article(url=data["url"], text=data["text"],
                                provenance=self.provenance(feed_url=where.rsplit(":", 1)[0]),
                                **extra)
        except (ValueError, ValidationError) as exc:
            return self.error(ParseError, f"{where}: {type(exc).__name__}: {str(exc)[:200]}")

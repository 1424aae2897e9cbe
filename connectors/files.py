"""Replay articles from JSON Lines files or a directory of them (``jsonl.v1``).

For backfills and tests. Each line: {"url", "text", optional "title", "summary",
"authors", "published_at", "language"}::

    sources:
      - name: backfill
        type: jsonl.v1
        path: data/articles.jsonl      # a file or a directory of *.jsonl

Files are streamed (read a line at a time, never whole) and resumable: the byte offset
reached in each file is part of the connector state, which the runner saves as Kafka
confirms the articles, so a crash late in a backfill resumes where it was. A bad line
(not JSON, fields of the wrong type, longer than ``max_line_bytes``) is an item error
carrying the line; the rest of the file goes on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import Field, ValidationError

from connectors.base import ByteSize, Connector, ConnectorConfig
from connectors.errors import ConnectorError, ParseError, TooLarge
from pipeline.core.contracts import RawArticle

log = logging.getLogger("newsflow.connectors.jsonl")

FIELDS = {"title", "summary", "authors", "published_at", "language", "tags"}
RAW_KEEP = 64 * 1024  # how much of an over-long line an item error carries


class JSONLConfig(ConnectorConfig):
    path: str
    pattern: str = Field(default="*.jsonl", min_length=1)
    max_line_bytes: ByteSize = 32 * 1024 * 1024


def _skip_line(fh: BinaryIO, chunk: int = 1024 * 1024) -> int:
    """Read past the end of the current line; return the bytes skipped."""
    skipped = 0
    while True:
        part = fh.readline(chunk)
        skipped += len(part)
        if not part or part.endswith(b"\n"):
            return skipped


class JSONLConnector(Connector[JSONLConfig]):
    """Yields one article per line; bad lines become errors naming file and line."""

    name = "jsonl.v1"
    Config = JSONLConfig

    def _files(self) -> list[Path]:
        path = Path(self.config.path)
        if path.is_dir():
            return sorted(p for p in path.glob(self.config.pattern) if p.is_file())
        if path.exists():
            return [path]
        raise self.error(ParseError, f"path '{path}' does not exist")

    async def fetch(self) -> AsyncIterator[RawArticle | ConnectorError]:
        state = self.context.state
        offsets: dict[str, dict[str, int]] = state.setdefault("offsets", {})
        legacy: dict[str, int] = state.pop("lines_done", None) or {}  # line counts (older)
        limit = self.config.max_line_bytes
        for file in self._files():
            key = str(file.resolve())
            with file.open("rb") as fh:
                pos, lineno = self._resume(fh, key, offsets.get(key), legacy.get(key, 0))
                while True:
                    line = fh.readline(limit + 1)
                    if not line:
                        break
                    lineno += 1
                    pos += len(line)
                    where = f"{file}:{lineno}"
                    if len(line) > limit and not line.endswith(b"\n"):
                        pos += _skip_line(fh)
                        offsets[key] = {"byte": pos, "line": lineno}
                        yield self.error(TooLarge, f"{where}: line longer than "
                                         f"{limit:,} bytes (max_line_bytes)", key=where,
                                         raw=line[:RAW_KEEP])
                        continue
                    offsets[key] = {"byte": pos, "line": lineno}  # saved once Kafka has it
                    if line.strip():
                        yield self._parse(line, where)

    def _resume(self, fh: BinaryIO, key: str, saved: dict[str, int] | None, legacy_lines: int
                ) -> tuple[int, int]:
        """Seek to where the last pass stopped; return (byte offset, line number)."""
        size = fh.seek(0, 2)
        if saved:
            pos, lineno = int(saved.get("byte", 0)), int(saved.get("line", 0))
            if pos <= size:
                fh.seek(pos)
                return pos, lineno
            log.warning("%s: %s is shorter than the %d bytes already read: reading it again "
                        "from the start", self.context.source, key, pos)
        fh.seek(0)
        pos = 0
        for lineno in range(legacy_lines):  # state of an older version: lines done
            step = _skip_line(fh)
            if not step:
                return pos, lineno
            pos += step
        return pos, legacy_lines

    def _parse(self, line: bytes, where: str) -> RawArticle | ConnectorError:
        try:
            data: Any = json.loads(line.decode("utf-8", errors="replace"))
            if not isinstance(data, dict):
                raise ParseError(f"a line is a JSON {type(data).__name__}, not an object")
            url, text = data.get("url"), data.get("text")
            if not isinstance(url, str) or not url.strip() \
                    or not isinstance(text, str) or not text.strip():
                raise ParseError("needs 'url' and 'text' (non-empty strings)")
            extra = {k: v for k, v in data.items() if k in FIELDS and v is not None}
            return self.article(url=url, text=text,
                                provenance=self.provenance(feed_url=where.rsplit(":", 1)[0]),
                                **extra)
        except ParseError as exc:
            reason = exc.reason
        except (ValueError, TypeError, ValidationError) as exc:
            reason = f"{type(exc).__name__}: {str(exc)[:200]}"
        return self.error(ParseError, f"{where}: {reason}", key=where, raw=line)

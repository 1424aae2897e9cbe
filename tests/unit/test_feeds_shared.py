"""feedparser's own fixtures (ill-formed feeds, odd encodings): a clean result or a
clean ParseError for every file, never a crash."""

from __future__ import annotations

from pathlib import Path

from connectors.errors import ParseError
from connectors.rss import parse_feed
from tests.conftest import shared_path


def _files() -> list[Path]:
    root = shared_path("data", "feeds")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != "LICENSE")


def test_every_shared_feed_parses_or_fails_cleanly() -> None:
    files = _files()
    assert len(files) > 1000
    ok = failed = 0
    for path in files:
        try:
            entries = parse_feed(path.read_bytes())
        except ParseError as exc:
            assert str(exc)
            failed += 1
            continue
        ok += 1
        for e in entries:
            assert e["text"] is None or isinstance(e["text"], str)
    assert ok > failed  # most fixtures are feeds

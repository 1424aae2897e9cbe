"""feedparser's own fixtures (well-formed, ill-formed, odd encodings): every file gives
entries or a ParseError that says why, never a crash; well-formed feeds are read."""

from __future__ import annotations

from pathlib import Path

from connectors.errors import ParseError
from connectors.rss import parse_feed
from tests.conftest import shared_path

# Channel Definition Format (Microsoft's 1997 channels) is not RSS, Atom or JSON Feed.
NOT_NEWS_FEEDS = "cdf"


def _files(kind: str) -> list[Path]:
    root = shared_path("data", "feeds", kind)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != "LICENSE")


def _read(path: Path) -> list[dict] | ParseError:  # type: ignore[type-arg]
    try:
        return parse_feed(path.read_bytes())[0]
    except ParseError as exc:
        return exc


def test_every_wellformed_news_feed_is_read() -> None:
    files = [p for p in _files("wellformed") if p.parent.name != NOT_NEWS_FEEDS]
    assert len(files) > 1500
    refused = {str(p): r.reason for p in files if isinstance(r := _read(p), ParseError)}
    assert refused == {}


def test_channel_definition_format_is_refused_with_the_reason() -> None:
    cdf = [p for p in _files("wellformed") if p.parent.name == NOT_NEWS_FEEDS]
    assert cdf
    for path in cdf:
        result = _read(path)
        if isinstance(result, ParseError):
            assert result.reason.startswith("not a readable feed:"), result.reason


def test_illformed_and_odd_encodings_give_entries_or_say_why() -> None:
    for kind in ("illformed", "encoding"):
        for path in _files(kind):
            result = _read(path)
            if isinstance(result, ParseError):
                assert result.reason.startswith("not a readable feed: "), (path, result)
                assert len(result.reason) > len("not a readable feed: ") + 10
                continue
            for entry in result:
                assert entry.get("bad") or isinstance(entry.get("text"), str | None), entry

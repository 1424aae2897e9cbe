from __future__ import annotations

import pytest

from connectors import registry
from connectors.errors import SourceConfigError
from connectors.sources import parse_sources

# Pinned: a connector that disappears from the entry points fails here, loudly.
REGISTERED = ["jsonapi.v1", "jsonl.v1", "rss.v1", "sitemap.v1", "warc.v1", "web.v1"]


def test_registered_connector_names_are_pinned() -> None:
    assert sorted(registry.available()) == REGISTERED


def test_every_registered_connector_loads() -> None:
    for name in REGISTERED:
        cls = registry.load(name)
        assert cls.name == name


def test_valid_source() -> None:
    [src] = parse_sources({"sources": [{"name": "a", "type": "rss.v1",
                                        "url": "https://e.org/f", "interval": 60}]})
    assert src.spec.interval == 60 and src.config.url == "https://e.org/f"  # type: ignore[attr-defined]


@pytest.mark.parametrize("source,needle", [
    ({"name": "bad", "type": "rss.v1", "url": "https://e.org", "colour": "red"}, "colour"),
    ({"name": "bad", "type": "rss.v1"}, "url"),
    ({"name": "bad", "type": "nope.v1", "url": "x"}, "unknown connector type"),
    ({"name": "bad", "type": "rss.v1", "url": "x", "interval": -1}, "interval"),
])
def test_errors_name_the_source(source: dict[str, object], needle: str) -> None:
    with pytest.raises(SourceConfigError) as exc:
        parse_sources({"sources": [source]})
    assert "source 'bad'" in str(exc.value) and needle in str(exc.value)


def test_duplicate_names() -> None:
    s = {"name": "a", "type": "rss.v1", "url": "https://e.org"}
    with pytest.raises(SourceConfigError, match="duplicate"):
        parse_sources({"sources": [s, s]})

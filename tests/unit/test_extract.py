from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.errors import ParseError
from connectors.extract import extract_article, html_to_text

PAGE = Path(__file__).resolve().parents[1] / "contract" / "fixtures" / "rss.v1" / "http" / \
    "page.html"


def test_extracts_text_and_metadata() -> None:
    art = extract_article(PAGE.read_bytes(), url="https://example.org/world/summary-only")
    assert "tram network by twelve kilometres" in art.text
    assert "All rights reserved" not in art.text and "Home" not in art.text.split("\n")[0]
    assert art.title == "Summary-only item"
    assert art.published_at is not None and art.published_at.year == 2026
    assert art.authors == ["Sam Patel"]


def test_empty_page_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        extract_article(b"<html><body><nav>menu</nav></body></html>")


def test_html_fragment_to_text_keeps_paragraphs() -> None:
    assert html_to_text("<p>One.</p><p>Two &amp; three.</p>") == "One.\n\nTwo & three."


def test_cli_extract_json() -> None:
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "extract", str(PAGE), "--json"],
                          capture_output=True, text=True, check=True)
    data = json.loads(proc.stdout)
    assert {"text", "title", "authors", "published_at"} <= set(data)
    assert data["published_at"].startswith("2026-11-03")

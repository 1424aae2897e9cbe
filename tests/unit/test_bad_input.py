"""Bad input to the offline commands and renderers: a clear error or a correct result.

A bad line is reported with its number and the rest is processed; article text is
printed as text, never read as rich markup.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

import pipeline.cli.main  # noqa: F401 - registers the commands
from pipeline.cli.app import app
from pipeline.core.contracts import EnrichedArticle, Provenance, RawArticle
from pipeline.core.errors import EnrichmentError
from pipeline.enrich.article import Enricher

SAID = "The minister said the talks had failed."
PUTIN = "Vladimir Putin met officials in Moscow on Monday. Putin said the talks had failed."


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    return Enricher()


def _invoke(args: list[str], input: bytes | None = None) -> Result:
    return CliRunner().invoke(app, args, input=input)


def _flat(text: str) -> str:
    """Console output with its line wrapping undone."""
    return " ".join(text.split())


def _ids(stdout: str) -> list[str]:
    return [json.loads(line)["id"] for line in stdout.splitlines() if line.strip()]


def _line(**fields: Any) -> bytes:
    return json.dumps(fields).encode() + b"\n"


# 1. A non-UTF-8 line is reported by number; the valid lines are all enriched.

def test_enrich_reports_a_non_utf8_line_and_enriches_the_rest() -> None:
    data = _line(id="1", text=SAID) + b'{"id": "2", "text": "caf\xe9"}\n' + _line(id="3", text=SAID)
    result = _invoke(["enrich"], data)
    assert result.exit_code == 2
    assert _ids(result.stdout) == ["1", "3"]
    assert "line 2: not valid UTF-8" in _flat(result.stderr)


def test_enrich_reads_a_utf8_bom_before_the_first_line() -> None:
    result = _invoke(["enrich"], b"\xef\xbb\xbf" + _line(id="1", text=SAID))
    assert result.exit_code == 0, result.stderr
    assert _ids(result.stdout) == ["1"]


# 2. Fields of the wrong type are reported by line and by field.

@pytest.mark.parametrize(("field", "value"), [
    ("tags", 5), ("authors", "x"), ("title", 7), ("published_at", "yesterday"), ("id", ""),
])
def test_enricher_reports_a_field_of_the_wrong_type(enricher: Enricher, field: str,
                                                    value: object) -> None:
    item = {"id": "1", "text": SAID, "source": "wire", field: value}
    [result] = enricher.enrich([item])
    assert isinstance(result, EnrichmentError)
    assert f"invalid input: {field}:" in str(result)


def test_enrich_reports_wrong_field_types_by_line() -> None:
    data = (_line(id="1", text=SAID, source="wire", tags=5) + _line(id="2", text=SAID)
            + _line(id="3", text=SAID, authors="x") + _line(id="4", text=SAID, title=7)
            + b"[1, 2]\n" + b'{"id": "6", "text": "a \\ud800 b"}\n')
    result = _invoke(["enrich"], data)
    assert result.exit_code == 2
    assert _ids(result.stdout) == ["2"]
    err = _flat(result.stderr)
    for n, problem in [(1, "tags"), (3, "authors"), (4, "title"), (5, "object"), (6, "JSON")]:
        assert f"line {n}: invalid input:" in err and problem in err
    assert "Traceback" not in result.stderr


# 3. Article text is printed as text: "[/bold]" and "[citation needed]" as written.

PAGE = """<html><head><title>[/bold]</title></head><body><article><h1>[/bold]</h1>
<p>The council approved the budget on Tuesday after a long debate [citation needed].</p>
<p>{filler}</p></article></body></html>""".format(
    filler="Members of the council discussed the new tram line and the schools. " * 8)


def test_extract_prints_markup_like_text_as_written(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(PAGE, encoding="utf-8")
    result = _invoke(["extract", str(page)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == "[/bold]"
    assert "[citation needed]" in result.stdout


def _result(title: str = "[/bold]") -> dict[str, Any]:
    hit = {"title": title, "publisher": "[red]Wire", "published_at": "2024-01-01",
           "url": "https://example.org/[x]",
           "highlights": ["a debate [citation needed] on the <em>budget</em>\\"],
           "who_said_what": [{"source": "[b]Minister", "cue": "said",
                              "content": "the talks [/i] had failed"}]}
    return {"total": 1, "hits": [hit], "facets": {"publishers": [("[/dim]Wire", 1)]}}


def test_render_prints_article_text_as_written() -> None:
    console = Console(file=io.StringIO(), width=200, color_system=None)
    from pipeline.search.render import render

    render(_result(), console)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    for shown in ["1. [/bold]", "[red]Wire", "https://example.org/[x]",
                  "a debate [citation needed] on the budget\\", "[b]Minister said: the talks "
                  "[/i] had failed", "[/dim]Wire (1)"]:
        assert shown in text


def test_search_prints_a_title_that_looks_like_markup(monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.search.query

    monkeypatch.setattr(pipeline.search.query, "search", lambda settings, req: _result())
    result = _invoke(["search", "budget"])
    assert result.exit_code == 0, result.output
    assert "1. [/bold]" in result.stdout


def test_status_prints_names_and_errors_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.ops.status

    monkeypatch.setenv("COLUMNS", "200")  # the tables' cells unwrapped

    report = {"healthy": True, "services": [{"name": "kafka", "address": "h:9092",
                                             "healthy": True}],
              "topics": {"raw": {"exists": True, "partitions": 1, "messages": 2,
                                 "consumer_lag": None}, "[/x]dead": "[citation needed]"},
              "index": {"alias": "news", "indices": ["news-1"], "documents": 2},
              "sources": [{"source": "[/bold]feed", "disabled": True, "last_success": None,
                           "consecutive_failures": 3, "items_seen": 1, "items_new": 0,
                           "last_error": "HTTP 500 [/red]"}]}
    monkeypatch.setattr(pipeline.ops.status, "collect", lambda settings, state_path: report)
    result = _invoke(["status"])
    assert result.exit_code == 0, result.output
    for shown in ["[/bold]feed (disabled)", "HTTP 500 [/red]", "[/x]dead", "[citation needed]"]:
        assert shown in result.stdout


# 4. Zero-width and bidi characters leave the text before enrichment; offsets stay valid.

def _offsets_hold(art: EnrichedArticle) -> None:
    for e in art.entities:
        assert art.text[e.start:e.end] == e.text


@pytest.mark.parametrize("text", [
    PUTIN.replace("Vladimir ", "Vladimir\u200b "),
    PUTIN.replace("Vladimir ", "Vla\u00addimir\u200d "),
    "\u202a" + PUTIN.replace("Putin met", "Putin\u202c\u2066 met\u2069"),
    "\ufeff" + PUTIN.replace("Putin", "Pu\u200ctin"),
])
def test_invisible_characters_do_not_split_names(enricher: Enricher, text: str) -> None:
    [art] = enricher.enrich([{"id": "1", "text": text}])
    assert isinstance(art, EnrichedArticle)
    assert art.text == PUTIN
    first = art.entities[0]
    assert (first.text, first.label, first.canonical) == ("Vladimir Putin", "PERSON",
                                                          "Vladimir Putin")
    _offsets_hold(art)


def test_a_raw_article_is_cleaned_and_composed_too(enricher: Enricher) -> None:
    raw = RawArticle.new(url="https://example.org/a", title="Cafe\u0301\u200b news",
                         text="Cafe\u0301 owner " + PUTIN.replace(" Putin", "\u200b Putin"),
                         provenance=Provenance(connector="rss.v1", source="ex"))
    [art] = enricher.enrich([raw])
    assert isinstance(art, EnrichedArticle)
    assert art.title == "Café news" and art.text == "Café owner " + PUTIN
    assert "Vladimir Putin" in {e.canonical for e in art.entities if e.label == "PERSON"}
    _offsets_hold(art)


# 5. extract refuses a page over --max-bytes (default 10 MiB) at once, saying how to raise it.

def test_extract_refuses_a_page_over_max_bytes(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(PAGE, encoding="utf-8")
    result = _invoke(["extract", str(page), "--max-bytes", "100"])
    assert result.exit_code == 2
    assert "over the limit of 100 bytes" in _flat(result.stderr)
    assert "--max-bytes" in result.stderr
    assert _invoke(["extract", str(page), "--max-bytes", "100000"]).exit_code == 0


@pytest.mark.timeout(60)
def test_extract_default_limit_is_10_mib(tmp_path: Path) -> None:
    big = b"<html><body><p>" + b"word " * (2 * 1024 * 1024 + 1) + b"</p></body></html>"
    page = tmp_path / "big.html"
    page.write_bytes(big)
    for args, data in [([str(page)], None), (["-"], big)]:
        result = _invoke(["extract", *args], data)
        assert result.exit_code == 2
        assert "over the limit of 10,485,760 bytes" in _flat(result.stderr)


# 6. enrich carries publisher, published_at, url and provenance to its output.

def test_enricher_carries_publisher_date_and_url(enricher: Enricher) -> None:
    [art] = enricher.enrich([{"id": "1", "text": SAID, "publisher": "The Wire",
                              "published_at": "2024-05-01T10:00:00Z",
                              "url": "https://example.org/a"}])
    assert isinstance(art, EnrichedArticle)
    assert art.url == "https://example.org/a"
    assert art.published_at is not None and art.published_at.isoformat().startswith("2024-05")
    assert art.provenance is not None
    assert (art.provenance.connector, art.provenance.source, art.provenance.publisher) == (
        "offline", "newsflow enrich", "The Wire")


def test_enricher_keeps_a_given_provenance(enricher: Enricher) -> None:
    given = {"connector": "rss.v1", "source": "wire-feed", "publisher": "The Wire",
             "feed_url": "https://example.org/feed"}
    [art] = enricher.enrich([{"id": "1", "text": SAID, "provenance": given}])
    assert isinstance(art, EnrichedArticle) and art.provenance is not None
    assert art.provenance.model_dump(include=set(given)) == given


def test_cli_enrich_writes_the_publisher() -> None:
    result = _invoke(["enrich"], _line(id="1", text=SAID, publisher="The Wire",
                                       url="https://example.org/a"))
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["provenance"]["publisher"] == "The Wire"
    assert out["url"] == "https://example.org/a"


def test_a_bad_setting_exits_2_and_names_the_variable() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "NEWSFLOW_PARTITIONS": "four"}
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "search", "x"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "NEWSFLOW_PARTITIONS='four' is not a valid int" in proc.stderr

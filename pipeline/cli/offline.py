"""``newsflow enrich`` and ``extract``: the pipeline's own code on files, no services."""

from __future__ import annotations

import json
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from pipeline.cli.app import app, err, load_settings, out

if TYPE_CHECKING:  # spaCy loads with it: commands import it when they run
    from pipeline.enrich.article import ArticleInput


def _parse_line(raw: bytes, n: int) -> ArticleInput | None:
    """One input line as an article (None if blank); ValueError says what is wrong."""
    from pydantic import ValidationError

    from pipeline.enrich.article import ArticleInput, input_problems

    try:
        line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 ({exc.reason} at byte {exc.start + 1})") from None
    if not line.strip():
        return None
    try:
        return ArticleInput.model_validate_json(line)
    except ValidationError as exc:
        raise ValueError(f"invalid input: {input_problems(exc)}") from None


class _Lines:
    """Reads the articles of a JSON Lines input, reporting bad lines by number."""

    def __init__(self, source: Iterable[bytes]) -> None:
        self.source = source
        self.pending: deque[int] = deque()  # line numbers of articles read, not yet done
        self.failures = 0

    def report(self, n: int, problem: object) -> None:
        self.failures += 1
        err.print(f"[red]line {n}:[/red] {escape(str(problem))}")

    def __iter__(self) -> Iterator[ArticleInput]:
        for n, raw in enumerate(self.source, 1):
            try:
                item = _parse_line(raw, n)
            except ValueError as exc:
                self.report(n, exc)
                continue
            if item is not None:
                self.pending.append(n)
                yield item


@app.command()
def enrich(
    input: typer.FileBinaryRead = typer.Option("-", "--input", "-i",
                                               help="JSON Lines in (default stdin)."),
    output: typer.FileTextWrite = typer.Option("-", "--output", "-o",
                                               help="JSON Lines out (default stdout)."),
) -> None:
    """Enrich articles offline (no Kafka, no Elasticsearch): the agent's own code.

    Input lines (UTF-8): {"id", "text", optional "title", "url", "summary",
    "authors", "published_at", "tags", "source", "publisher", "provenance"}.
    Output lines: the enriched article with "entities" and "attributions"
    (character offsets) and its provenance. Bad lines are reported on stderr
    with their line number and skipped; the others are all enriched; exit 2
    at the end if any line failed.
    """
    from pipeline.enrich.article import Enricher, enrich_lines

    with err.status("loading the spaCy model…"):
        enricher = Enricher(model=load_settings().spacy_model)
    lines = _Lines(input)
    for result in enrich_lines(enricher, lines):
        n = lines.pending.popleft()
        if isinstance(result, Exception):
            lines.report(n, result)
        else:
            output.write(result.model_dump_json() + "\n")
    output.flush()
    if lines.failures:
        raise typer.Exit(2)


EXTRACT_MAX_BYTES = 10 * 1024 * 1024  # the connectors' fetch limit (connectors.http.Limits)


def _read_page(file: str, max_bytes: int) -> bytes:
    """The page's bytes, or exit 2 saying why (unreadable, over ``max_bytes``)."""
    try:
        if file == "-":
            data = sys.stdin.buffer.read(max_bytes + 1)
        else:
            with open(file, "rb") as f:
                data = f.read(max_bytes + 1)
    except OSError as exc:
        err.print(f"[red]error:[/red] cannot read {escape(file)}: {escape(str(exc))}")
        raise typer.Exit(2) from None
    if len(data) > max_bytes:
        name = "stdin" if file == "-" else file
        err.print(f"[red]error:[/red] {escape(name)} is over the limit of {max_bytes:,} bytes; "
                  "raise it with --max-bytes N")
        raise typer.Exit(2)
    return data


def _show(text: str, style: str | None = None) -> None:
    """Print page text as it is ("[/bold]", ":fire:"): no markup, emoji codes or wrapping."""
    out.print(text, style=style, markup=False, emoji=False, soft_wrap=True)


@app.command()
def extract(
    file: str = typer.Argument(..., help="An HTML file ('-' for stdin)."),
    url: str | None = typer.Option(None, "--url", help="The page's URL (helps metadata)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    max_bytes: int = typer.Option(EXTRACT_MAX_BYTES, "--max-bytes", min=1,
                                  help="Refuse larger pages (exit 2)."),
) -> None:
    """Extract article text and metadata from a saved page, offline (trafilatura).

    A page over --max-bytes (default 10 MiB, the connectors' fetch limit) is
    refused with exit 2 before any work; exit 1 when it has no article text.
    """
    from connectors.errors import ParseError
    from connectors.extract import extract_article

    data = _read_page(file, max_bytes)
    try:
        art = extract_article(data, url=url)
    except ParseError as exc:
        err.print(f"[red]error:[/red] {escape(exc.reason)}")
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(art.as_dict(), indent=2, ensure_ascii=False))
        return
    published = art.published_at.isoformat() if art.published_at else "-"
    _show(art.title or "(no title)", "bold")
    _show(f"authors: {', '.join(art.authors) or '-'}   published: {published}\n", "dim")
    _show(art.text)

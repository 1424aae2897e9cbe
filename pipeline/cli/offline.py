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

    Input lines (UTF-8): {"id", "text", optional "title", "url", "summary", "authors",
    "published_at", "tags", "source", "publisher", "provenance"}. Output lines: the
    enriched article with "entities" and "attributions" (character offsets) and its
    provenance. Bad lines are reported on stderr with their line number and skipped;
    the others are all enriched; exit 2 at the end if any line failed.
    """
    from pipeline.enrich.article import Enricher, enrich_lines

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


def _show(text: str, style: str | None = None) -> None:
    """Print page text as it is ("[/bold]", ":fire:"): no markup, emoji codes or wrapping."""
    out.print(text, style=style, markup=False, emoji=False, soft_wrap=True)


@app.command()
def extract(
    file: str = typer.Argument(..., help="An HTML file ('-' for stdin)."),
    url: str | None = typer.Option(None, "--url", help="The page's URL (helps metadata)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Extract article text and metadata from a saved page, offline (trafilatura)."""
    from connectors.errors import ParseError
    from connectors.extract import extract_article

    try:
        data = sys.stdin.buffer.read() if file == "-" else open(file, "rb").read()  # noqa: SIM115
    except OSError as exc:
        err.print(f"[red]error:[/red] cannot read {escape(file)}: {escape(str(exc))}")
        raise typer.Exit(2) from None
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

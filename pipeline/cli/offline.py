"""``newsflow enrich`` and ``extract``: the pipeline's own code on files, no services."""

from __future__ import annotations

import json
import sys

import typer

from pipeline.cli.app import app, err, load_settings, out


@app.command()
def enrich(
    input: typer.FileText = typer.Option("-", "--input", "-i",
                                         help="JSON Lines in (default stdin)."),
    output: typer.FileTextWrite = typer.Option("-", "--output", "-o",
                                               help="JSON Lines out (default stdout)."),
) -> None:
    """Enrich articles offline (no Kafka, no Elasticsearch): the agent's own code.

    Input lines: {"id", "text", optional "title", "url", "source"}. Output lines:
    the enriched article with "entities" and "attributions" (character offsets).
    Lines that fail are reported on stderr with their line number; exit 2 if any did.
    """
    from pipeline.enrich.article import Enricher, enrich_lines

    enricher = Enricher(model=load_settings().spacy_model)
    failures = 0

    def lines():  # type: ignore[no-untyped-def]
        nonlocal failures
        for n, line in enumerate(input, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                if not isinstance(item, dict):
                    raise ValueError("not a JSON object")
                yield item
            except ValueError as exc:
                failures += 1
                err.print(f"line {n}: {exc}")

    for result in enrich_lines(enricher, lines()):
        if isinstance(result, Exception):
            failures += 1
            err.print(f"[red]error:[/red] {result}")
            continue
        output.write(result.model_dump_json() + "\n")
    output.flush()
    if failures:
        raise typer.Exit(2)


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
        err.print(f"[red]error:[/red] cannot read {file}: {exc}")
        raise typer.Exit(2) from None
    try:
        art = extract_article(data, url=url)
    except ParseError as exc:
        err.print(f"[red]error:[/red] {exc.reason}")
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(art.as_dict(), indent=2, ensure_ascii=False))
        return
    out.print(f"[bold]{art.title or '(no title)'}[/bold]")
    out.print(f"[dim]authors: {', '.join(art.authors) or '-'}   published: "
              f"{art.published_at.isoformat() if art.published_at else '-'}[/dim]\n")
    out.print(art.text)

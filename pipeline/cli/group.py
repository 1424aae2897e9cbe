"""``newsflow group``: stories and quote groups of enriched articles, offline."""

from __future__ import annotations

import json

import typer
from rich.markup import escape

from pipeline.cli.app import app, err


@app.command()
def group(
    input: typer.FileBinaryRead = typer.Option("-", "--input", "-i",
                                               help="`newsflow enrich` output (default stdin)."),
    output: typer.FileTextWrite = typer.Option("-", "--output", "-o",
                                               help="JSON Lines out (default stdout)."),
    quote_groups: typer.FileTextWrite | None = typer.Option(
        None, "--quote-groups", help="Also write the quote groups, one JSON line each."),
) -> None:
    """Group enriched articles offline, in arrival order: the agent's own code.

    One output line per article: {"id", "story", "copy_of", "similarity",
    "quotes": [{"index", "group"}]}: "story" is the id of the first article of its
    story, "copy_of" the earliest article it copies (wire copies: a new headline,
    dateline or credit, cuts, copy-edits); "index" is the position in the article's
    "attributions" and "group" the id of its quote group (the same words however
    and by whomever they were reported). Bad lines are reported on stderr with
    their line number and skipped; exit 2 at the end if any line failed.
    """
    from pipeline.core.contracts import EnrichedArticle
    from pipeline.core.errors import ContractError
    from pipeline.group.copies import StoryIndex
    from pipeline.group.grouper import Grouper

    grouper = Grouper(stories=StoryIndex())  # the stories agent's copy detection
    failures = 0
    for n, raw in enumerate(input, 1):
        if not raw.strip():
            continue
        try:
            article = EnrichedArticle.from_bytes(raw)
        except ContractError as exc:
            failures += 1
            err.print(f"[red]line {n}:[/red] {escape(str(exc))}")
            continue
        output.write(json.dumps(grouper.add(article).to_json(), ensure_ascii=False) + "\n")
    output.flush()
    if quote_groups is not None:
        for g in sorted(grouper.quotes.store.groups(), key=lambda g: g.founded):
            doc = g.to_doc()
            doc.pop("state")
            quote_groups.write(json.dumps(doc, ensure_ascii=False) + "\n")
        quote_groups.flush()
    if failures:
        raise typer.Exit(2)

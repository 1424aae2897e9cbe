"""``newsflow group``: stories and quote groups of enriched articles, offline."""

from __future__ import annotations

import json
from collections.abc import Callable

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
    hot_window: str | None = typer.Option(
        None, "--hot-window", help="Event time kept in memory, e.g. 7d, 36h, off "
        "(default NEWSFLOW_HOT_WINDOW, 7d); older articles are looked up in --state."),
    state: str = typer.Option(":memory:", "--state", help="SQLite file of the durable story "
                              "state (default: in memory, gone at exit)."),
    retention: str | None = typer.Option(
        None, "--retention", help="Event time the durable story state keeps, e.g. 365d, off "
        "(default NEWSFLOW_STORIES_RETENTION, unbounded); pruned every 10,000 articles."),
) -> None:
    """Group enriched articles offline, in arrival order: the agent's own code.

    One output line per article: {"id", "story", "copy_of", "similarity",
    "quotes": [{"index", "group"}]}: "story" is the id of the first article of its
    story, "copy_of" the earliest article it copies (wire copies: a new headline,
    dateline or credit, cuts, copy-edits); "index" is the position in the article's
    "attributions" and "group" the id of its quote group (the same words however
    and by whomever they were reported). Bad lines are reported on stderr with
    their line number and skipped; exit 2 at the end if any line failed.

    The story state is the agent's: a hot window of event time in memory, every
    article in a durable store (--state) where copies of older ones are found.
    """
    from pipeline.core.contracts import EnrichedArticle
    from pipeline.core.durations import seconds
    from pipeline.core.errors import ConfigError, ContractError
    from pipeline.core.settings import Settings
    from pipeline.group.copies import StoryIndex
    from pipeline.group.durable import PRUNE_EVERY, SqliteState, retention_cutoff
    from pipeline.group.grouper import Grouper

    def duration(option: str, value: str | None, setting: Callable[[Settings], float]
                 ) -> float:
        """The option's seconds, else the setting's; a bad value exits 2 naming it."""
        try:
            return seconds(value) if value is not None else setting(Settings.from_env())
        except ConfigError as exc:
            err.print(f"[red]error:[/red] {option}: {escape(str(exc))}")
            raise typer.Exit(2) from None

    window = duration("--hot-window", hot_window, lambda s: s.hot_window)
    keep = duration("--retention", retention, lambda s: s.stories_retention)
    store = SqliteState(state)
    index = StoryIndex(window=window or None, durable=store)  # the stories agent's code
    grouper = Grouper(stories=index)
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
        result = grouper.add(article)
        if article.id in index:
            store.write([index.record(article.id)])
        cutoff = retention_cutoff(clock=index.hot.clock, keep=keep)
        if n % PRUNE_EVERY == 0 and cutoff is not None:
            store.prune(before=cutoff)  # as the stories agent does
        output.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
    output.flush()
    if quote_groups is not None:
        for g in sorted(grouper.quotes.store.groups(), key=lambda g: g.founded):
            doc = g.to_doc()
            doc.pop("state")
            quote_groups.write(json.dumps(doc, ensure_ascii=False) + "\n")
        quote_groups.flush()
    if failures:
        raise typer.Exit(2)

"""The ``newsflow`` command line. Run ``newsflow --help``."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.table import Table

from pipeline.core.errors import NewsflowError
from pipeline.core.settings import Settings

app = typer.Typer(help="newsflow: streaming news ingestion, enrichment and search.",
                  no_args_is_help=True, add_completion=False)
stack_app = typer.Typer(help="The local Kafka + Elasticsearch stack (no Docker).",
                        no_args_is_help=True)
app.add_typer(stack_app, name="stack")
err = Console(stderr=True)
out = Console()


def _settings() -> Settings:
    return Settings.from_env()


def _fail(exc: NewsflowError, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(code)


@stack_app.command("up")
def stack_up() -> None:
    """Download (once), start and health-check Kafka and Elasticsearch."""
    from pipeline.ops import stack

    try:
        stack.up(_settings(), say=lambda m: err.print(f"[cyan]stack:[/cyan] {m}"))
    except NewsflowError as exc:
        _fail(exc)


@stack_app.command("down")
def stack_down() -> None:
    """Stop the local Kafka and Elasticsearch."""
    from pipeline.ops import stack

    stack.down(_settings(), say=lambda m: err.print(f"[cyan]stack:[/cyan] {m}"))


@stack_app.command("status")
def stack_status(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show whether each service runs and is healthy (exit 1 when one is not)."""
    from pipeline.ops import stack

    rows = stack.status(_settings())
    if as_json:
        print(json.dumps([r.__dict__ for r in rows], indent=2))
    else:
        table = Table("service", "address", "pid", "healthy")
        for r in rows:
            table.add_row(r.name, r.address, str(r.pid or "-"),
                          "[green]yes[/green]" if r.healthy else "[red]no[/red]")
        out.print(table)
    if not all(r.healthy for r in rows):
        raise typer.Exit(1)


@app.command()
def status(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    state: str | None = typer.Option(None, "--state", help="Connector state file."),
) -> None:
    """Stack health, topics and consumer lag, dead letters, sources, index size.

    Exit 0 when Kafka and Elasticsearch are healthy, 1 otherwise.
    """
    from pathlib import Path

    from pipeline.ops.status import collect

    settings = _settings()
    report = collect(settings, state_path=Path(state) if state else None)
    if as_json:
        print(json.dumps(report, indent=2, default=str))
    else:
        table = Table("service", "address", "healthy")
        for s in report["services"]:
            table.add_row(s["name"], s["address"],
                          "[green]yes[/green]" if s["healthy"] else "[red]no[/red]")
        out.print(table)
        topics = Table("topic", "partitions", "messages", "consumer lag")
        for name, t in report.get("topics", {}).items():
            if isinstance(t, dict) and t.get("exists"):
                lag = "-" if t["consumer_lag"] is None else str(t["consumer_lag"])
                topics.add_row(name, str(t["partitions"]), str(t["messages"]), lag)
            else:
                topics.add_row(str(name), "-", "-", str(t))
        out.print(topics)
        idx = report.get("index", {})
        out.print(f"index: {idx.get('alias')} -> {', '.join(idx.get('indices', [])) or '-'}, "
                  f"{idx.get('documents', '-')} documents")
        if report["sources"]:
            src = Table("source", "last success", "failures", "seen", "new", "last error")
            for h in report["sources"]:
                src.add_row(h["source"] + (" [red](disabled)[/red]" if h["disabled"] else ""),
                            str(h["last_success"] or "-"), str(h["consecutive_failures"]),
                            str(h["items_seen"]), str(h["items_new"]),
                            (h["last_error"] or "")[:60])
            out.print(src)
    if not report["healthy"]:
        raise typer.Exit(1)


@app.command()
def setup(
    kibana: bool = typer.Option(True, help="Import Kibana objects when NEWSFLOW_KIBANA_URL "
                                "is set."),
    security_only: bool = typer.Option(False, "--security-only", help="Only set the "
                                       "kibana_system password and create the newsflow role "
                                       "and user, as the superuser (secure compose profile)."),
) -> None:
    """Create topics, the index template, index and alias (and Kibana objects)."""
    from pipeline.index.mapping import ensure_index
    from pipeline.ops.security import setup_security
    from pipeline.stream import topics

    settings = _settings()
    if security_only:
        try:
            err.print(setup_security(settings))
        except NewsflowError as exc:
            _fail(exc)
        return
    try:
        created = topics.ensure_topics(settings)
        err.print(f"topics: {', '.join(settings.topics)} (created: {', '.join(created) or 'none'})")
        err.print(f"index: {ensure_index(settings)} behind alias {settings.index_alias}")
        if kibana and settings.kibana_url:
            from pipeline.ops.kibana import import_saved_objects

            err.print(f"kibana: {import_saved_objects(settings)}")
    except NewsflowError as exc:
        _fail(exc)


@app.command()
def search(
    query: str = typer.Argument("", help="Words to search in title and text."),
    entity: str | None = typer.Option(None, "--entity", help="Canonical entity name."),
    type_: str | None = typer.Option(None, "--type", help="Entity label: PERSON, ORG, GPE, "
                                     "OUTLET, NORP..."),
    source: str | None = typer.Option(None, "--source", help="Attributed source."),
    said_by: str | None = typer.Option(None, "--said-by", help="Who said it (canonical)."),
    publisher: str | None = typer.Option(None, "--publisher"),
    since: str | None = typer.Option(None, "--since", help="Published on or after (ISO date)."),
    until: str | None = typer.Option(None, "--until", help="Published on or before."),
    lang: str | None = typer.Option(None, "--lang", help="ISO 639-1 language code."),
    limit: int = typer.Option(10, "--limit", min=0, max=1000),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Search articles; exit 0 with hits, 3 with none, 1 on error."""
    from pipeline.search.query import SearchRequest
    from pipeline.search.query import search as run_search
    from pipeline.search.query.render import render

    req = SearchRequest(text=query or None, entity=entity, type=type_, source=source,
                        said_by=said_by, publisher=publisher, since=since, until=until,
                        lang=lang, limit=limit)
    try:
        result = run_search(_settings(), req)
    except Exception as exc:  # noqa: BLE001 - say what went wrong and how to fix it
        err.print(f"[red]error:[/red] search failed: {exc}\n"
                  "Is Elasticsearch up (`newsflow stack up`) and the index created "
                  "(`newsflow setup`)?")
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(result, indent=2, default=str))
    else:
        render(result, out)
    if result["total"] == 0:
        raise typer.Exit(3)


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

    enricher = Enricher(model=_settings().spacy_model)
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
def reindex(
    delete_old: bool = typer.Option(False, "--delete-old", help="Delete the previous index "
                                    "after the alias moved."),
) -> None:
    """Build the next index version from the current mapping and swap the alias atomically."""
    from pipeline.index.mapping import client
    from pipeline.index.mapping import reindex as run_reindex

    settings = _settings()
    es = client(settings)
    try:
        old, new, copied = run_reindex(settings, es)
        err.print(f"copied {copied} documents {old} -> {new}; alias {settings.index_alias} "
                  f"-> {new}")
        if delete_old:
            es.indices.delete(index=old)
            err.print(f"deleted {old}")
    except NewsflowError as exc:
        _fail(exc)
    finally:
        es.close()


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


@app.command()
def worker(
    processes: int = typer.Option(1, "--processes", "-p", min=1,
                                  help="Worker processes (one per core is a good start)."),
    loglevel: str = typer.Option("info", "--loglevel", "-l"),
) -> None:
    """Run the Faust worker(s): enrich raw articles and index enriched ones."""
    from pipeline.stream.workers import run_workers

    raise typer.Exit(run_workers(_settings(), processes=processes, loglevel=loglevel))


@app.command()
def connect(
    config: str = typer.Option(..., "--config", "-c", help="Sources YAML file."),
    once: bool = typer.Option(False, "--once", help="One pass over every source, then exit."),
    state: str | None = typer.Option(None, "--state", help="State file (default: "
                                     "$NEWSFLOW_HOME/state/connectors.sqlite)."),
    enable: str | None = typer.Option(None, "--enable", help="Re-enable a disabled source."),
    as_json: bool = typer.Option(False, "--json", help="Print each pass result as JSON."),
) -> None:
    """Run the connectors of a sources file and produce their articles to Kafka."""
    from pipeline.ops.connect import run_connect

    try:
        code = run_connect(_settings(), config=config, once=once, state_path=state,
                           enable=enable, as_json=as_json, console=err)
    except NewsflowError as exc:
        _fail(exc, 2)
    raise typer.Exit(code)


@app.command()
def demo(
    keep_worker: bool = typer.Option(False, help="Leave the worker running afterwards."),
) -> None:
    """Bring the stack up, ingest the bundled sample corpus, show example searches."""
    from pipeline.ops.demo import run_demo

    try:
        raise typer.Exit(run_demo(_settings(), console=out, keep_worker=keep_worker))
    except NewsflowError as exc:
        _fail(exc)


def main() -> None:
    try:
        app()
    except NewsflowError as exc:
        err.print(f"[red]error:[/red] {exc}")
        sys.exit(1)


if __name__ == "__main__":
    main()

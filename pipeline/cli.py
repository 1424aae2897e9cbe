"""The ``newsflow`` command line. Run ``newsflow --help``."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.table import Table

from pipeline.config import Settings
from pipeline.errors import NewsflowError

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
    from pipeline import stack

    try:
        stack.up(_settings(), say=lambda m: err.print(f"[cyan]stack:[/cyan] {m}"))
    except NewsflowError as exc:
        _fail(exc)


@stack_app.command("down")
def stack_down() -> None:
    """Stop the local Kafka and Elasticsearch."""
    from pipeline import stack

    stack.down(_settings(), say=lambda m: err.print(f"[cyan]stack:[/cyan] {m}"))


@stack_app.command("status")
def stack_status(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show whether each service runs and is healthy (exit 1 when one is not)."""
    from pipeline import stack

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


def main() -> None:
    try:
        app()
    except NewsflowError as exc:
        err.print(f"[red]error:[/red] {exc}")
        sys.exit(1)

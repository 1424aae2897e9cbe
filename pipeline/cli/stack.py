"""``newsflow stack up|down|status``: the local Kafka and Elasticsearch."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from pipeline.cli.app import err, fail, load_settings, out, stack_app
from pipeline.core.errors import NewsflowError


@stack_app.command("up")
def stack_up() -> None:
    """Download (once), start and health-check Kafka and Elasticsearch."""
    from pipeline.ops import stack

    try:
        stack.up(load_settings(), say=lambda m: err.print(f"[cyan]stack:[/cyan] {m}"))
    except NewsflowError as exc:
        fail(exc)


@stack_app.command("down")
def stack_down() -> None:
    """Stop the local Kafka and Elasticsearch."""
    from pipeline.ops import stack

    stack.down(load_settings(), say=lambda m: err.print(f"[cyan]stack:[/cyan] {m}"))


@stack_app.command("status")
def stack_status(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show whether each service runs and is healthy (exit 1 when one is not)."""
    from pipeline.ops import stack

    rows = stack.status(load_settings())
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

"""The ``newsflow`` Typer app and what every command group shares: consoles, settings,
error exits. Commands live in one module per group (``stack``, ``admin``, ``search``,
``offline``, ``run``); :mod:`pipeline.cli.main` assembles them."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from pipeline.core.errors import ConfigError, NewsflowError
from pipeline.core.settings import Settings

app = typer.Typer(help="newsflow: streaming news ingestion, enrichment and search.",
                  no_args_is_help=True, add_completion=False)
stack_app = typer.Typer(help="The local Kafka + Elasticsearch stack (no Docker).",
                        no_args_is_help=True)
app.add_typer(stack_app, name="stack")
err = Console(stderr=True)
out = Console()


def load_settings() -> Settings:
    """The settings of this run, read from the environment; a bad value exits 2."""
    try:
        return Settings.from_env()
    except ConfigError as exc:
        fail(exc, 2)


def fail(exc: NewsflowError, code: int = 1) -> NoReturn:
    """Print ``error: ...`` on stderr and exit with ``code``."""
    err.print(f"[red]error:[/red] {escape(str(exc))}")
    raise typer.Exit(code)

"""The ``newsflow`` Typer app and what every command group shares: consoles, settings,
error exits. Commands live in one module per group (``stack``, ``admin``, ``search``,
``offline``, ``run``); :mod:`pipeline.cli.main` assembles them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NoReturn

import typer
from elasticsearch import BadRequestError, NotFoundError
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


def search_failed(what: str, exc: Exception) -> NoReturn:
    """Exit after a failed query, saying what to check: 2 when Elasticsearch refused the
    query itself (a value too long or malformed), 1 otherwise.

    >>> from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
    >>> meta = ApiResponseMeta(400, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "h", 1))
    >>> refused = BadRequestError("x_content_parse_exception", meta, {})
    >>> try: search_failed("search", refused)
    ... except typer.Exit as e: print(e.exit_code)
    2
    """
    if isinstance(exc, BadRequestError):
        err.print(f"[red]error:[/red] Elasticsearch refused the {what} query (400): "
                  f"{escape(str(exc)[:300])}\nA filter value is probably too long or "
                  "malformed; shorten it or check the option's --help.")
        raise typer.Exit(2)
    hint = ("Create the index: `newsflow setup`." if isinstance(exc, NotFoundError) else
            "Is Elasticsearch up (`newsflow stack up`), the index created (`newsflow "
            "setup`) and a worker running (`newsflow worker`)?")
    err.print(f"[red]error:[/red] {what} failed: {escape(str(exc)[:500])}\n{hint}")
    raise typer.Exit(1)


def emit(result: dict[str, Any], *, as_json: bool,
         render: Callable[[dict[str, Any], Console], None]) -> None:
    """Print a query's result as JSON or rendered; exit 3 when it found nothing (0 else),
    the convention of ``search``, ``quotes`` and ``sources``."""
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    else:
        render(result, out)
    if result["total"] == 0:
        raise typer.Exit(3)

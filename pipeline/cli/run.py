"""``newsflow worker``, ``connect`` and ``demo``: the long-running parts."""

from __future__ import annotations

import typer

from pipeline.cli.app import app, err, fail, load_settings, out
from pipeline.core.errors import NewsflowError


@app.command()
def worker(
    processes: int = typer.Option(1, "--processes", "-p", min=1,
                                  help="Worker processes (one per core is a good start)."),
    loglevel: str = typer.Option("info", "--loglevel", "-l"),
) -> None:
    """Run the Faust worker(s): enrich raw articles and index enriched ones."""
    from pipeline.stream.workers import run_workers

    raise typer.Exit(run_workers(load_settings(), processes=processes, loglevel=loglevel))


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
        code = run_connect(load_settings(), config=config, once=once, state_path=state,
                           enable=enable, as_json=as_json, console=err)
    except NewsflowError as exc:
        fail(exc, 2)
    raise typer.Exit(code)


@app.command()
def demo(
    keep_worker: bool = typer.Option(False, help="Leave the worker running afterwards."),
) -> None:
    """Bring the stack up, ingest the bundled sample corpus, show example searches."""
    from pipeline.ops.demo import run_demo

    try:
        raise typer.Exit(run_demo(load_settings(), console=out, keep_worker=keep_worker))
    except NewsflowError as exc:
        fail(exc)

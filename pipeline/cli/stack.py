"""``newsflow stack up|down|status``: the local Kafka and Elasticsearch."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from pipeline.cli.app import err, fail, load_settings, out, stack_app
from pipeline.core.errors import NewsflowError


@stack_app.command("up")
def stack_up(
    kafka_brokers: int | None = typer.Option(None, "--kafka-brokers", help="Brokers (KRaft, "
                                             "each also a controller of one quorum) on "
                                             "consecutive ports from NEWSFLOW_KAFKA_BOOTSTRAP"
                                             "; default: as this home was made, else 1."),
    es_nodes: int | None = typer.Option(None, "--es-nodes", help="Elasticsearch nodes joined "
                                        "in one cluster, HTTP on consecutive ports from "
                                        "NEWSFLOW_ES_URL; default: as before, else 1."),
) -> None:
    """Download (once), start and health-check Kafka and Elasticsearch.

    ``--kafka-brokers 3 --es-nodes 2`` starts a local cluster from the same artifacts.
    """
    from pipeline.ops import stack
    from pipeline.ops.stack.topology import Topology, saved

    try:
        settings = load_settings()
        before = saved(settings.home) or Topology()
        shape = None if kafka_brokers is None and es_nodes is None else Topology(
            kafka_brokers or before.kafka_brokers, es_nodes or before.es_nodes)
        stack.up(settings, topology=shape,
                 say=lambda m: err.print(f"[cyan]stack:[/cyan] {m}"))
    except NewsflowError as exc:
        fail(exc)


@stack_app.command("down")
def stack_down(
    wipe: bool = typer.Option(False, "--wipe", help="Also delete the stack's data (topics, "
                              "indices, worker state), e.g. to change the topology."),
) -> None:
    """Stop the local Kafka brokers and Elasticsearch nodes."""
    from pipeline.ops import stack

    stack.down(load_settings(), wipe=wipe, say=lambda m: err.print(f"[cyan]stack:[/cyan] {m}"))


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

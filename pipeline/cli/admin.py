"""``newsflow setup``, ``status`` and ``reindex``: set up and look after a running pipeline."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from pipeline.cli.app import app, err, fail, load_settings, out
from pipeline.core.errors import ConfigError, NewsflowError
from pipeline.core.settings import Settings


def _cell(value: object, limit: int | None = None) -> str:
    """A report value as a markup-safe table cell (names and errors are data)."""
    return escape(str(value)[:limit])


def _services_table(report: dict[str, Any]) -> Table:
    table = Table("service", "address", "healthy")
    for s in report["services"]:
        table.add_row(_cell(s["name"]), _cell(s["address"]),
                      "[green]yes[/green]" if s["healthy"] else "[red]no[/red]")
    return table


def _topics_table(report: dict[str, Any]) -> Table:
    topics = Table("topic", "partitions", "copies", "under-replicated", "messages",
                   "consumer lag")
    for name, t in report.get("topics", {}).items():
        if isinstance(t, dict) and t.get("exists"):
            lag = "-" if t["consumer_lag"] is None else str(t["consumer_lag"])
            lagging = t.get("under_replicated", [])
            under = f"[red]{len(lagging)}[/red]" if lagging else "0"
            topics.add_row(_cell(name), str(t["partitions"]), str(t.get("replication", "-")),
                           under,
                           str(t["messages"]), lag)
        else:
            topics.add_row(_cell(name), "-", "-", "-", "-", _cell(t))
    return topics


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def _collecting(h: dict[str, Any]) -> str:
    """"stopped: silent 5.0 h (usual gap 10.0 min)", "ok", or "-" (gap not known yet)."""
    silent, usual = h.get("silent_for"), h.get("usual_gap")
    if h.get("stopped") and silent is not None and usual is not None:
        return f"[red]stopped[/red]: silent {_span(silent)} (usual gap {_span(usual)})"
    return "ok" if usual is not None else "-"


def _cluster_line(report: dict[str, Any]) -> str:
    """``kafka: 3 broker(s); elasticsearch newsflow-local: green, 2 node(s), 0 unassigned``."""
    cluster = report.get("cluster", {})
    if "error" in cluster:
        return f"cluster: {cluster['error']}"
    es = cluster.get("elasticsearch", {})
    return (f"kafka: {cluster.get('kafka_brokers')} broker(s); elasticsearch "
            f"{es.get('cluster_name')}: {es.get('status')}, {es.get('number_of_nodes')} "
            f"node(s), {es.get('unassigned_shards')} unassigned shard(s)")


def _sources_table(report: dict[str, Any]) -> Table:
    src = Table("source", "last success", "failures", "seen", "new", "skipped", "walls",
                "collecting", "last error")
    for h in report["sources"]:
        walls = str(h.get("walls", 0)) + (f" {h['last_wall']}" if h.get("last_wall") else "")
        src.add_row(_cell(h["source"]) + (" [red](disabled)[/red]" if h["disabled"] else ""),
                    _cell(h["last_success"] or "-"), str(h["consecutive_failures"]),
                    str(h["items_seen"]), str(h["items_new"]), str(h.get("items_skipped", 0)),
                    _cell(walls, 50), _collecting(h), _cell(h["last_error"] or "", 60))
    return src


def _print_status(report: dict[str, Any]) -> None:
    """The status report as tables; every name and error in it is escaped (not markup)."""
    out.print(_services_table(report))
    if "cluster" in report:
        out.print(_cluster_line(report), markup=False)
    out.print(_topics_table(report))
    idx = report.get("index", {})
    indices = ", ".join(idx.get("indices", [])) or "-"
    out.print(f"index: {idx.get('alias')} -> {indices}, {idx.get('documents', '-')} documents",
              markup=False)
    quotes = report.get("quotes_index", {})
    if quotes.get("exists"):
        out.print(f"quote groups: {quotes.get('alias')} -> {', '.join(quotes['indices'])}, "
                  f"{quotes.get('documents', '-')} groups", markup=False)
    st = report.get("stories_state", {})
    if st.get("exists"):
        out.print(f"story state: {st['index']}, {st['durable_articles']} articles "
                  f"({st['oldest_event']} .. {st['newest_event']}), watermark offset "
                  f"{st['watermark_offset']}; hot window {st['hot_window']}: "
                  f"{st['hot_articles']} articles, ~{st['hot_bytes_estimate'] / 2**20:.1f} MiB;"
                  f" retention {st['retention']}", markup=False)
    qs = report.get("quotes_state", {})
    if qs.get("exists"):
        out.print(f"quote state: {qs['index']}, {qs['durable_groups']} groups (last reports "
                  f"{qs['oldest_event']} .. {qs['newest_event']}, age {qs['age'] or '-'}); "
                  f"hot window {qs['hot_window']}: {qs['hot_groups']} groups, "
                  f"~{qs['hot_bytes_estimate'] / 2**20:.1f} MiB; retention {qs['retention']}",
                  markup=False)
    if report["sources"]:
        out.print(_sources_table(report))


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

    settings = load_settings()
    report = collect(settings, state_path=Path(state) if state else None)
    if as_json:
        print(json.dumps(report, indent=2, default=str))
    else:
        _print_status(report)
    if not report["healthy"]:
        raise typer.Exit(1)


@app.command()
def setup(
    kibana: bool = typer.Option(True, help="Import Kibana objects when NEWSFLOW_KIBANA_URL "
                                "is set."),
    security_only: bool = typer.Option(False, "--security-only", help="Only set the "
                                       "kibana_system password and create the newsflow roles "
                                       "and users (setup, worker), as the superuser (secure "
                                       "compose profile)."),
    repair: bool = typer.Option(False, "--repair", help="When a plain index holds an "
                                "alias's name (written to after its index was deleted), "
                                "move its documents into the versioned index and make the "
                                "name an alias again."),
    kafka_acls: str | None = typer.Option(None, "--kafka-acls", metavar="CONNECTOR,WORKER",
                                          help="Also create the Kafka ACLs of the connector "
                                          "and worker users (as a super user of a broker "
                                          "with an authorizer)."),
) -> None:
    """Create topics, the index template, index and alias (and Kibana objects)."""
    from pipeline.index.mapping import ensure_index
    from pipeline.ops.security import setup_security
    from pipeline.stream import topics

    settings = load_settings()
    if security_only:
        try:
            err.print(setup_security(settings))
        except NewsflowError as exc:
            fail(exc)
        return
    try:
        replication = _check_cluster(settings)
        created = topics.ensure_topics(settings, replication=replication)
        err.print(f"topics: {', '.join(settings.topics)} (created: {', '.join(created) or 'none'})")
        err.print(f"index: {ensure_index(settings, repair=repair)} behind alias "
                  f"{settings.index_alias}")
        from pipeline.index.quotes_mapping import ensure_quotes_index

        err.print(f"quotes index: {ensure_quotes_index(settings, repair=repair)} behind alias "
                  f"{settings.quotes_index_alias}")
        from pipeline.stream.storystate import StoryState

        state = StoryState(settings)
        state.create()
        state.client().close()
        err.print(f"story state index: {state.name}", markup=False)
        _apply_index_replicas(settings)
        if kafka_acls:
            _apply_kafka_acls(settings, kafka_acls)
        if kibana and settings.kibana_url:
            from pipeline.ops.kibana import import_saved_objects

            err.print(f"kibana: {import_saved_objects(settings)}")
    except NewsflowError as exc:
        fail(exc)


def _check_cluster(settings: Settings) -> tuple[int, int]:
    """Refuse settings the cluster cannot hold; say the weak ones. Returns the topics'
    (replication factor, min.insync.replicas)."""
    from pipeline.ops.cluster import check

    cluster, found = check(settings)
    err.print(f"cluster: {cluster.describe()}", markup=False)
    for warning in found.warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    if found.errors:
        raise ConfigError("the cluster cannot hold these settings: " + "; ".join(found.errors))
    return cluster.replication, cluster.min_insync


def _apply_kafka_acls(settings: Settings, users: str) -> None:
    from pipeline.ops.kafka_acls import apply_acls

    connector, _, worker = users.partition(",")
    if not (connector and worker):
        raise ConfigError("--kafka-acls takes the two user names: CONNECTOR,WORKER")
    count = apply_acls(settings, connector=connector, worker=worker)
    err.print(f"kafka acls: {count} for {connector} (connector) and {worker} (worker)",
              markup=False)


def _apply_index_replicas(settings: Settings) -> None:
    from pipeline.index.mapping import client
    from pipeline.index.replicas import ensure_replicas

    es = client(settings)
    try:
        updated = ensure_replicas(settings, es)
    finally:
        es.close()
    err.print(f"index replicas: {settings.index_replicas} on {', '.join(updated) or '-'}",
              markup=False)


@app.command()
def reindex(
    delete_old: bool = typer.Option(False, "--delete-old", help="Delete the previous index "
                                    "after the alias moved."),
) -> None:
    """Build the next index version from the current mapping and swap the alias atomically.

    Writes to the old index are blocked while it is copied (the worker waits and retries
    into the new one), so ``--delete-old`` loses nothing.
    """
    from pipeline.index.mapping import client
    from pipeline.index.mapping import reindex as run_reindex

    settings = load_settings()
    es = client(settings)
    try:
        old, new, copied = run_reindex(settings, es)
        err.print(f"copied {copied} documents {old} -> {new}; alias {settings.index_alias} "
                  f"-> {new}")
        if delete_old:
            es.indices.delete(index=old)
            err.print(f"deleted {old}")
    except NewsflowError as exc:
        fail(exc)
    finally:
        es.close()

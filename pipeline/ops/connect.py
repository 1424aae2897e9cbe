"""``newsflow connect``: run a sources file through the connector runner."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from pathlib import Path

from rich.console import Console

from connectors.runner import PassResult, Runner
from connectors.sources import load_sources
from connectors.state import StateStore
from pipeline.core.settings import Settings


def default_state_path(settings: Settings) -> Path:
    return settings.home / "state" / "connectors.sqlite"


def run_connect(settings: Settings, *, config: str, once: bool, state_path: str | None,
                enable: str | None, as_json: bool, console: Console) -> int:
    """Exit code: 0 all sources fine, 1 when a source failed in a ``--once`` pass."""
    from pipeline.core import logs

    logs.setup(json_lines=settings.json_logs)
    sources = load_sources(config)  # validated before anything starts
    from pipeline.core.metrics import serve

    serve(settings.metrics_port)
    store = StateStore(state_path or default_state_path(settings))
    if enable:
        health = store.health(enable)
        health.disabled, health.consecutive_failures = False, 0
        store.save_health(health)
        console.print(f"source '{enable}' enabled")

    def report(r: PassResult) -> None:
        if as_json:
            print(json.dumps(asdict(r)), flush=True)
        elif r.failed:
            console.print(f"[red]✗[/red] {r.source}: {r.failed}")
        else:
            console.print(f"[green]✓[/green] {r.source}: {r.seen} seen, {r.new} new, "
                          f"{r.changed} changed, {len(r.errors)} item error(s)")

    runner = Runner(sources, settings=settings, state=store, on_result=report)
    try:
        results = asyncio.run(runner.run(once=once))
    except KeyboardInterrupt:
        return 130
    finally:
        runner.close()
    return 1 if any(r.failed for r in results) else 0

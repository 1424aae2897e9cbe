"""``newsflow kibana export``: the saved objects for the current settings as NDJSON."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from pipeline.cli.app import app, err, load_settings

kibana_app = typer.Typer(help="Kibana saved objects (data views, panels, map, dashboards).",
                         no_args_is_help=True)
app.add_typer(kibana_app, name="kibana")


@kibana_app.command("export")
def export(
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file "
                                       "(default: standard output)."),
) -> None:
    """Write the saved objects for NEWSFLOW_INDEX (and its quotes alias) as NDJSON, for
    Kibana → Stack Management → Saved objects → Import.

        newsflow kibana export --output newsflow.ndjson
    """
    from pipeline.ops.kibana import ndjson, saved_objects

    settings = load_settings()
    text = ndjson(settings)
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    err.print(f"kibana: {len(saved_objects(settings))} saved objects for "
              f"{settings.index_alias} and {settings.quotes_index_alias} -> {output}")

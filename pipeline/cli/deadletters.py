"""``newsflow deadletters list`` and ``replay``: see and re-ingest dead-lettered messages."""

from __future__ import annotations

import json
from datetime import datetime
from typing import get_args

import typer
from rich.table import Table

from pipeline.cli.app import app, err, fail, load_settings, out
from pipeline.core.contracts import DeadLetterStage
from pipeline.core.errors import ConfigError, NewsflowError

deadletters_app = typer.Typer(help="The dead-letter topic: list letters, replay their "
                              "original messages.", no_args_is_help=True)
app.add_typer(deadletters_app, name="deadletters")
STAGES = get_args(DeadLetterStage)
STAGE = typer.Option(None, "--stage", help=f"Only this stage: {', '.join(STAGES)}.")
SINCE = typer.Option(None, "--since", help="Only letters written since: 30m, 2h, 7d or an ISO "
                     "time.")


def _stage(stage: str | None) -> str | None:
    if stage is not None and stage not in STAGES:
        fail(ConfigError(f"--stage {stage!r}: no such stage; give one of {', '.join(STAGES)}"),
             2)
    return stage


def _since(text: str | None) -> datetime | None:
    from pipeline.ops.deadletters import parse_since

    try:
        return parse_since(text) if text else None
    except ConfigError as exc:
        fail(exc, 2)


@deadletters_app.command("list")
def list_letters(stage: str | None = STAGE, since: str | None = SINCE,
                 as_json: bool = typer.Option(False, "--json", help="Print JSON lines.")
                 ) -> None:
    """List dead letters (oldest first): stage, reason, origin, size, replayable."""
    from pipeline.ops.deadletters import read, why_not

    settings = load_settings()
    try:
        letters = read(settings, stage=_stage(stage), since=_since(since))
    except NewsflowError as exc:
        fail(exc)
    if as_json:
        for s in letters:
            data = s.letter.model_dump(mode="json", exclude={"payload_b64"})
            data.update(dlq_partition=s.partition, dlq_offset=s.offset,
                        replayable=why_not(settings, s.letter) is None)
            print(json.dumps(data))
        return
    table = Table("offset", "at", "stage", "error", "article", "origin", "bytes", "replay")
    for s in letters:
        x = s.letter
        table.add_row(str(s.offset), x.at.isoformat(timespec="seconds"), x.stage,
                      f"{x.error_type}: {x.error}"[:70], (x.article_id or "-")[:12],
                      f"{x.topic}[{x.partition}]@{x.offset}", f"{x.payload_size:,}",
                      "yes" if why_not(settings, x) is None else "no")
    out.print(table)
    err.print(f"{len(letters)} letters in {settings.dead_letter_topic}")


@deadletters_app.command()
def replay(stage: str | None = STAGE, since: str | None = SINCE,
           as_json: bool = typer.Option(False, "--json", help="Print one JSON line per "
                                        "letter replayed or skipped.")) -> None:
    """Produce the original messages again to the topic they came from (raw, stories,
    assigned, enriched or quotes), each with a ``newsflow-replay`` header saying which
    letter it is.

    Truncated letters are skipped; a message dead-lettered more than once is replayed once.
    """
    from pipeline.ops.deadletters import read
    from pipeline.ops.deadletters import replay as run_replay

    settings = load_settings()
    try:
        result = run_replay(settings, read(settings, stage=_stage(stage), since=_since(since)))
    except NewsflowError as exc:
        fail(exc)
    for done in result.replayed:
        if as_json:
            print(json.dumps({"replayed": True, **done.record()}))
        else:
            x = done.stored.letter
            err.print(f"replayed letter at offset {done.stored.offset} ({x.stage}, "
                      f"{x.topic}[{x.partition}]@{x.offset}) -> "
                      f"{done.topic}[{done.partition}]@{done.offset}")
    for stored, reason in result.skipped:
        if as_json:
            print(json.dumps({"replayed": False, "dlq_partition": stored.partition,
                              "dlq_offset": stored.offset, "stage": stored.letter.stage,
                              "reason": reason}))
        else:
            err.print(f"skipped letter at offset {stored.offset}: {reason}")
    err.print(f"replayed {len(result.replayed)} messages, skipped {len(result.skipped)}")

"""The ``newsflow`` command line. Run ``newsflow --help``."""

from __future__ import annotations

import sys

from rich.markup import escape

from pipeline.cli import (  # noqa: F401 - importing a command module registers it
    admin,
    deadletters,
    discover,
    group,
    kibana,
    offline,
    quotes,
    run,
    search,
    stack,
)
from pipeline.cli.app import app, err
from pipeline.core.errors import NewsflowError


def main() -> None:
    try:
        app()
    except NewsflowError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        sys.exit(1)


if __name__ == "__main__":
    main()

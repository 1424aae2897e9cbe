"""The ``newsflow`` command line. Run ``newsflow --help``."""

from __future__ import annotations

import sys

from pipeline.cli import admin, deadletters, offline, run, search, stack  # noqa: F401 - they register
from pipeline.cli.app import app, err
from pipeline.core.errors import NewsflowError


def main() -> None:
    try:
        app()
    except NewsflowError as exc:
        err.print(f"[red]error:[/red] {exc}")
        sys.exit(1)


if __name__ == "__main__":
    main()

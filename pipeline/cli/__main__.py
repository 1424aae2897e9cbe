"""``python -m pipeline.cli``: the same as the ``newsflow`` command."""

from pipeline.cli.main import main

main()

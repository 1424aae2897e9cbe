"""The ``newsflow`` command line, one module per command group. Run ``newsflow --help``."""

"""The shared kernel: settings, errors, message contracts, metrics and logging.

Every other part of newsflow (the connectors included) builds on these modules; they
import nothing else of ``pipeline`` and nothing of ``connectors`` (import-linter checks it).
"""

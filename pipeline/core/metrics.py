"""Prometheus metrics of the worker, the indexer and the connectors.

Each process serves them on ``Settings.metrics_port`` (``NEWSFLOW_METRICS_PORT``;
0 = off) at ``/metrics``.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

MESSAGES_IN = Counter("newsflow_messages_in_total", "Messages consumed", ["stage"])
MESSAGES_OUT = Counter("newsflow_messages_out_total", "Messages produced or indexed", ["stage"])
ERRORS = Counter("newsflow_errors_total", "Messages that failed", ["stage", "error_type"])
DEAD_LETTERS = Counter("newsflow_dead_letters_total", "Messages sent to the dead-letter topic",
                       ["stage"])
BATCH_SECONDS = Histogram("newsflow_batch_seconds", "Time to process one batch", ["stage"],
                          buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60))
BACKPRESSURE = Gauge("newsflow_backpressure", "1 while a stage waits on a slow service",
                     ["stage"])
SOURCE_ITEMS = Counter("newsflow_source_items_total", "Items seen per source", ["source",
                                                                                "status"])
SOURCE_FAILURES = Gauge("newsflow_source_consecutive_failures",
                        "Consecutive failures per source", ["source"])
SOURCE_STOPPED = Gauge("newsflow_source_stopped", "1 while a source has given no new item "
                       "for alarm_gaps times its usual gap (at least alarm_floor s)",
                       ["source"])
SOURCE_SILENT = Gauge("newsflow_source_seconds_since_new_item",
                      "Seconds since the source's last new item, at its last pass",
                      ["source"])


def serve(port: int) -> int:
    """Start the /metrics endpoint on ``port`` (0: none); return the port."""
    if port:
        start_http_server(port)
    return port

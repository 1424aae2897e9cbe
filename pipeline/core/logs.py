"""Logging: plain text for people, JSON lines for machines (``NEWSFLOW_LOG_FORMAT=json``).

    >>> import logging, json
    >>> record = logging.LogRecord("newsflow.x", logging.INFO, "f", 1, "hello %s", ("you",), None)
    >>> json.loads(JsonFormatter().format(record))["message"]
    'hello you'
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

QUIET = ("kafka", "httpx", "elastic_transport", "aiokafka")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and any exception."""

    def format(self, record: logging.LogRecord) -> str:
        data = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(),
                "level": record.levelname, "logger": record.name,
                "message": record.getMessage(), "process": record.process}
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def setup(*, json_lines: bool, level: int = logging.INFO) -> None:
    """Configure the root logger for a newsflow command (``Settings.json_logs``)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)

"""The connectors' persistent state: seen articles, source health, connector state.

A local SQLite file (one per runner), chosen over a compacted Kafka topic
because a runner is one process and must decide "new / changed / unchanged"
before producing, without reading a topic back on every start.

    >>> store = StateStore(":memory:")
    >>> store.classify("https://e.org/a", "h1")
    ('new', 1)
    >>> store.mark_sent("https://e.org/a", "h1", 1)
    >>> store.classify("https://e.org/a", "h1")
    ('unchanged', 1)
    >>> store.classify("https://e.org/a", "h2")
    ('changed', 2)
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
create table if not exists seen (canonical_url text primary key, content_hash text not null,
  version integer not null, first_seen real not null, last_sent real not null);
create table if not exists health (source text primary key, data text not null);
create table if not exists conn_state (source text primary key, data text not null);
"""


@dataclass
class Health:
    source: str
    connector: str = ""
    last_success: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    consecutive_failures: int = 0
    items_seen: int = 0
    items_new: int = 0
    items_changed: int = 0
    item_errors: int = 0
    disabled: bool = False


class StateStore:
    def __init__(self, path: str | Path) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path))
        self.db.executescript(SCHEMA)

    def classify(self, canonical_url: str, content_hash: str) -> tuple[str, int]:
        row = self.db.execute("select content_hash, version from seen where canonical_url=?",
                              (canonical_url,)).fetchone()
        if row is None:
            return "new", 1
        if row[0] == content_hash:
            return "unchanged", int(row[1])
        return "changed", int(row[1]) + 1

    def mark_sent(self, canonical_url: str, content_hash: str, version: int) -> None:
        now = time.time()
        self.db.execute(
            "insert into seen values (?,?,?,?,?) on conflict(canonical_url) do update set "
            "content_hash=excluded.content_hash, version=excluded.version, "
            "last_sent=excluded.last_sent", (canonical_url, content_hash, version, now, now))
        self.db.commit()

    def health(self, source: str) -> Health:
        row = self.db.execute("select data from health where source=?", (source,)).fetchone()
        return Health(**json.loads(row[0])) if row else Health(source=source)

    def save_health(self, h: Health) -> None:
        self.db.execute("insert or replace into health values (?,?)",
                        (h.source, json.dumps(asdict(h))))
        self.db.commit()

    def all_health(self) -> list[Health]:
        return [Health(**json.loads(r[0])) for r in
                self.db.execute("select data from health order by source")]

    def conn_state(self, source: str) -> dict[str, Any]:
        row = self.db.execute("select data from conn_state where source=?",
                              (source,)).fetchone()
        return dict(json.loads(row[0])) if row else {}

    def save_conn_state(self, source: str, data: dict[str, Any]) -> None:
        self.db.execute("insert or replace into conn_state values (?,?)",
                        (source, json.dumps(data)))
        self.db.commit()

"""A durable story state in SQLite, for the offline twin (``newsflow group``) and tests:
the same records, band terms and lookup as the Elasticsearch state of the stories agent
(:class:`pipeline.stream.storystate.StoryState`), in a file (or in memory)::

    >>> from pipeline.group.copies import Body, StoryIndex
    >>> store = SqliteState()
    >>> index = StoryIndex(window=86400.0, durable=store)
    >>> wire = ("The city council approved the budget on Monday after a debate that lasted "
    ...         "eleven hours, with 31 votes for and 12 against, Mayor Ana Lopez said.")
    >>> _ = index.assign(Body("a", wire)); store.write([index.record("a")])
    >>> len(store)
    1
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, seq INTEGER, event REAL, doc TEXT);
CREATE TABLE IF NOT EXISTS bands (term TEXT, id TEXT, PRIMARY KEY (term, id));
CREATE INDEX IF NOT EXISTS records_event ON records (event);
"""
PRUNE_EVERY = 10_000  # articles between two retention passes of a durable story state


def retention_cutoff(*, clock: float, keep: float) -> float | None:
    """The event time before which durable story records go: none without a retention
    (``keep`` 0) or before the first article's event time (``clock`` not finite)::

        >>> retention_cutoff(clock=100.0, keep=30.0), retention_cutoff(clock=100.0, keep=0)
        (70.0, None)
    """
    return clock - keep if keep and math.isfinite(clock) else None


class SqliteState:
    """Story records by id, and their band terms (see the module doc)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.db = sqlite3.connect(str(path))
        self.db.executescript(SCHEMA)

    def __len__(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM records").fetchone()[0])

    def write(self, records: list[dict[str, Any]]) -> None:
        """Store (or replace) records with their band terms."""
        with self.db:
            for r in records:
                self.db.execute("DELETE FROM bands WHERE id = ?", (r["id"],))
                self.db.execute("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?)",
                                (r["id"], r["seq"], r.get("event") or 0.0, json.dumps(r)))
                self.db.executemany("INSERT OR IGNORE INTO bands VALUES (?, ?)",
                                    [(t, r["id"]) for t in r.get("bands") or ()])

    def candidates(self, terms: list[str], *, before: float, size: int
                   ) -> list[dict[str, Any]]:
        """Records sharing a band term, of event time before ``before``, earliest first."""
        marks = ",".join("?" * len(terms))
        rows = self.db.execute(
            f"SELECT r.doc FROM records r WHERE r.event < ? AND r.id IN "
            f"(SELECT id FROM bands WHERE term IN ({marks})) ORDER BY r.seq LIMIT ?",
            (before, *terms, size))
        return [json.loads(doc) for (doc,) in rows]

    def prune(self, *, before: float) -> int:
        """Delete the records of event time before ``before``; how many."""
        with self.db:
            self.db.execute("DELETE FROM bands WHERE id IN (SELECT id FROM records "
                            "WHERE event < ?)", (before,))
            return self.db.execute("DELETE FROM records WHERE event < ?", (before,)).rowcount

"""The connectors' persistent state: seen articles, source health, connector state and
per-item failures.

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

Items that failed are kept per source and item (:class:`ItemFailure`): a transient
failure (timeout, connection error, HTTP 5xx or 429) waits for another attempt with
exponential backoff, a bounded number of times; the connector gets the due ones back
from :meth:`ItemLedger.due`, even when its feed or cursor has not changed::

    >>> ledger = ItemLedger(store, "example", RetryPolicy(attempts=3, backoff=60))
    >>> f = ledger.failure("https://e.org/b", error_type="FetchError", error="HTTP 503",
    ...                    transient=True, payload={"url": "https://e.org/b"}, now=0)
    >>> ledger.record(f)
    >>> (f.status, f.attempts, f.next_at)
    ('retry', 1, 60.0)
    >>> [x.item for x in store.item_failures("example")]
    ['https://e.org/b']
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from connectors.journal import Op, apply

SCHEMA = """
create table if not exists seen (canonical_url text primary key, content_hash text not null,
  version integer not null, first_seen real not null, last_sent real not null);
create table if not exists health (source text primary key, data text not null);
create index if not exists seen_last_sent on seen (last_sent);
create table if not exists conn_state (source text primary key, data text not null);
create table if not exists conn_state_log (seq integer primary key autoincrement,
  source text not null, ops text not null);
create table if not exists item_failures (source text not null, item text not null,
  status text not null, attempts integer not null, error_type text not null,
  error text not null, first_at real not null, last_at real not null, next_at real,
  payload text, primary key (source, item));
"""

LOG_COMPACT_ROWS = 1000
"""Logged state changes of one source folded into a whole save past this many rows."""

RETRY = "retry"      # a transient failure: attempted again at next_at
GAVE_UP = "gave_up"  # transient failures, attempts used up: reported, not retried
BAD = "bad"          # the item cannot be handled (malformed, refused, too large): reported


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
    items_dead_lettered: int = 0
    items_retrying: int = 0
    walls: int = 0                  # pages that were walls (challenge, consent, app shell)
    last_wall: str | None = None    # "<kind> (<rule>): <url>"
    last_wall_at: float | None = None
    items_skipped: int = 0          # left out by the source's filter (languages)
    last_new_at: float | None = None  # the last pass that gave a new item
    new_gaps: list[float] = field(default_factory=list)  # between such passes, last 20
    usual_gap: float | None = None  # their median (connectors.alarm)
    alarm_after: float | None = None  # silent longer than this: stopped collecting


@dataclass
class ItemFailure:
    """One item of a source that failed, and what happens to it next."""

    source: str
    item: str                 # the item's key: its URL, or file:line, or a content hash
    status: str               # RETRY, GAVE_UP or BAD
    attempts: int
    error_type: str
    error: str
    first_at: float
    last_at: float
    next_at: float | None = None       # RETRY: not attempted again before this time
    payload: dict[str, Any] | None = None  # what the connector needs to attempt it again

    @property
    def final(self) -> bool:
        """No further attempt will be made (the item is reported, not retried)."""
        return self.status != RETRY


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded attempts with exponential backoff for items that failed transiently."""

    attempts: int = 5
    backoff: float = 60.0
    max_backoff: float = 6 * 3600.0

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        delay = float(min(self.max_backoff, self.backoff * 2 ** max(0, attempts - 1)))
        if retry_after:
            delay = max(delay, min(float(retry_after), self.max_backoff))
        return delay


class StateStore:
    def __init__(self, path: str | Path) -> None:
        memory = str(path) == ":memory:"
        if not memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path))
        if not memory:  # readers (newsflow status) never block the runner's writes
            self.db.execute("pragma journal_mode=wal")
            self.db.execute("pragma synchronous=normal")
        self.db.executescript(SCHEMA)
        self._depth = 0
        self._log_rows: dict[str, int] = {}

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes: committed together at the end, rolled back on an exception."""
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if not self._depth:
                self.db.rollback()
            raise
        self._depth -= 1
        if not self._depth:
            self.db.commit()

    def _commit(self) -> None:
        if not self._depth:
            self.db.commit()

    # ---------------------------------------------------------------- seen articles

    def classify(self, canonical_url: str, content_hash: str) -> tuple[str, int]:
        row = self.db.execute("select content_hash, version from seen where canonical_url=?",
                              (canonical_url,)).fetchone()
        if row is None:
            return "new", 1
        if row[0] == content_hash:
            return "unchanged", int(row[1])
        return "changed", int(row[1]) + 1

    def mark_sent(self, canonical_url: str, content_hash: str, version: int) -> None:
        self.mark_sent_many([(canonical_url, content_hash, version)])

    def mark_sent_many(self, rows: Iterable[tuple[str, str, int]]) -> None:
        now = time.time()
        self.db.executemany(
            "insert into seen values (?,?,?,?,?) on conflict(canonical_url) do update set "
            "content_hash=excluded.content_hash, version=excluded.version, "
            "last_sent=excluded.last_sent", [(u, h, v, now, now) for u, h, v in rows])
        self._commit()

    # ---------------------------------------------------------------- health

    def health(self, source: str) -> Health:
        row = self.db.execute("select data from health where source=?", (source,)).fetchone()
        return _health(row[0]) if row else Health(source=source)

    def save_health(self, h: Health) -> None:
        self.db.execute("insert or replace into health values (?,?)",
                        (h.source, json.dumps(asdict(h))))
        self._commit()

    def all_health(self) -> list[Health]:
        return [_health(r[0]) for r in self.db.execute("select data from health order by source")]

    # ---------------------------------------------------------------- connector state

    def conn_state(self, source: str) -> dict[str, Any]:
        """The connector's saved state: the last whole save, then the changes logged
        after it (``log_conn_state``), in order."""
        row = self.db.execute("select data from conn_state where source=?",
                              (source,)).fetchone()
        state = dict(json.loads(row[0])) if row else {}
        for (ops,) in self.db.execute("select ops from conn_state_log where source=? "
                                      "order by seq", (source,)):
            apply(state, json.loads(ops))
        return state

    def save_conn_state(self, source: str, data: dict[str, Any] | str) -> None:
        """Save a connector's whole state (a dict, or the dict already dumped to JSON);
        the changes logged before it are dropped."""
        text = data if isinstance(data, str) else json.dumps(data)
        self.db.execute("insert or replace into conn_state values (?,?)", (source, text))
        self.db.execute("delete from conn_state_log where source=?", (source,))
        self._log_rows[source] = 0
        self._commit()

    def log_conn_state(self, source: str, ops: list[Op]) -> None:
        """Record changes of a connector's state (``Journal.drain``): O(change). Past
        LOG_COMPACT_ROWS rows (a long pass), the log is folded into one whole save."""
        if not ops:
            return
        self.db.execute("insert into conn_state_log (source, ops) values (?,?)",
                        (source, json.dumps(ops)))
        self._log_rows[source] = self._log_rows.get(source, 0) + 1
        if self._log_rows[source] >= LOG_COMPACT_ROWS:
            self.save_conn_state(source, self.conn_state(source))
        self._commit()

    def prune_seen(self, *, max_age: float | None, max_rows: int | None,
                   now: float | None = None) -> int:
        """Forget articles last sent more than ``max_age`` seconds ago, then the oldest
        beyond ``max_rows``; returns how many were forgotten. A forgotten article seen
        again is sent again as new (its id, from the canonical URL, is the same)."""
        now = time.time() if now is None else now
        gone = 0
        if max_age is not None:
            gone += self.db.execute("delete from seen where last_sent < ?",
                                    (now - max_age,)).rowcount
        if max_rows is not None:
            over = self.db.execute("select count(*) from seen").fetchone()[0] - max_rows
            if over > 0:
                gone += self.db.execute(
                    "delete from seen where canonical_url in (select canonical_url from seen "
                    "order by last_sent limit ?)", (over,)).rowcount
        self._commit()
        return gone

    def seen_count(self) -> int:
        return int(self.db.execute("select count(*) from seen").fetchone()[0])

    # ---------------------------------------------------------------- item failures

    def item_failures(self, source: str | None = None, *, status: str | None = None
                      ) -> list[ItemFailure]:
        """The failed items (of one source, and/or of one status), oldest failure first."""
        sql, args = "select * from item_failures where 1=1", list[str]()
        if source is not None:
            sql, args = sql + " and source=?", [*args, source]
        if status is not None:
            sql, args = sql + " and status=?", [*args, status]
        return [_failure(r) for r in self.db.execute(sql + " order by first_at, item", args)]

    def item_failure(self, source: str, item: str) -> ItemFailure | None:
        row = self.db.execute("select * from item_failures where source=? and item=?",
                              (source, item)).fetchone()
        return _failure(row) if row else None

    def save_item_failure(self, f: ItemFailure) -> None:
        self.db.execute(
            "insert or replace into item_failures values (?,?,?,?,?,?,?,?,?,?)",
            (f.source, f.item, f.status, f.attempts, f.error_type, f.error, f.first_at,
             f.last_at, f.next_at, json.dumps(f.payload) if f.payload is not None else None))
        self._commit()

    def clear_item_failure(self, source: str, item: str, *, before: float | None = None
                           ) -> None:
        """Forget an item's failures (only those recorded before ``before``, if given)."""
        self.db.execute("delete from item_failures where source=? and item=? and last_at<=?",
                        (source, item, float("inf") if before is None else before))
        self._commit()


def _health(data: str) -> Health:
    known = set(Health.__dataclass_fields__)
    return Health(**{k: v for k, v in json.loads(data).items() if k in known})


def _failure(row: tuple[Any, ...]) -> ItemFailure:
    source, item, status, attempts, error_type, error, first_at, last_at, next_at, payload = row
    return ItemFailure(source, item, status, attempts, error_type, error, first_at, last_at,
                       next_at, json.loads(payload) if payload else None)


class ItemLedger:
    """Per-item failures and retries of one source, as a connector and the runner see them.

    A connector asks :meth:`due` for items to attempt again and :meth:`waiting` /
    :meth:`final_attempt` before deciding what to do with a failure; the runner records
    failures (:meth:`failure` then :meth:`record`) and clears an item once Kafka has
    confirmed its article (:meth:`resolve`).
    """

    def __init__(self, store: StateStore | None = None, source: str = "?",
                 policy: RetryPolicy | None = None) -> None:
        self.store = store if store is not None else StateStore(":memory:")
        self.source = source
        self.policy = policy or RetryPolicy()
        self._rows: dict[str, ItemFailure] | None = None  # read once, then kept in step

    def _cache(self) -> dict[str, ItemFailure]:
        if self._rows is None:
            self._rows = {f.item: f for f in self.store.item_failures(self.source)}
        return self._rows

    def get(self, item: str) -> ItemFailure | None:
        return self._cache().get(item)

    def all(self) -> list[ItemFailure]:
        return sorted(self._cache().values(), key=lambda f: (f.first_at, f.item))

    def due(self, now: float | None = None) -> list[ItemFailure]:
        """Items waiting for another attempt whose time has come (and that can be retried)."""
        now = time.time() if now is None else now
        return [f for f in self.all() if f.status == RETRY and f.payload is not None
                and (f.next_at or 0) <= now]

    def waiting(self, item: str) -> bool:
        """The item waits for another attempt (due or not): leave it to :meth:`due`."""
        f = self.get(item)
        return f is not None and f.status == RETRY

    def final_attempt(self, item: str) -> bool:
        """One more transient failure of this item would use up its attempts."""
        f = self.get(item)
        return (f.attempts if f else 0) + 1 >= self.policy.attempts

    def failure(self, item: str, *, error_type: str, error: str, transient: bool,
                payload: dict[str, Any] | None = None, retry_after: float | None = None,
                now: float | None = None) -> ItemFailure:
        """The item's failure record after this failure (not saved: see :meth:`record`)."""
        now = time.time() if now is None else now
        prev = self.get(item)
        attempts = (prev.attempts if prev else 0) + 1
        if not transient:
            status = BAD
        elif prev is not None and prev.final:
            status = prev.status  # already reported: no new round of attempts
        else:
            status = RETRY if attempts < self.policy.attempts else GAVE_UP
        next_at = now + self.policy.delay(attempts, retry_after) if status == RETRY else None
        if payload is None and prev is not None:
            payload = prev.payload
        return ItemFailure(self.source, item, status, attempts, error_type, error[:2000],
                           prev.first_at if prev else now, now, next_at, payload)

    def record(self, f: ItemFailure) -> None:
        self.store.save_item_failure(f)
        self._cache()[f.item] = f

    def resolve(self, item: str, *, upto: float | None = None) -> None:
        """The item went through: forget its failures (those recorded up to ``upto``)."""
        self.store.clear_item_failure(self.source, item, before=upto)
        known = self._cache().get(item)
        if known is not None and (upto is None or known.last_at <= upto):
            del self._cache()[item]

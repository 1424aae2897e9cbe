"""The runner against real Kafka, bounded however long it runs:

* a slow source (a page that takes 6 s to answer, as a long backfill pass does) never
  delays a source polled every second. Measured by the order and count of finished
  passes, not by elapsed time: before, the runner waited for every due source before
  polling any again, so the fast source finished one pass while the slow one was in its
  first;
* saving a connector's progress per item costs the change, not the whole state;
* the ``seen`` table is pruned by age and count.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import pytest

from connectors.base import Connector, ConnectorConfig
from connectors.errors import ConnectorError
from connectors.runner import PassResult, Runner, SeenPolicy
from connectors.sources import Source, SourceSpec, parse_sources
from connectors.state import StateStore
from pipeline.core.contracts import RawArticle
from pipeline.core.settings import Settings
from pipeline.ops.feedserver import QuietHandler, serving
from pipeline.stream.topics import ensure_topics

pytestmark = pytest.mark.integration

PAGE = (Path(__file__).resolve().parents[1] / "contract" / "fixtures" / "rss.v1" / "http"
        / "page.html").read_bytes()
SLOW = 6.0


class Slow(QuietHandler):
    def do_GET(self) -> None:
        if self.path == "/robots.txt":
            self.reply(404)
            return
        time.sleep(SLOW)
        self.reply(200, PAGE, "text/html")


class Feed(QuietHandler):
    def do_GET(self) -> None:
        base = f"http://{self.headers['Host']}"
        self.reply(200, (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
                         f"<link>{base}/</link><description>d</description><item>"
                         f"<title>One</title><link>{base}/1</link><description>One story "
                         "in brief.</description></item></channel></rss>").encode(),
                   "application/rss+xml")


def test_a_slow_source_never_delays_a_fast_one(isolated: Settings, tmp_path: Path) -> None:
    ensure_topics(isolated)
    finished: list[tuple[str, float]] = []
    with serving(Slow) as slow, serving(Feed) as fast:
        specs = [{"name": "slow", "type": "web.v1", "urls": [f"{slow}/page"], "interval": 3600,
                  "allow_private": True, "delay": 0, "timeout": 30},
                 {"name": "fast", "type": "rss.v1", "url": f"{fast}/feed.xml", "interval": 1,
                  "allow_private": True, "delay": 0, "full_text": "never"}]

        async def main() -> None:
            done = asyncio.Event()

            def on_result(r: PassResult) -> None:
                assert r.failed is None, r.failed
                finished.append((r.source, time.monotonic()))
                if r.source == "slow":
                    done.set()

            runner = Runner(parse_sources({"sources": specs}), settings=isolated,
                            state=StateStore(tmp_path / "s.sqlite"), on_result=on_result)
            task = asyncio.create_task(runner.run())
            try:
                await asyncio.wait_for(done.wait(), 60)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                runner.close()

        asyncio.run(main())
    order = [name for name, _ in finished]
    before_slow = order[:order.index("slow")]
    # one pass a second for the 6 s the slow pass takes: at least 3, even on a busy machine
    assert before_slow.count("fast") >= 3, order
    fast = [t for name, t in finished if name == "fast"]
    worst = max(b - a for a, b in itertools.pairwise(fast)) - 1.0
    print(f"{before_slow.count('fast')} passes of the 1 s source during the {SLOW:.0f} s "
          f"pass; worst delay {worst:.2f} s")


class BigStateConfig(ConnectorConfig):
    n: int = 300


class BigState(Connector[BigStateConfig]):
    """A sitemap-like connector: 50,000 URLs already done in its state, ``n`` new ones."""

    name = "bigstate.v1"
    Config: ClassVar[type[ConnectorConfig]] = BigStateConfig

    async def fetch(self) -> AsyncIterator[RawArticle | ConnectorError]:
        done = self.context.state.setdefault("lastmod", {})
        if not done:
            done.update({f"https://old.example.org/{i}": "2024-01-01" for i in range(50_000)})
        for i in range(self.config.n):
            url = f"https://new.example.org/{i}"
            done[url] = "2025-06-01"
            yield self.article(url=url, title=f"Story {i}", text=f"Story number {i} here.")


def _run_once(runner: Runner) -> list[PassResult]:
    try:
        return asyncio.run(runner.run(once=True))
    finally:
        runner.close()


def test_progress_costs_the_change_not_the_state(isolated: Settings, tmp_path: Path) -> None:
    ensure_topics(isolated)
    store = StateStore(tmp_path / "s.sqlite")
    src = Source(SourceSpec(name="big", type="bigstate.v1"), BigState, BigStateConfig())
    store.save_conn_state("big", {"lastmod": {f"https://old.example.org/{i}": "2024-01-01"
                                              for i in range(50_000)}})
    logged: list[int] = []
    real_log = store.log_conn_state

    def log_conn_state(source: str, ops: list) -> None:  # type: ignore[type-arg]
        logged.append(len(json.dumps(ops)))
        real_log(source, ops)

    store.log_conn_state = log_conn_state  # type: ignore[method-assign]
    [result] = _run_once(Runner([src], settings=isolated, state=store))
    assert result.failed is None and result.new == 300
    state_bytes = len(json.dumps(store.conn_state("big")))
    assert state_bytes > 2_000_000
    # each item's change is one URL: what the pass logged is the 300 changes, whatever the
    # size of the state (before: the whole state, dumped again and again)
    assert sum(logged) < 300 * 100, (sum(logged), len(logged))
    assert len(store.conn_state("big")["lastmod"]) == 50_300
    assert store.db.execute("select count(*) from conn_state_log").fetchone()[0] == 0


def test_seen_is_pruned_by_age_and_count(isolated: Settings, tmp_path: Path) -> None:
    ensure_topics(isolated)
    store = StateStore(tmp_path / "s.sqlite")
    now = time.time()
    with store.transaction():
        store.db.executemany("insert into seen values (?,?,?,?,?)",
                             [(f"https://e.org/{i}", "h", 1, now - age, now - age)
                              for i, age in enumerate([400 * 86400] * 5 + [60.0] * 20)])
    src = Source(SourceSpec(name="big", type="bigstate.v1"), BigState, BigStateConfig(n=10))
    runner = Runner([src], settings=isolated, state=store,
                    seen=SeenPolicy(max_age=90 * 86400, max_rows=25))
    [result] = _run_once(runner)
    assert result.new == 10
    # 5 too old; of the 30 left, the 5 sent longest ago go past 25 rows
    assert store.seen_count() == 25
    kept = {r[0] for r in store.db.execute("select canonical_url from seen")}
    assert all(f"https://new.example.org/{i}" in kept for i in range(10))
    assert not any(f"https://e.org/{i}" in kept for i in range(10))

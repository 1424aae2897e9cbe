"""The runner against real Kafka: a slow source (a page that takes 6 s to answer, as a
long backfill pass does) never delays a source polled every second.

Measured by the order and count of finished passes, not by elapsed time: before, the
runner waited for every due source before polling any again, so the fast source finished
one pass while the slow one was in its first.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import pytest

from connectors.runner import PassResult, Runner
from connectors.sources import parse_sources
from connectors.state import StateStore
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
    print(f"worst delay of the 1 s source beside the {SLOW:.0f} s pass: {worst:.2f} s")

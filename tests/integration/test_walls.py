"""Walls and paywalls through the runner, against real Kafka: a bot challenge, a consent
wall and a JavaScript app shell are recorded in the source's health with their reason and
attempted again later, never produced; articles carry ``access`` and ``images``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from connectors.runner import Runner
from connectors.sources import parse_sources
from connectors.state import StateStore
from pipeline.core.contracts import RawArticle
from pipeline.core.settings import Settings
from pipeline.ops.feedserver import QuietHandler, serving
from pipeline.stream.topics import ensure_topics
from tests.integration.test_connector_kafka import _consume

pytestmark = pytest.mark.integration

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
ROUTES = {"/challenge": (403, "challenge-403.html"), "/consent": (200, "consent-wall.html"),
          "/shell": (200, "app-shell.html"), "/paywalled": (200, "paywalled.html"),
          "/free": (200, "free-with-images.html")}


class Site(QuietHandler):
    def do_GET(self) -> None:
        if self.path not in ROUTES:
            self.reply(404)
            return
        status, name = ROUTES[self.path]
        self.reply(status, (PAGES / name).read_bytes(), "text/html")


def test_walls_are_reported_not_ingested(isolated: Settings, tmp_path: Path) -> None:
    ensure_topics(isolated)
    store = StateStore(tmp_path / "s.sqlite")
    with serving(Site) as base:
        spec = {"name": "site", "type": "web.v1", "urls": [base + p for p in ROUTES],
                "allow_private": True, "delay": 0}
        runner = Runner(parse_sources({"sources": [spec]}), settings=isolated, state=store)
        try:
            [result] = asyncio.run(runner.run(once=True))
        finally:
            runner.close()
    assert result.failed is None and result.new == 2 and result.walls == 3
    arts = {a.url.rsplit("/", 1)[1]: a for a in
            (RawArticle.from_bytes(v) for v in _consume(isolated, isolated.raw_topic))}
    assert set(arts) == {"paywalled", "free"}
    assert arts["paywalled"].access == "paywalled" and arts["free"].access == "free"
    images = arts["free"].images
    assert images[0].lead and images[0].url == base + "/img/tram-lead.jpg"  # og:image
    assert {(i.url, i.credit) for i in images} >= {
        ("https://news.example/img/tram-lead.jpg", "Ana Lima"),
        (base + "/img/council.jpg", "Photo: Ben Okafor")}
    assert _consume(isolated, isolated.dead_letter_topic) == []  # backed off, not yet given up
    health = store.health("site")
    assert health.walls == 3 and health.last_wall is not None
    assert health.last_wall.startswith("app_shell (javascript_app_shell): ")
    waiting = {f.item.rsplit("/", 1)[1]: f for f in store.item_failures("site")}
    assert set(waiting) == {"challenge", "consent", "shell"}
    assert all(f.status == "retry" and f.next_at for f in waiting.values())
    assert "challenge wall (rule 'cloudflare_challenge'), HTTP 403" in waiting["challenge"].error

"""Helpers of the stateful stages' fault tests: a stored history for a takeover to load,
waiting for a worker's log line, reading its metrics, and the checks after the faults.

    history = story_history(settings, articles=30_000)    # the stories stage's own writer
    quote_history(settings, quotes=2_000)                  # through the quotes topic
    wait_log(worker, "recovering stories partition", timeout=120)
    in_flight(port, "stories")                             # a state write in flight now?
"""

from __future__ import annotations

import time
import urllib.request
from collections import defaultdict
from typing import Any

import numpy as np
from elasticsearch import Elasticsearch

from bench.quote_lookup import Statements
from bench.story_soak import entry
from pipeline.core.contracts import AssignedArticle, Quote, QuoteArticle, QuoteSpeaker, quote_id
from pipeline.core.settings import Settings
from pipeline.group.signature import record_of
from pipeline.stream.storystate import StoryState
from tests.fault.cluster_checks import read_topic as read
from tests.fault.cluster_kit import Stream
from tests.integration.conftest import send

CHUNK = 2_000  # records per state write


def story_history(settings: Settings, *, articles: int) -> int:
    """``articles`` stored story records, written by the stories stage's own code
    (:func:`record_of` of entries shaped like real signatures, random so that no stream
    article matches them; :meth:`StoryState.write`, the agent's bulk writer), their event
    times spread over the last hour (all inside the hot window: a takeover loads them)."""
    state = StoryState(settings)
    state.ensure()
    rng = np.random.default_rng(7)
    now = time.time()
    for lo in range(0, articles, CHUNK):
        n = min(CHUNK, articles - lo)
        rows = rng.integers(0, 2**32, size=(n, 260), dtype=np.uint64).astype("<u4")
        records = [record_of(entry(lo + k, rows[k], now - 3600 + (lo + k) * 3600 / articles))
                   for k in range(n)]
        assert state.write(records) == []
    return state.summary().records


def quote_history(settings: Settings, *, quotes: int) -> int:
    """``quotes`` quotes produced to the quotes topic (the group stage groups them as it
    groups the quotes agent's): realistic statements, about one in three reported again
    by another outlet."""
    gen = Statements(11)
    values: list[bytes] = []
    said: list[str] = []
    for i in range(quotes):
        words = said[i // 3] if i % 3 == 2 and said else gen.make()
        said.append(words)
        art = f"history-{i:06d}"
        who = f"Speaker {i % 97}"
        values.append(Quote(
            id=quote_id(art, words, who), index=0, kind="direct", content=words,
            article=QuoteArticle(id=art, url=f"https://history.example/{i}",
                                 publisher=f"Outlet {i % 13}", published_at=time.time()),
            speaker=QuoteSpeaker(text=who, canonical=who, type="person")).to_bytes())
    send(settings, settings.quotes_topic, values)
    return len(values)


def wait_log(worker: Any, text: str | tuple[str, ...], *, timeout: float,
             every: float = 0.05) -> str:
    """Wait until the worker's log has a line containing ``text`` (or one of them); the
    first such line."""
    wanted = (text,) if isinstance(text, str) else text
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in worker.log.read_text(errors="replace").splitlines():
            if any(w in line for w in wanted):
                return line
        assert worker.alive(), worker.log.read_text(errors="replace")[-3000:]
        time.sleep(every)
    raise AssertionError(f"no {text!r} in the worker's log after {timeout:.0f}s:\n"
                         + worker.log.read_text(errors="replace")[-3000:])


def in_flight(port: int, stage: str) -> bool:
    """Whether the worker's metrics say a ``stage`` batch is inside its durable write."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as resp:
            text = resp.read().decode()
    except OSError:
        return False
    want = f'newsflow_stage_step_in_progress{{stage="{stage}",step="write"}} '
    return any(line.startswith(want) and float(line.split()[-1]) > 0
               for line in text.splitlines())


def check(settings: Settings, stream: Stream) -> dict[str, int]:
    """Every produced article searchable once by id, one story per article in every
    assignment made (replays included), every copy in its original's story, every quote
    of the quotes topic in exactly one group and counted once, no dead letters."""
    ids = {s.article.id for s in stream.sent}
    es = Elasticsearch(settings.es_url, request_timeout=60)
    es.indices.refresh(index=f"{settings.index_alias},{settings.quotes_index_alias}")
    assert es.count(index=settings.index_alias)["count"] == len(ids)
    docs = {h["_id"]: h["_source"] for h in es.search(
        index=settings.index_alias, query={"ids": {"values": sorted(ids)}}, size=len(ids),
        source=["story", "copy_of"])["hits"]["hits"]}
    assert set(docs) == ids
    stories: dict[str, set[str]] = defaultdict(set)
    assignments = 0
    for value in read(settings, settings.assigned_topic):
        assigned = AssignedArticle.from_bytes(value)
        stories[assigned.id].add(assigned.story)
        assignments += 1
    assert set(stories) == ids
    assert {k: v for k, v in stories.items() if len(v) != 1} == {}
    copies = [s for s in stream.sent if s.copy_of]
    assert copies
    assert [s.article.id for s in copies
            if docs[s.article.id]["story"] != docs[s.copy_of or ""]["story"]] == []
    quotes = [Quote.model_validate_json(v).id for v in read(settings, settings.quotes_topic)]
    groups = es.search(index=settings.quotes_index_alias, size=10_000,
                       source=["mentions", "state.members.quote", "state.members.article",
                               "state.tail.quote", "state.tail.article"])["hits"]["hits"]
    es.close()
    holders: dict[str, int] = defaultdict(int)
    streamed = 0  # groups holding a quote of a streamed article (quality, not asserted)
    for g in groups:
        state = g["_source"].get("state", {})
        members = state.get("members", []) + state.get("tail", [])
        for m in members:
            holders[m["quote"]] += 1
        streamed += any(m["article"] in ids for m in members)
    distinct = set(quotes)
    assert sorted(q for q in distinct if holders.get(q) != 1) == []
    assert sum(g["_source"]["mentions"] for g in groups) == len(distinct)
    assert read(settings, settings.dead_letter_topic) == []
    return {"articles": len(ids), "copies": len(copies), "assignments": assignments,
            "quote_messages": len(quotes), "quotes": len(distinct), "groups": len(groups),
            "groups_of_streamed_quotes": streamed, "originals": len(ids) - len(copies)}

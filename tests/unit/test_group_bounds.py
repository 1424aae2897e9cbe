"""A quote group's cost per report does not grow with its reports: adding to a group of
8,000 reports runs as many operations as adding to one of 1,000 (counted with the
profiler, not timed), and its document stays bounded."""

from __future__ import annotations

import json
import sys
from typing import Any

from pipeline.core.contracts import Quote, QuoteArticle, QuoteSpeaker
from pipeline.group import quotes as quotes_module
from pipeline.group.quotes import MemoryStore, QuoteGroups
from pipeline.group.speakers import Speaker
from pipeline.group.state import Member

WORDS = "“We will never abandon our allies in the region, whatever the pressure,”"
SPEAKERS = [Speaker(canonical=n, type="person") for n in ("Vladimir Putin", "Putin")] + \
    [Speaker(text="the Kremlin", type="unnamed")]


def _group(n: int) -> QuoteGroups:
    group = quotes_module.QuoteGroup(id="g0", founded=1)
    for i in range(n):
        group.add(Member(quote=f"q{i}", article=f"a{i}", seq=i + 1, publisher=f"P{i % 40}",
                         published_at=f"2026-11-02T{i % 24:02d}:00:00+00:00",
                         url=f"https://p{i % 40}.example/{i}", speaker=SPEAKERS[i % 3],
                         cited_via=["TASS"] if i % 7 == 0 else []), WORDS)
    return QuoteGroups(MemoryStore([group]))


def _operations(groups: QuoteGroups, quote: Quote) -> int:
    count = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        groups.add(quote, seq=10**6 + int(quote.id[3:]))
    finally:
        sys.setprofile(None)
    return count


def _quote(i: int) -> Quote:
    return Quote(id=f"new{i}", index=0, kind="direct", content=WORDS,
                 article=QuoteArticle(id=f"new-article{i}", publisher="Late"),
                 speaker=QuoteSpeaker(canonical="Putin", type="person"))


def test_adding_to_a_big_group_does_not_scan_its_members() -> None:
    small, big = _group(1000), _group(8000)
    _operations(small, _quote(0)), _operations(big, _quote(0))  # warm the caches
    ops_small, ops_big = _operations(small, _quote(1)), _operations(big, _quote(1))
    assert ops_big <= ops_small * 1.05 + 50, (ops_small, ops_big)
    g = big.get("g0")
    assert g.mentions == 8002 and g.reports == 8002  # summarized, still counted
    assert g.publisher_counts["P0"] == 200 and "Late" in g.publishers


def test_a_big_groups_document_is_bounded() -> None:
    sizes = {n: len(json.dumps(_group(n).get("g0").to_doc())) for n in (300, 8000)}
    assert sizes[8000] <= sizes[300] * 1.05 and sizes[8000] < 200_000, sizes
    doc = _group(8000).get("g0").to_doc()
    assert doc["mentions"] == 8000 and doc["reports"] == 8000
    assert doc["first_seen"]["quote_id"] == "q0" and doc["publisher_count"] == 40

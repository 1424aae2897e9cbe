"""A takeover rebuilds the quote groups' LSH from the rows stored with each group document
(no MinHash computed): the same tables as indexing the variants anew, the same band keys
as before, and a rebuilt state that continues exactly as the original. Elasticsearch is
stood in for by the documents the stage would have written (the real reload runs on
Elasticsearch in tests/integration/test_quote_writes.py and bench/takeover.py)."""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterator
from typing import Any

import pytest

from bench.state_soak import QuoteFeed
from pipeline.core.contracts import Quote
from pipeline.core.settings import Settings
from pipeline.group.bounded import QuoteGroup
from pipeline.group.quotes import PARAMS, MemoryStore, QuoteGroups
from pipeline.group.window import HotWindow, unpack_rows
from pipeline.index.quotes_mapping import REBUILD_SOURCE
from pipeline.stream import quotes as stream_quotes
from pipeline.stream.quotes import GroupStage

DAY = 86400.0


def feed(n: int, seed: int = 5) -> list[tuple[int, Quote]]:
    f = QuoteFeed(seed)
    return [(i, f.make(f"a{i // 3}", 1.7e9 + i * 60.0)) for i in range(n)]


def fresh_stage() -> GroupStage:
    stage = GroupStage(dataclasses.replace(Settings.from_env({}), hot_window=0.0))
    stage.groups = QuoteGroups(stage.store)
    stage.window = HotWindow(stage.groups, seconds=0)
    return stage


def run(stage: GroupStage, quotes: list[tuple[int, Quote]], stored: dict[str, Any],
        batch: int = 40) -> list[str]:
    """Group the quotes batch by batch; keep the documents written; the groups chosen."""
    out = []
    for start in range(0, len(quotes), batch):
        part = quotes[start:start + batch]
        stage.apply(part)
        docs, removed = stage.pending()
        for doc in docs:
            stored[doc["group"]] = doc
        for gid, _ in removed:
            stored.pop(gid, None)
        stage.written()
        out += [stage.store.group_of(q.id) or "" for _, q in part]
    return out


def tables(groups: QuoteGroups) -> tuple[dict[Any, list[int]], list[dict[int, set[Any]]]]:
    lsh = groups.lsh
    keys = {k: lsh.keys[k] for k in lsh.keys}
    buckets = [{h: set(t.get(h)) for h in t._dict} for t in lsh.hashtables]
    return keys, buckets


@pytest.fixture(scope="module")
def written() -> tuple[GroupStage, dict[str, Any], list[tuple[int, Quote]]]:
    quotes = feed(900)
    stage, stored = fresh_stage(), {}
    run(stage, quotes[:600], stored)
    return stage, stored, quotes[600:]


def test_every_document_holds_its_rows_and_they_rebuild_the_same_lsh(written) -> None:
    stage, stored, _ = written
    assert stored and all(unpack_rows(d, PARAMS) is not None for d in stored.values())
    anew = QuoteGroups(MemoryStore(QuoteGroup.from_doc(d) for d in stored.values()))
    rebuilt = QuoteGroups(MemoryStore())
    for doc in stored.values():
        group = QuoteGroup.from_doc(doc)
        rebuilt.store.adopt(group)  # type: ignore[attr-defined]
        rebuilt.index_rows(group, unpack_rows(doc, PARAMS))
    assert tables(rebuilt) == tables(anew) == tables(stage.groups)  # type: ignore[arg-type]


def test_band_keys_from_the_rows_are_those_of_the_windows(written) -> None:
    stage, stored, _ = written
    window, groups = stage.window, stage.groups
    assert window is not None and groups is not None
    for gid, doc in stored.items():
        group = groups.get(gid)
        by_windows = window._terms([w for _, w in groups._keys(
            group, range(len(group.variants)))])
        assert doc["bands"] == by_windows


def test_documents_without_rows_or_with_others_are_indexed_from_their_variants() -> None:
    doc = {"state": {"lsh": "AAAAAA=="}}
    assert unpack_rows(doc, PARAMS) is None
    assert unpack_rows({"state": {}}, PARAMS) is None
    other = dataclasses.replace(PARAMS, stride=4)
    rows = [(0, 0, tuple(range(PARAMS.bands)))]
    from pipeline.group.window import pack_rows

    assert unpack_rows({"state": {"lsh": pack_rows(rows, PARAMS)}}, other) is None


def test_a_reloaded_state_continues_as_the_original(written, monkeypatch) -> None:
    stage, stored, rest = written
    docs = {gid: dict(doc) for gid, doc in stored.items()}
    for doc in docs.values():
        doc["state"] = dict(doc["state"])
        if int(doc["group"], 16) % 2:  # some without rows (written before they were)
            del doc["state"]["lsh"]

    def load(settings: Settings, *, window: float, source: list[str]
             ) -> Iterator[dict[str, Any]]:
        assert source == REBUILD_SOURCE and not gc.isenabled()  # no collection passes
        for doc in docs.values():
            yield {k: v for k, v in doc.items() if k in source}

    monkeypatch.setattr(stream_quotes, "load_groups", load)
    other = GroupStage(dataclasses.replace(Settings.from_env({}), hot_window=0.0))
    assert gc.isenabled()
    groups = other.reload()
    assert gc.isenabled()  # restored
    assert tables(groups) == tables(stage.groups)  # type: ignore[arg-type]
    assert groups.seq == stage.groups.seq  # type: ignore[union-attr]
    after_original = run(stage, rest, {})
    after_reload = run(other, rest, {})
    assert after_reload == after_original and len(set(after_original)) > 50


def test_the_labelled_set_groups_the_same_with_a_takeover_every_batch(monkeypatch) -> None:
    """bench/quote_groups.py's set in its order: a state reloaded from the stored documents
    before every batch of 32 gives the final groups one uninterrupted run gives."""
    from bench.quote_groups import MENTIONS, evaluate, load

    if not MENTIONS.exists():
        pytest.skip("no labelled set")
    quotes, gold = load()
    _, straight = evaluate(quotes, gold)
    stored: dict[str, Any] = {}

    def from_stored(settings: Settings, *, window: float, source: list[str]
                    ) -> Iterator[dict[str, Any]]:
        for doc in list(stored.values()):
            yield {k: v for k, v in doc.items() if k in source}

    monkeypatch.setattr(stream_quotes, "load_groups", from_stored)
    stage = GroupStage(dataclasses.replace(Settings.from_env({}), hot_window=0.0))
    reloads = 0
    for start in range(0, len(quotes), 32):
        stage.groups = None  # a takeover: the next apply reloads from the documents
        reloads += 1
        run(stage, list(enumerate(quotes))[start:start + 32], stored)
    final = [stage.store.group_of(q.id) for q in quotes]
    assert reloads > 10 and final == [straight.store.group_of(q.id) for q in quotes]

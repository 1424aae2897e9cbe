"""The ``group`` agent's batch step (pipeline.stream.quotes.GroupStage) with the stand-in
topics of test_batches and a stand-in writer (the real writer is tested on Elasticsearch
in tests/integration/test_quote_writes.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from pipeline.core.contracts import Quote, QuoteArticle, QuoteSpeaker
from pipeline.core.settings import Settings
from pipeline.group.quotes import QuoteGroups
from pipeline.stream.batches import Batches
from pipeline.stream.quotes import GroupStage
from tests.unit.test_batches import Event, Message, Stream, Topic


class Writer:
    """Fails its first ``fail`` writes for no known reason, then keeps what it is given."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.written: list[dict[str, Any]] = []

    async def write(self, docs: list[dict[str, Any]], removed: list[tuple[str, int]]
                    ) -> list[tuple[str, Exception]]:
        if self.fail > 0:
            self.fail -= 1
            raise RuntimeError("the write fell over")
        self.written += docs
        return []


def quote(n: int, content: str = "We will never abandon our allies in the region.") -> Quote:
    return Quote(id=f"q{n}", index=0, kind="direct", content=content,
                 article=QuoteArticle(id=f"a{n}", publisher=f"P{n}"),
                 speaker=QuoteSpeaker(canonical="Vladimir Putin", type="person"))


def stage_with(writer: Writer, **env: str) -> tuple[GroupStage, Batches, Topic]:
    settings = Settings.from_env({"NEWSFLOW_TOPIC_PREFIX": "u", **env})
    dead = Topic()
    batches = Batches(settings, Topic(), dead)  # type: ignore[arg-type]
    batches.backoff = 0.01
    stage = GroupStage(settings)
    stage._writer = writer  # type: ignore[assignment]
    stage.groups = QuoteGroups(stage.store)  # an empty state, trusted from offset 0
    stage.next_offset = 0
    return stage, batches, dead


def run(stage: GroupStage, batches: Batches, values: list[bytes]) -> Stream:
    batch = [Event(Message("u.quotes.v1", 0, i, v)) for i, v in enumerate(values)]
    stream = Stream([batch])

    async def go() -> None:
        await asyncio.wait_for(batches.consume(
            "group", stream, 256,  # type: ignore[arg-type]
            lambda evs: stage.handle(batches, evs)), 20)

    asyncio.run(go())
    return stream


def test_poison_quote_is_dead_lettered_once_when_the_write_is_retried() -> None:
    stage, batches, dead = stage_with(Writer(fail=3), NEWSFLOW_BATCH_RETRIES="3")
    stream = run(stage, batches, [b"{not a quote", quote(1).to_bytes(), quote(2).to_bytes()])
    [letter] = dead.letters()
    assert letter.stage == "decode" and letter.offset == 0
    assert len(stream.acked) == 3
    assert stage.writer().written[-1]["reports"] == 2  # type: ignore[attr-defined]


def test_a_group_write_is_seen_in_flight_while_it_runs() -> None:
    """``newsflow_stage_step_in_progress{stage="group",step="write"}`` is 1 while the
    groups are being written (a fault test kills the worker then), 0 after."""
    from prometheus_client import REGISTRY

    def now() -> float | None:
        return REGISTRY.get_sample_value("newsflow_stage_step_in_progress",
                                         {"stage": "group", "step": "write"})

    seen: list[float | None] = []

    class Watching(Writer):
        async def write(self, docs: list[dict[str, Any]], removed: list[tuple[str, int]]
                        ) -> list[tuple[str, Exception]]:
            seen.append(now())
            return await super().write(docs, removed)

    stage, batches, _ = stage_with(Watching())
    run(stage, batches, [quote(0).to_bytes()])
    assert seen == [1.0]
    assert now() == 0.0

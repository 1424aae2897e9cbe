"""The indexer's retry decisions, with a stand-in for the client's bulk call (no HTTP).

Outage backoff and a document's own retries are counted apart; 429 and 5xx are transient,
only a document's own 400-class rejection is permanent; requests are split by bytes.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from elastic_transport import ConnectionError as ESConnectionError

from pipeline.core.contracts import EnrichedArticle
from pipeline.core.errors import Backpressure
from pipeline.core.settings import Settings
from pipeline.index import bulk as bulk_module
from pipeline.index import indexer as indexer_module
from pipeline.index.indexer import Indexer


class FakeES:
    """Answers bulk calls from a script: an exception, or one item status for every doc."""

    def __init__(self, script: list[Any]) -> None:
        self.script = script
        self.calls: list[int] = []

    async def bulk(self, *, operations: list[Any], **_: Any) -> dict[str, Any]:
        docs = len(operations) // 2
        self.calls.append(docs)
        step = self.script.pop(0) if self.script else 201
        if isinstance(step, Exception):
            raise step
        error = {"type": "mapper_parsing_exception"} if step == 400 else \
            {"type": "es_rejected_execution_exception"}
        item = {"status": step} if step < 300 else {"status": step, "error": error}
        return {"items": [{"index": dict(item)} for _ in range(docs)]}

    async def close(self) -> None:
        pass


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    async def sleep(_: float) -> None:
        return None

    monkeypatch.setattr(bulk_module.asyncio, "sleep", sleep)


def run(indexer: Indexer, articles: list[EnrichedArticle]) -> Any:
    async def go() -> Any:
        try:
            return await indexer.index(articles)
        finally:
            await indexer.close()

    return asyncio.run(go())


def make(script: list[Any], **env: str) -> tuple[Indexer, FakeES]:
    indexer = Indexer(Settings.from_env(env))
    fake = FakeES(script)
    indexer.es = fake  # type: ignore[assignment]
    return indexer, fake


def test_a_long_outage_does_not_use_up_a_documents_retries() -> None:
    outage: list[Any] = [ESConnectionError("refused") for _ in range(40)]  # minutes of it
    indexer, fake = make([*outage, 429, 201])
    assert run(indexer, [EnrichedArticle(id="a", text="t")]) == []
    assert len(fake.calls) == 42


def test_429_and_5xx_are_retried_and_never_rejected() -> None:
    indexer, _ = make([429, 503, 500, 429, 201])
    assert run(indexer, [EnrichedArticle(id="a", text="t")]) == []


def test_a_document_failing_transiently_past_its_retries_raises_backpressure() -> None:
    indexer, _ = make([429] * 20)
    with pytest.raises(Backpressure):
        run(indexer, [EnrichedArticle(id="a", text="t")])


def test_only_a_documents_own_400_is_a_rejection() -> None:
    indexer, _ = make([400])
    [(art, error)] = run(indexer, [EnrichedArticle(id="a", text="t")])
    assert art.id == "a" and "mapper_parsing_exception" in str(error)


def test_verdicts() -> None:
    verdict = indexer_module.verdict
    assert verdict(409, {"type": "version_conflict_engine_exception"}) == "ok"
    assert verdict(403, {"type": "cluster_block_exception"}) == "retry"
    assert verdict(404, {"type": "index_not_found_exception"}) == "retry"
    assert [verdict(s) for s in (429, 500, 502, 503, 504)] == ["retry"] * 5
    assert verdict(400, {"type": "document_parsing_exception"}) == "reject"


def test_bulk_requests_are_split_by_bytes() -> None:
    indexer, fake = make([], NEWSFLOW_MAX_BULK_BYTES=str(1024 * 1024))
    arts = [EnrichedArticle(id=str(i), text="w" * 300_000) for i in range(7)]
    assert run(indexer, arts) == []
    assert sum(fake.calls) == 7 and max(fake.calls) <= 3


def test_the_action_carries_the_article_version_as_external_version() -> None:
    indexer = Indexer(Settings.from_env({"NEWSFLOW_INDEX": "x"}))
    action = json.loads(indexer.entry(EnrichedArticle(id="a", text="t", version=7)).action)
    assert action == {"index": {"_index": "x", "_id": "a", "version": 7,
                                "version_type": "external_gte"}}
    asyncio.run(indexer.close())

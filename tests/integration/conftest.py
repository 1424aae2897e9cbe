"""What the integration tests share: producing to a real topic, an isolated index on the
real Elasticsearch, and waiting for articles to land there.

    def test_x(isolated, pipeline_es, worker_factory):
        worker = worker_factory(isolated).start()
        send(isolated, isolated.raw_topic, [a.to_bytes() for a in arts],
             keys=[a.id.encode() for a in arts])
        got = wait_indexed(pipeline_es, isolated, [a.id for a in arts], [worker])
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from pipeline.core.contracts import EnrichedArticle
from pipeline.core.settings import MAX_MESSAGE_BYTES, Settings
from pipeline.index.indexer import Indexer
from pipeline.index.mapping import ensure_index, index_name
from pipeline.stream.storystate import StoryState
from pipeline.stream.topics import ensure_topics
from tests.conftest import wait_for


def send(settings: Settings, topic: str, values: Sequence[bytes], *,
         keys: Sequence[bytes | None] | None = None, partition: int | None = None) -> None:
    """Produce ``values`` (with ``keys``) to ``topic``, acknowledged by every in-sync copy,
    before returning; messages up to the topics' size limit are accepted."""
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all",
                             max_request_size=MAX_MESSAGE_BYTES)
    try:
        for i, value in enumerate(values):
            producer.send(topic, key=keys[i] if keys else None, value=value,
                          partition=partition)
        producer.flush()
    finally:
        producer.close()


@pytest.fixture
def pipeline_es(isolated: Settings) -> Iterator[Elasticsearch]:
    """The isolated settings' topics and article index, and a client; the article and
    story-state indices are deleted afterwards."""
    ensure_topics(isolated)
    ensure_index(isolated)
    client = Elasticsearch(isolated.es_url)
    yield client
    client.indices.delete(index=index_name(isolated), ignore_unavailable=True)
    StoryState(isolated).drop()
    client.close()


def docs(es: Elasticsearch, settings: Settings, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The indexed documents of ``ids`` (those that are there), by id."""
    es.indices.refresh(index=settings.index_alias)
    resp = es.search(index=settings.index_alias, query={"ids": {"values": ids}},
                     size=len(ids))
    return {h["_id"]: h["_source"] for h in resp["hits"]["hits"]}


def wait_indexed(es: Elasticsearch, settings: Settings, ids: list[str], workers: list[Any],
                 *, timeout: float = 300) -> dict[str, dict[str, Any]]:
    """Wait until every one of ``ids`` is searchable (failing at once, with its log, if a
    worker died) and return their documents."""
    def done() -> bool:
        assert all(w.alive() for w in workers), workers[0].log.read_text()[-3000:]
        return len(docs(es, settings, ids)) == len(ids)

    wait_for(done, timeout=timeout, what=f"{len(ids)} articles in Elasticsearch")
    return docs(es, settings, ids)


@contextmanager
def indexed(settings: Settings, articles: list[EnrichedArticle]) -> Iterator[Settings]:
    """``articles`` written by the pipeline's own indexer into a fresh index (refreshed,
    so searchable), deleted on exit."""
    es = Elasticsearch(settings.es_url)
    ensure_index(settings, es)
    indexer = Indexer(settings)

    async def run() -> None:
        try:
            assert await indexer.index(articles) == []
        finally:
            await indexer.close()

    try:
        asyncio.run(run())
        es.indices.refresh(index=settings.index_alias)
        yield settings
    finally:
        es.indices.delete(index=index_name(settings), ignore_unavailable=True)
        es.close()

"""``newsflow quotes --place``: on the real Elasticsearch, the quote groups whose words
name a place or whose first report is an article set there."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pipeline.core.contracts import EnrichedArticle, Entity, Place, Provenance
from pipeline.core.settings import Settings
from pipeline.index.indexer import Indexer
from pipeline.index.mapping import ensure_index, index_name
from pipeline.index.quotes_mapping import ensure_quotes_index, quotes_index_name
from tests.conftest import settings_env

pytestmark = pytest.mark.integration

DAMASCUS = Place(geonames_id=170654, name="Damascus", kind="city", country="SY",
                 lat=33.5102, lon=36.29128)
LONDON = Place(geonames_id=2643743, name="London", kind="city", country="GB",
               lat=51.50853, lon=-0.12574)


def article(aid: str, text: str, place: Place) -> EnrichedArticle:
    start = text.index(place.name)
    return EnrichedArticle(
        id=aid, text=text, language="en", main_place=place,
        provenance=Provenance(connector="test", source="t", publisher="Desk"),
        entities=[Entity(text=place.name, label="GPE", start=start,
                         end=start + len(place.name), canonical=place.name,
                         key=f"place:{place.name.lower()}", place=place)])


def group(gid: str, content: str, first_article: str, seq: int) -> dict[str, Any]:
    return {"group": gid, "content": content, "texts": [content], "kind": "direct",
            "reports": 1, "publishers": ["Desk"], "publisher_count": 1, "mentions": 1,
            "first_seen": {"article_id": first_article, "publisher": "Desk"},
            "published_at": "2026-11-30T10:00:00Z", "seq": seq}


@pytest.fixture
def indexed(isolated: Settings) -> Iterator[Settings]:
    es = Elasticsearch(isolated.es_url)
    ensure_index(isolated, es)
    ensure_quotes_index(isolated, es)
    indexer = Indexer(isolated)

    async def run() -> None:
        try:
            assert await indexer.index([
                article("a-dam", "Officials in Damascus met on Monday.", DAMASCUS),
                article("a-lon", "Officials in London met on Monday.", LONDON)]) == []
        finally:
            await indexer.close()

    asyncio.run(run())
    for doc in (group("g-words", "Syrians will decide their future", "a-lon", 1),
                group("g-article", "The talks went well", "a-dam", 2),
                group("g-other", "Inflation will fall this year", "a-lon", 3)):
        es.index(index=isolated.quotes_index_alias, id=doc["group"], document=doc)
    es.indices.refresh(index=isolated.quotes_index_alias)
    es.indices.refresh(index=isolated.index_alias)
    yield isolated
    es.indices.delete(index=index_name(isolated), ignore_unavailable=True)
    es.indices.delete(index=quotes_index_name(isolated), ignore_unavailable=True)
    es.close()


def quotes(settings: Settings, place: str) -> tuple[int, dict[str, Any] | str]:
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "quotes", "--place", place,
                           "--json"], env=settings_env(settings), capture_output=True,
                          text=True, timeout=120, check=False)
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else proc.stderr


def test_quotes_about_a_place_by_words_or_by_article(indexed: Settings) -> None:
    code, result = quotes(indexed, "Syria")
    assert code == 0 and isinstance(result, dict)
    assert {q["group"] for q in result["quotes"]} == {"g-words", "g-article"}
    assert result["place"]["country"] == "SY"
    code, result = quotes(indexed, "Damascus")
    assert code == 0 and isinstance(result, dict)
    assert {q["group"] for q in result["quotes"]} == {"g-article"}
    code, _ = quotes(indexed, "Xyzzyville")
    assert code == 2

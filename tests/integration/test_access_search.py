"""``access`` and ``images`` in the index, ``newsflow search --access`` and the images in
its hits, on the real local Elasticsearch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from pipeline.core.contracts import EnrichedArticle, Image
from pipeline.core.settings import Settings
from pipeline.search.query import SearchRequest, search
from tests.conftest import settings_env
from tests.integration.conftest import indexed as index_directly

pytestmark = pytest.mark.integration

LEAD = Image(url="https://news.example/img/tram.jpg", caption="The harbour tram stop",
             credit="Ana Lima", lead=True)


@pytest.fixture
def indexed(isolated: Settings) -> Iterator[Settings]:
    arts = [EnrichedArticle(id="p", title="Tram line extended", text="The council voted.",
                            access="paywalled", images=[LEAD]),
            EnrichedArticle(id="f", title="Tram line extended again", text="The council met.",
                            access="free"),
            EnrichedArticle(id="u", title="Tram news", text="Trams.")]
    with index_directly(isolated, arts) as settings:
        yield settings


def test_search_by_access_with_images(indexed: Settings) -> None:
    result = search(indexed, SearchRequest(text="tram", access="paywalled", all_copies=True))
    assert [h["id"] for h in result["hits"]] == ["p"]
    assert result["hits"][0]["access"] == "paywalled"
    assert result["hits"][0]["images"] == [LEAD.model_dump()]
    everything = search(indexed, SearchRequest(text="tram", all_copies=True))
    assert dict(map(tuple, everything["facets"]["access"])) == {  # type: ignore[arg-type]
        "paywalled": 1, "free": 1, "unknown": 1}


def test_cli_search_access(indexed: Settings) -> None:
    env = {**os.environ, **settings_env(indexed)}
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "search", "tram", "--access",
                           "free", "--all-copies", "--json"], capture_output=True, text=True,
                          env=env, check=True)
    assert [h["id"] for h in json.loads(proc.stdout)["hits"]] == ["f"]
    shown = subprocess.run([sys.executable, "-m", "pipeline.cli", "search", "tram", "--access",
                            "paywalled", "--all-copies"], capture_output=True, text=True,
                           env=env, check=True).stdout
    assert "(paywalled)" in shown and "image: https://news.example/img/tram.jpg" in shown
    bad = subprocess.run([sys.executable, "-m", "pipeline.cli", "search", "--access", "open"],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "--access must be one of" in bad.stderr

"""One contract test for every registered connector, on recorded fixtures (Fundus-style).

A connector registered without a fixture directory fails here: add
``tests/contract/fixtures/<name>/`` (see docs/adding-a-connector.md), then record the
expectation with ``NEWSFLOW_RECORD=1 pytest tests/contract``.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from connectors import registry
from connectors.testing import run_fixture, summary
from pipeline.core.contracts import RawArticle

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NAMES = sorted(registry.available())


@pytest.mark.parametrize("name", NAMES)
def test_connector_contract(name: str) -> None:
    fixture = FIXTURES / name
    assert fixture.is_dir(), f"connector {name} has no recorded fixture at {fixture}"
    cls = registry.load(name)
    articles, errors = asyncio.run(run_fixture(cls, fixture))
    assert articles, "a fixture must produce at least one article"
    for art in articles:
        assert RawArticle.from_bytes(art.to_bytes()) == art
        assert art.text.strip() and art.provenance.connector == name
        assert art.provenance.source == f"fixture-{name}"
        assert art.id and art.canonical_url
    for err in errors:
        assert f"fixture-{name}" in str(err)  # errors name their source
    expected_file = fixture / "expected.json"
    got = {"articles": summary(articles), "errors": len(errors)}
    if os.environ.get("NEWSFLOW_RECORD") == "1":
        expected_file.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n")
    assert expected_file.exists(), "record it: NEWSFLOW_RECORD=1 pytest tests/contract"
    assert got == json.loads(expected_file.read_text())


@pytest.mark.parametrize("name", NAMES)
def test_second_pass_is_deterministic(name: str) -> None:
    cls = registry.load(name)
    first, _ = asyncio.run(run_fixture(cls, FIXTURES / name))
    again, _ = asyncio.run(run_fixture(cls, FIXTURES / name))
    assert [a.id for a in first] == [a.id for a in again]

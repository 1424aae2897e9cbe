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
from connectors.testing import FixtureRun, PassOutput, run_fixture, summary
from pipeline.core.contracts import RawArticle

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NAMES = sorted(registry.available())
# connectors without a cursor: every pass fetches everything, the runner drops what is
# unchanged; every other connector must yield nothing at all from unchanged fixtures
REFETCH_ALL = {"web.v1", "jsonapi.v1"}


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
    """From empty state, the same fixture gives the same articles."""
    cls = registry.load(name)
    first, _ = asyncio.run(run_fixture(cls, FIXTURES / name))
    again, _ = asyncio.run(run_fixture(cls, FIXTURES / name))
    assert [a.id for a in first] == [a.id for a in again]


@pytest.mark.parametrize("name", NAMES)
def test_second_pass_with_state_yields_nothing_new(name: str) -> None:
    """The state kept between passes (cursors, validators, seen articles, item failures,
    through JSON as the runner keeps them): unchanged fixtures give nothing new or
    changed the second time, and no item error that the first pass had not reported."""
    run = FixtureRun(registry.load(name), FIXTURES / name)

    async def two_passes() -> tuple[PassOutput, PassOutput]:
        return await run.one_pass(), await run.one_pass()

    first, second = asyncio.run(two_passes())
    assert first.fresh, "the first pass must produce articles"
    assert [a.url for a in second.fresh] == []
    assert {a.id for a in second.articles} <= {a.id for a in first.articles}
    assert {e.url for e in second.errors} <= {e.url for e in first.errors}
    if name not in REFETCH_ALL:  # its cursor / validators say: nothing to do
        assert (second.articles, second.errors) == ([], [])

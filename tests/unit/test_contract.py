from __future__ import annotations

import json

import pytest

from pipeline.core.contracts import (
    DeadLetter,
    EnrichedArticle,
    Provenance,
    RawArticle,
    article_id,
    canonicalize_url,
)
from pipeline.core.errors import ContractError, NewsflowError


def _raw(**kw: object) -> RawArticle:
    return RawArticle.new(url="https://Example.org/news/a?utm_source=rss#top", text="Body.",
                          provenance=Provenance(connector="rss.v1", source="ex"), **kw)


def test_id_is_stable_and_tracking_free() -> None:
    a = _raw()
    assert a.canonical_url == "https://example.org/news/a"
    assert a.id == article_id("https://example.org/news/a") == _raw(title="other").id
    assert len(a.id) == 32


def test_roundtrip_and_versioning() -> None:
    a = _raw(title="T", authors=["X"])
    assert RawArticle.from_bytes(a.to_bytes()) == a
    newer = a.model_dump(mode="json") | {"schema_version": 2}
    with pytest.raises(ContractError, match="schema_version"):
        RawArticle.from_bytes(json.dumps(newer))


@pytest.mark.parametrize("payload", [b"{not json", b'{"schema_version": 99}', bytes(range(256)),
                                     b"[]", b'{"schema_version": 1, "id": "x"}'])
def test_poison_is_a_contract_error(payload: bytes) -> None:
    with pytest.raises(ContractError) as exc:
        RawArticle.from_bytes(payload)
    assert isinstance(exc.value, NewsflowError)
    assert "RawArticle" in str(exc.value)


def test_unknown_fields_are_rejected() -> None:
    data = _raw().model_dump(mode="json")
    data["surprise"] = 1
    with pytest.raises(ContractError):
        RawArticle.from_bytes(json.dumps(data))


def test_dead_letter_keeps_payload() -> None:
    letter = DeadLetter.of(stage="decode", exc=ValueError("bad"), payload=b"\x00\x01")
    assert letter.payload() == b"\x00\x01" and letter.error_type == "ValueError"


def test_canonicalize_tolerates_junk() -> None:
    assert canonicalize_url("  not a url \n") == "not%20a%20url"  # courlan quotes, never raises
    assert canonicalize_url("HTTPS://Example.org:443/a/?utm_medium=x") == "https://example.org/a/"


def test_enriched_roundtrip() -> None:
    e = EnrichedArticle(id="1", text="x")
    assert EnrichedArticle.from_bytes(e.to_bytes()) == e

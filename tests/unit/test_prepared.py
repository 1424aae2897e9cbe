"""The funnel's signature header: its codec, and that the story assignment made from it
is byte for byte the one the stories agent computes without it."""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest

from bench import copies_data
from pipeline.core.contracts import AssignedArticle, Provenance, RawArticle
from pipeline.core.settings import MAX_MESSAGE_BYTES
from pipeline.group import prepared as codec
from pipeline.group.copies import Body, StoryIndex
from pipeline.group.prepared import HEADER, Prepared, decode, encode, from_headers
from pipeline.stream.stories import assigned_bytes, header_of
from tests.conftest import shared_path
from tests.unit.copies_text import FOLLOW_UP, SAME_TOPIC, WIRE

PROV = Provenance(connector="unit", source="unit")


def raw(i: int, text: str, authors: tuple[str, ...] = ()) -> RawArticle:
    return RawArticle.new(url=f"https://example.org/{i}", text=text, title=f"T{i}",
                          authors=list(authors), provenance=PROV)


def wire_copies() -> list[RawArticle]:
    """The seed wire story, copies of it (dateline cut, credit changed, truncated,
    retitled, a byline credit), a same-topic story and a follow-up."""
    paras = WIRE.split("\n\n")
    texts = [WIRE,
             WIRE.replace("BUDAPEST (AFP) — ", ""),
             "\n\n".join(paras[:4]),
             "\n\n".join(paras[1:-1]) + "\n\n(Reporting by AFP staff)",
             WIRE.replace("30 percent", "30%").replace("© 2026 AFP", ""),
             SAME_TOPIC, FOLLOW_UP, ""]
    out = [raw(i, t) for i, t in enumerate(texts)]
    out.append(raw(99, "\n\n".join(paras[1:]), authors=("By Jane Doe, Reuters",)))
    return out


def through_header(article: RawArticle) -> Prepared:
    value = article.to_bytes()
    headers = header_of(article, value)
    assert headers is not None and headers[0][0] == HEADER
    got = from_headers(headers, value)
    assert got is not None
    return got


def assignments(arts: list[RawArticle], *, header: bool) -> tuple[list[Any], list[str]]:
    index = StoryIndex(window=7 * 86400.0)
    index.begin()
    placed = [index.place(a, through_header(a) if header else None) for a in arts]
    records = [json.dumps(index.record(a.id), sort_keys=True) for a in arts]
    index.commit()
    return placed, records


def test_the_header_path_gives_the_computed_assignments_and_records_byte_for_byte() -> None:
    arts = wire_copies()
    computed, computed_records = assignments(arts, header=False)
    headed, headed_records = assignments(arts, header=True)
    assert headed == computed
    assert headed_records == computed_records
    stories = {a.story for a in computed[:5]}
    assert stories == {arts[0].id}  # the copies did join the seed's story
    assert computed[0].wire == "AFP"


def test_the_same_on_the_labelled_copies_set() -> None:
    shared_path("data", "article-extraction-benchmark", "ground-truth.json")
    docs, _ = copies_data.build(seed=3, variants=3)
    arts = [raw(i, d.text) for i, d in enumerate(docs[:300])]
    computed, computed_records = assignments(arts, header=False)
    headed, headed_records = assignments(arts, header=True)
    assert sum(a.copy_of is not None for a in computed) > 50
    assert headed == computed
    assert headed_records == computed_records


def test_a_mixed_stream_of_headed_and_bare_messages_assigns_as_one() -> None:
    arts = wire_copies()
    computed, _ = assignments(arts, header=False)
    index = StoryIndex()
    mixed = [index.place(a, through_header(a) if i % 2 else None) for i, a in enumerate(arts)]
    assert mixed == computed


def test_a_header_of_another_version_value_or_parameters_is_not_used(
        monkeypatch: pytest.MonkeyPatch) -> None:
    article = raw(1, WIRE)
    value = article.to_bytes()
    data = encode(Prepared.of(article), value)
    assert decode(data, value) is not None
    assert decode(b"v2" + data[2:], value) is None
    assert decode(data, value + b" ") is None  # another message's header
    assert decode(data[:-4], value) is None  # damaged
    assert decode(data + b"\0\0\0\0", value) is None
    assert decode(b"", value) is None and decode(None, value) is None
    assert from_headers([("other", data)], value) is None
    assert from_headers({HEADER: data}, value) is not None
    codec.fingerprint.cache_clear()
    monkeypatch.setattr(codec, "MAX_CHARS", 1)  # another bounded head: another signature
    try:
        assert decode(data, value) is None
    finally:
        codec.fingerprint.cache_clear()


def test_the_header_is_compact() -> None:
    article = raw(1, WIRE)
    value = article.to_bytes()
    data = encode(Prepared.of(article), value)
    sig = Prepared.of(article).sig
    assert len(data) == 2 + 4 + 16 + 1 + 12 + 2 + 3 + 4 * (len(sig.hashes) + 128
                                                         + len(sig.names) + len(sig.numbers))
    assert struct.unpack_from("<2s", data)[0] == b"v1"


def test_a_message_near_the_size_limit_goes_without_header() -> None:
    article = raw(1, WIRE)
    assert header_of(article, article.to_bytes()) is not None
    assert header_of(article, b" " * (MAX_MESSAGE_BYTES - 1000)) is None


def test_the_assigned_message_splices_the_raw_bytes_and_parses_the_same() -> None:
    index = StoryIndex()
    for article in wire_copies():
        a = index.place(article)
        value = article.to_bytes()
        spliced = assigned_bytes(value, article, a)
        assert value in spliced
        expected = AssignedArticle(article=article, story=a.story, copy_of=a.copy_of,
                                   similarity=a.similarity, wire=a.wire)
        assert AssignedArticle.from_bytes(spliced) == expected
        padded = assigned_bytes(b" " + value + b"\n", article, a)
        assert AssignedArticle.from_bytes(padded) == expected
    odd = raw(5, "text")
    a = index.place(odd)
    assert AssignedArticle.from_bytes(assigned_bytes(b"\xef\xbb\xbf" + odd.to_bytes(), odd, a)
                                      ).article == odd  # not plain JSON: written again


def test_body_articles_without_authors_prepare_too() -> None:
    p = Prepared.of(Body("a", WIRE))
    assert p.wire == "AFP" and p.sig.whole is not None

"""Property tests: enrichment, quotes, feed parsing and HTML-to-text never crash."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.errors import ParseError
from connectors.extract import html_to_text
from connectors.rss import parse_feed
from pipeline.core.contracts import EnrichedArticle
from pipeline.enrich.article import Enricher
from pipeline.enrich.quotes import quote_spans

NEWSY = st.lists(st.sampled_from([
    "“", "”", '"', "«", "»", "'", "said", "told", "according to", "citing", "Mr", "Putin",
    "he", "she", "the newspaper", ",", ".", ":", "\n\n", "Reuters", "reported", "that",
    "officials", "the same source", "X", "„", "—", "(", ")", "’s", " "]), max_size=60)
TEXT = st.one_of(st.text(max_size=400), NEWSY.map(" ".join))


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    return Enricher()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT)
def test_enrichment_never_crashes(enricher: Enricher, text: str) -> None:
    [art] = enricher.enrich([{"id": "p", "text": text}])
    assert isinstance(art, EnrichedArticle), art
    for a in art.attributions:
        assert 0 <= a.content.start <= a.content.end <= len(text)
        assert text[a.content.start:a.content.end] == a.content.text
        if a.source:
            assert text[a.source.start:a.source.end] == a.source.text
    for e in art.entities:
        assert text[e.start:e.end] == e.text


@given(text=TEXT)
def test_quote_spans_stay_in_bounds(text: str) -> None:
    last = 0
    for s, e in quote_spans(text):
        assert last <= s < e <= len(text)
        last = e


@settings(max_examples=300)
@given(body=st.one_of(st.binary(max_size=600), st.text(max_size=600).map(str.encode)))
def test_feed_parser_fails_only_cleanly(body: bytes) -> None:
    try:
        entries, _ = parse_feed(body)
    except ParseError:
        return
    assert isinstance(entries, list)


@given(fragment=st.text(max_size=300))
def test_html_to_text_total(fragment: str) -> None:
    assert isinstance(html_to_text(fragment), str)


HTMLISH = st.lists(st.sampled_from([
    "<html>", "<body>", "<p>", "</p>", "<div>", "</div>", "<article>", "<script>", "x = 1;",
    "</script>", "<h1>Title</h1>", "Officials said the talks failed.", "&amp;", "&#xFFFF;",
    "<meta charset='latin-1'>", "\x00", "é", "<!--", "-->", "<![CDATA[", "]]>", " "]),
    max_size=80).map("".join)


@settings(max_examples=120, deadline=None)
@given(page=st.one_of(HTMLISH, st.text(max_size=500)), raw=st.booleans())
def test_extraction_fails_only_cleanly(page: str, raw: bool) -> None:
    from connectors.errors import ParseError
    from connectors.extract import extract_article

    try:
        art = extract_article(page.encode("utf-8", "replace") if raw else page)
    except ParseError:
        return
    assert art.text.strip()

from __future__ import annotations

import pytest

from pipeline.enrich.quotes import quote_spans


@pytest.mark.parametrize("text,expected", [
    ('He said "we will win" today.', ['"we will win"']),
    ("He said “we will win” today.", ["“we will win”"]),
    ("Il a dit « nous gagnerons » hier.", ["« nous gagnerons »"]),
    ("Er sagte „wir gewinnen“ heute.", ["„wir gewinnen“"]),
    ("“Unbalanced quote runs on\n\nNext paragraph.", ["“Unbalanced quote runs on"]),
    ("“First paragraph of a quote.\n\n“Second paragraph,” he said.",
     ["“First paragraph of a quote.\n\n“Second paragraph,”"]),
])
def test_quote_marks(text: str, expected: list[str]) -> None:
    assert [text[s:e] for s, e in quote_spans(text)] == expected


def test_newswire_double_apostrophes() -> None:
    text = "''This isn't reform,'' he said. ''It's tinkering.''"
    assert [text[s:e] for s, e in quote_spans(text)] == ["''This isn't reform,''",
                                                          "''It's tinkering.''"]

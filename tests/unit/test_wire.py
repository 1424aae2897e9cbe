"""Wire attribution (pipeline.group.wire): the rules' own examples, mentions that are not
credits, bylines, extra rules and stripping what copies add around the story."""

from __future__ import annotations

import pytest

from pipeline.group.wire import WireDetector, bundled_rules, detect, strip

AGENCIES, NOT_WIRE = bundled_rules()
EXAMPLES = [(a.name, ex) for a in AGENCIES for ex in a.examples]


def test_every_agency_of_the_brief_is_there_with_examples() -> None:
    names = {a.name for a in AGENCIES}
    assert {"AFP", "AP", "Reuters", "DPA", "EFE", "ANSA", "Xinhua", "PA", "UPI"} <= names
    assert all(a.examples for a in AGENCIES)


@pytest.mark.parametrize(("name", "text"), EXAMPLES)
def test_examples_are_detected(name: str, text: str) -> None:
    assert detect(text) == name


@pytest.mark.parametrize("text", NOT_WIRE)
def test_mentions_are_not_credits(text: str) -> None:
    assert detect(text) is None


@pytest.mark.parametrize(("authors", "name"), [
    (["Associated Press"], "AP"),
    (["Jane Doe, AFP"], "AFP"),
    (["Reuters"], "Reuters"),
    (["PA Media"], "PA"),
    (["Jane Doe"], None),
])
def test_bylines(authors: list[str], name: str | None) -> None:
    assert detect("The council met on Monday.", authors=authors) == name


def test_a_byline_line_in_the_text() -> None:
    assert detect("By JOHN DOE, Associated Press\n\nThe council met on Monday.") == "AP"


def test_the_dateline_wins_over_a_later_credit() -> None:
    text = "PARIS (AFP) — Talks resumed.\n\nReuters contributed to this report."
    assert WireDetector().detect(text).evidence == "dateline"  # type: ignore[union-attr]
    assert detect(text) == "AFP"


def test_extra_rules_add_an_agency() -> None:
    extra = {"agencies": [{"name": "Kyodo", "dateline": ["Kyodo"], "credit": ["\\bKyodo\\b"]}]}
    found = WireDetector(extra=extra).detect("TOKYO (Kyodo) -- Japan's cabinet approved it.")
    assert found is not None and found.name == "Kyodo"
    assert detect("TOKYO (Kyodo) -- Japan's cabinet approved it.") is None  # not bundled


@pytest.mark.parametrize(("text", "stripped"), [
    ("MOSCOW (AFP) — Putin met Assad.", "Putin met Assad."),
    ("LONDON, Nov 19 (Reuters) - Inflation fell.", "Inflation fell."),
    ("(ANSA) - ROME, NOV 19 - Meloni met union leaders.", "Meloni met union leaders."),
    ("Inflation fell.\n\n(Reporting by Jane Doe; Editing by John Smith)", "Inflation fell."),
    ("The vote is Tuesday.\n\nCopyright 2019 The Associated Press. All rights reserved.",
     "The vote is Tuesday."),
    ("Floods hit.\n\n© 2024 AFP", "Floods hit."),
    ("LONDON (CNN) — The prime minister resigned.", "LONDON (CNN) — The prime minister resigned."),
])
def test_strip(text: str, stripped: str) -> None:
    assert strip(text) == stripped


def test_strip_keeps_story_sentences_that_name_an_agency() -> None:
    text = "A.\n\nThe minister told AFP that no decision had been taken, adding more words."
    assert strip(text) == text

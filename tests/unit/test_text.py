"""pipeline.core.text.clean_text: invisible format characters out, needed joiners kept."""

from __future__ import annotations

import pytest

from pipeline.core.text import clean_text


@pytest.mark.parametrize(("dirty", "clean"), [
    ("Vladimir\u200b Putin", "Vladimir Putin"),
    ("Vladimir\u200b\u200d\u200b Putin", "Vladimir Putin"),  # no joiner between invisibles
    ("\ufeff\u202bAl\u00ad-Watan\u202c", "Al-Watan"),
    ("\u2067x\u2069 \u200ey\u200f", "x y"),
    ("Cafe\u0301", "Café"),
])
def test_format_characters_go(dirty: str, clean: str) -> None:
    assert clean_text(dirty) == clean


@pytest.mark.parametrize("kept", [
    "\U0001f469\u200d\U0001f4bb",  # woman technologist: emoji ZWJ sequence
    "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # flag: tags
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian: ZWNJ inside a word
    "plain text, nothing to do",
])
def test_needed_joiners_stay(kept: str) -> None:
    assert clean_text(kept) == kept


def test_clean_text_is_idempotent() -> None:
    once = clean_text("a\u200b\u200db \U0001f469\u200d\U0001f4bb e\u0301")
    assert clean_text(once) == once

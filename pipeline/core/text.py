r"""Text cleaning shared by the stages: invisible format characters out, NFC in.

Zero-width and bidi control characters (Unicode category Cf) are invisible but split
or glue words, so a name full of them is not the name a reader searches for.
:func:`clean_text` removes them and composes the text (NFC) *before* enrichment, so
the text that is stored is the text whose character offsets the entities carry::

    >>> clean_text("Vladimir\u200b Putin \u202eand\u202c Cafe\u0301")
    'Vladimir Putin and Café'

A zero-width (non-)joiner between two non-ASCII letters or symbols is kept: emoji
sequences and Persian or Indic spelling need it::

    >>> clean_text("\U0001f469\u200d\U0001f4bb ok\u200d") == "\U0001f469\u200d\U0001f4bb ok"
    True
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import lru_cache

_JOINERS = "\u200c\u200d"
_TAGS = range(0xE0020, 0xE0080)  # emoji tag sequences (subdivision flags) follow a symbol


@lru_cache(maxsize=1)
def _format_chars() -> re.Pattern[str]:
    """A pattern matching one Cf character (built once: the scan takes ~0.1 s)."""
    chars = [chr(c) for c in range(sys.maxunicode + 1)
             if unicodedata.category(chr(c)) == "Cf"]
    return re.compile("[" + "".join(re.escape(c) for c in chars) + "]")


def _joinable(ch: str) -> bool:
    return not (ch.isascii() or ch.isspace() or unicodedata.category(ch).startswith("C"))


def _joins(text: str, i: int) -> bool:
    """Whether the format character at ``i`` joins two non-ASCII letters or symbols."""
    ch = text[i]
    before = text[i - 1] if i else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    if ord(ch) in _TAGS:  # a tag sequence follows its symbol, up to its cancel tag
        return _joinable(before) or ord(before) in _TAGS
    return ch in _JOINERS and _joinable(before) and _joinable(after)


def clean_text(text: str) -> str:
    """``text`` without invisible format characters (but needed joiners), composed (NFC)."""
    pattern = _format_chars()
    if pattern.search(text):
        text = pattern.sub(lambda m: m.group() if _joins(m.string, m.start()) else "", text)
    return unicodedata.normalize("NFC", text)

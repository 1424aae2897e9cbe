"""Quotation spans in text, for every kind of quote mark.

Pairs straight, curly, guillemet and low-9 quotes; an unbalanced quote runs to
the end of its paragraph, and a quote continued across paragraphs (the next
paragraph opens with a quote mark) is joined::

    >>> quote_spans('He said: “Yes, we will.” Then left.')
    [(9, 24)]
"""

from __future__ import annotations

from pipeline.core.vocabulary import QUOTE_PAIRS


def _double_apostrophes(text: str, max_len: int) -> list[tuple[int, int]]:
    """Newswire style ''quoted text'' (two apostrophes each side), paired per paragraph."""
    spans = []
    for para_start, para in _paragraphs(text):
        marks = [i for i in range(len(para) - 1) if para[i:i + 2] == "''"
                 and (i == 0 or para[i - 1] != "'")]
        for a, b in zip(marks[::2], marks[1::2], strict=False):
            if b + 2 - a <= max_len:
                spans.append((para_start + a, para_start + b + 2))
    return spans


def _paragraphs(text: str) -> list[tuple[int, str]]:
    out, start = [], 0
    for part in text.split("\n"):
        out.append((start, part))
        start += len(part) + 1
    return out


def quote_spans(text: str, *, max_len: int = 5000) -> list[tuple[int, int]]:
    spans = _mark_spans(text, max_len=max_len)
    if "''" in text:
        taken = spans[:]
        for s, e in _double_apostrophes(text, max_len):
            if not any(a < e and s < b for a, b in taken):
                spans.append((s, e))
        spans.sort()
    return spans


def _mark_spans(text: str, *, max_len: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        close = QUOTE_PAIRS.get(ch)
        if close is None or (ch == '"' and i > 0 and text[i - 1].isalnum()):
            i += 1
            continue
        j = i + 1
        end = -1
        while j < n and j - i < max_len:
            c = text[j]
            if c == close or (ch == "„" and c == "”"):
                end = j + 1
                break
            if c == "\n" and text[j:j + 2] == "\n\n":
                nxt = text[j:].lstrip("\n")
                if not nxt or nxt[0] != ch:
                    end = j  # unbalanced: stops at the paragraph's end
                    break
                j = n - len(nxt)  # quote continues in the next paragraph
            j += 1
        if end == -1:
            end = min(n, j)
        if end - i > 2:
            spans.append((i, end))
        i = max(end, i + 1)
    return spans

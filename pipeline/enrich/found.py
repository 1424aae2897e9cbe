"""What an attribution rule finds, before sources are resolved: character ranges.

    >>> Found("direct", content=(10, 20), cue=(3, 7), source=(0, 2)).kind
    'direct'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from spacy.tokens import Doc

Range = tuple[int, int]
Stance = Literal["neutral", "distancing", "endorsing"]


def doc_text(doc: Doc) -> str:
    """``doc.text`` once: spaCy rebuilds the string on every access."""
    text = doc.user_data.get("newsflow_text")
    if text is None:
        text = doc.user_data["newsflow_text"] = doc.text
    return str(text)


@dataclass
class Found:
    kind: str
    content: Range
    cue: Range | None
    source: Range | None
    extra: list[Range] = field(default_factory=list)  # further parts of a split quote
    cites_for: Range | None = None  # a "citing" link: the content of the report it serves
    rule: str | None = None  # the construction (or post-pass) that found it
    stance: Stance | None = None  # neutral, distancing or endorsing: the cue's (post-pass)

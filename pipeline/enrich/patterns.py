"""Line patterns that need no parse: transcript speaker labels and headline quotes.

    >>> [(f.source, f.content) for f in speaker_labels("PENCE: Well, look, we will win.")]
    [((0, 5), (7, 30))]
    >>> [(f.source, f.content) for f in dash_credits("“We will win.” ― Maria Lopez")]
    [((17, 28), (0, 14))]
"""

from __future__ import annotations

import re

from pipeline.enrich.found import Found

NAME = r"(?:[A-Z][\w.'’\-]*)(?: [A-Z][\w.'’\-]*){0,3}"
LABEL = re.compile(rf"^[\"“]?(?P<src>{NAME}):[ \t]+(?P<body>\S.*)$", re.MULTILINE)
NOT_SPEAKERS = {"note", "update", "source", "sources", "photo", "video", "watch", "read",
                "related", "editor's note", "editor’s note", "correction", "warning", "q", "a",
                "question", "answer", "advertisement", "tags", "topics", "share", "image",
                "credit", "caption", "by", "more", "listen", "breaking", "live", "opinion",
                "analysis", "exclusive", "updated", "see also", "also", "summary"}


def speaker_labels(text: str) -> list[Found]:
    """'NAME: utterance' at the start of a line -> an attribution to NAME."""
    out = []
    for m in LABEL.finditer(text):
        name = m.group("src")
        if name.lower() in NOT_SPEAKERS or any(ch.isdigit() for ch in name):
            continue
        body_start, body_end = m.start("body"), m.end("body")
        while body_end > body_start and text[body_end - 1] in " \t.":
            body_end -= 1
        if body_end - body_start < 8:
            continue
        colon = m.end("src")
        out.append(Found("direct" if text[body_start] in "\"“'‘«" else "indirect",
                         (body_start, body_end), (colon, colon + 1), (m.start("src"), colon)))
    return out


DASH_CREDIT = re.compile(rf"(?P<q>[“”\"«][^\n]{{8,}}?[”\"»])[ \t\xa0]*(?P<cue>[―—–])[ \t\xa0]*"
                         rf"(?P<src>{NAME})")


def dash_credits(text: str) -> list[Found]:
    """'“We will win.” ― Maria Lopez': a quote credited after a dash."""
    return [Found("direct", (m.start("q"), m.end("q")), (m.start("cue"), m.end("cue")),
                  (m.start("src"), m.end("src"))) for m in DASH_CREDIT.finditer(text)]

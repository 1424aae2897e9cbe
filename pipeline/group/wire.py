"""Wire attribution: which news agency (AFP, AP, Reuters, ...) an article carries.

The rules are data (``wires.yaml`` beside this module: names, patterns, examples). The
evidence is where agencies put it, strongest first: the opening dateline, the byline,
the credit line in the first or last paragraphs. A mere mention ("Reuters reported",
"told AFP") is no evidence::

    >>> detect("MOSCOW (AFP) — Russian President Vladimir Putin will hold talks.")
    'AFP'
    >>> detect("Shares rose.\\n\\n(Reporting by Jane Doe; Editing by John Smith)")
    'Reuters'
    >>> detect("Rain.", authors=["Associated Press"])
    'AP'
    >>> print(detect("The minister told AFP that no decision had been taken."))
    None

:func:`strip` removes what a copy adds or drops around the story (the dateline, credit
and copyright lines) before texts are compared::

    >>> strip("WASHINGTON (AP) — The Senate voted.\\n\\nCopyright 2019 The Associated Press. "
    ...       "All rights reserved.")
    'The Senate voted.'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml

Evidence = Literal["dateline", "byline", "credit"]

# "MOSCOW (AFP) —", "LONDON, Nov 19 (Reuters) -", "BEIJING, Nov. 19 (Xinhua) --",
# "(AP) —", "Nov. 19 (UPI) --", "MADRID (EFE).-", "(ANSA) - ROME, NOV 19 -".
_PLACE = r"[A-Z][\w.'’-]*(?:[ /]+[A-Z][\w.'’-]*){0,4}"
_DATE = r"(?:[A-Z][A-Za-z]{2,8}\.?\s+\d{1,2}|\d{1,2}\s+[A-Za-z]{3,9}\.?)"
DATELINE = re.compile(
    rf"^\s*(?:(?:{_PLACE})(?:\s*,\s*{_DATE})?\s*|{_DATE}\s*)?"
    r"\((?P<tag>[^()\n]{1,30})\)\s*\.?\s*(?:[-—–:]+|\.-)\s*"
    rf"(?:{_PLACE}\s*,\s*{_DATE}\s*[-—–]+\s*)?")
COPYRIGHT = re.compile(r"^\s*(?:copyright|©|\(c\))\s.{0,200}$|\ball rights reserved\b.{0,160}$|"
                       r"^.{0,200}\bmay not be (?:published|reproduced|redistributed)\b.*$",
                       re.IGNORECASE)
PARAGRAPH = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Agency:
    """One wire agency: its name and the patterns of each kind of evidence."""

    name: str
    dateline: frozenset[str]
    byline: tuple[re.Pattern[str], ...]
    credit: tuple[re.Pattern[str], ...]
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Wire:
    """A detection: the agency, the kind of evidence and the text it was found in."""

    name: str
    evidence: Evidence
    matched: str


def _patterns(items: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE | re.MULTILINE) for p in items)


def parse_rules(data: Mapping[str, Any]) -> tuple[list[Agency], list[str]]:
    """Agencies and negative examples from the rules' mapping (the YAML's shape)."""
    agencies = [Agency(name=str(a["name"]),
                       dateline=frozenset(str(t).lower() for t in a.get("dateline", [])),
                       byline=_patterns(a.get("byline", [])),
                       credit=_patterns(a.get("credit", [])),
                       examples=tuple(a.get("examples", [])))
                for a in data.get("agencies", [])]
    return agencies, list(data.get("not_wire", []))


@lru_cache(maxsize=1)
def bundled_rules() -> tuple[tuple[Agency, ...], tuple[str, ...]]:
    """The rules shipped with the package (``pipeline/group/wires.yaml``), loaded once."""
    text = (resources.files("pipeline.group") / "wires.yaml").read_text("utf-8")
    agencies, negatives = parse_rules(yaml.safe_load(text))
    return tuple(agencies), tuple(negatives)


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in PARAGRAPH.split(text.strip()) if p.strip()]


def _edges(text: str, *, first: int = 1, last: int = 3) -> list[str]:
    """The paragraphs where credits stand: the first and the last few (short ones)."""
    paras = _paragraphs(text)
    picked = paras[:first] + paras[max(first, len(paras) - last):]
    return [p for p in picked if len(p) <= 600]


@dataclass
class WireDetector:
    """Detects the agency of an article from its dateline, byline and credit lines.

    ``extra`` rules (same shape as ``wires.yaml``) come before the bundled ones, so a
    deployment can add agencies or override one by name.
    """

    extra: Mapping[str, Any] | None = None
    agencies: list[Agency] = field(init=False)

    def __post_init__(self) -> None:
        bundled, _ = bundled_rules()
        added = parse_rules(self.extra)[0] if self.extra else []
        names = {a.name for a in added}
        self.agencies = added + [a for a in bundled if a.name not in names]

    def dateline(self, text: str) -> Wire | None:
        m = DATELINE.match(text[:300])
        if m:
            tag = m.group("tag").strip().lower()
            for agency in self.agencies:
                if tag in agency.dateline:
                    return Wire(agency.name, "dateline", m.group().strip())
        return None

    def byline(self, authors: Sequence[str], text: str) -> Wire | None:
        head = text.lstrip().split("\n", 1)[0][:120]
        lines = [a.strip() for a in authors if a.strip()]
        if head.lower().startswith("by "):
            lines.append(head[3:].strip())
        for line in lines:
            for agency in self.agencies:
                if any(p.search(line) for p in agency.byline):
                    return Wire(agency.name, "byline", line)
        return None

    def credit(self, text: str) -> Wire | None:
        for para in _edges(text):
            for agency in self.agencies:
                for p in agency.credit:
                    m = p.search(para)
                    if m:
                        return Wire(agency.name, "credit", m.group().strip())
        return None

    def detect(self, text: str, authors: Sequence[str] = ()) -> Wire | None:
        """The agency the article credits (strongest evidence first), or None."""
        return self.dateline(text) or self.byline(authors, text) or self.credit(text)

    def strip(self, text: str) -> str:
        """``text`` without its opening dateline and its credit and copyright lines."""
        m = DATELINE.match(text[:300])
        if m and any(m.group("tag").strip().lower() in a.dateline for a in self.agencies):
            text = text[m.end():]
        paras = _paragraphs(text)
        keep = [p for i, p in enumerate(paras)
                if not ((i == 0 or i >= len(paras) - 3) and self._is_credit(p))]
        return "\n\n".join(keep)

    def _is_credit(self, para: str) -> bool:
        """A paragraph that is only a credit or copyright line (not a story sentence)."""
        if len(para) > 400:
            return False
        if COPYRIGHT.search(para):
            return True
        for agency in self.agencies:
            for p in agency.credit:
                m = p.search(para)
                if m and len(para) - len(m.group()) < 40:
                    return True
        return False


@lru_cache(maxsize=1)
def _default() -> WireDetector:
    return WireDetector()


def detect(text: str, authors: Sequence[str] = ()) -> str | None:
    """The name of the agency ``text`` credits (bundled rules), or None."""
    found = _default().detect(text, authors)
    return found.name if found else None


def strip(text: str) -> str:
    """``text`` without dateline, credit and copyright lines (bundled rules)."""
    return _default().strip(text)

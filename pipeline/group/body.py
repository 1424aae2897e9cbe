"""The text copies are compared on: the story without what outlets add around it.

:func:`comparable` drops datelines, credit and copyright lines (:mod:`pipeline.group.wire`),
editor's notes and related-links blocks; :func:`tokens` gives its words as compared
(folded, percentages spelt one way, CJK characters one by one); :func:`keys` its names and
numbers, which a copy keeps and a templated story about others does not.
"""

from __future__ import annotations

import re

from pipeline.group.text import fold, words
from pipeline.group.wire import PARAGRAPH, WireDetector

NOTE = re.compile(r"^\W{0,3}(?:editor['’]?s['’]? notes?|editorial note|note to (?:readers|editors)"
                  r"|this (?:story|article) (?:has been|was) (?:updated|corrected|amended)"
                  r"|correction\s*[:—–-]|clarification\s*[:—–-]|update\s*[:—–-])",
                  re.IGNORECASE)
RELATED = re.compile(r"^\W{0,3}(?:related(?: (?:coverage|stories|articles|links|content))?"
                     r"|read (?:more|also|next)|also read|see also|more (?:on this|from \w+)"
                     r"|recommended(?: reading)?|further reading|you may also like"
                     r"|more stories)\b\s*[:|—–-]?",
                     re.IGNORECASE)
PERCENT = re.compile(r"(\d)\s*(?:%|per\s?cent\b|pct\b)", re.IGNORECASE)
KEY = re.compile(r"(?<![\w’'])(?:[A-Z][\w’'.-]*[\w]|[A-Z]|\d[\d,.:]*\d|\d)")
STARTERS = frozenset({"a", "about", "according", "after", "against", "all", "also", "although",
                      "an", "and", "another", "any", "as", "at", "because", "before", "both",
                      "but", "by", "despite", "during", "each", "earlier", "either", "even",
                      "every", "few", "for", "from", "he", "her", "here", "his", "however", "i",
                      "if", "in", "instead", "it", "its", "last", "later", "many", "meanwhile",
                      "more", "most", "much", "my", "neither", "no", "nor", "not", "now", "of",
                      "on", "once", "one", "only", "or", "other", "our", "over", "previously",
                      "she", "since", "so", "some", "still", "such", "than", "that", "the",
                      "their", "them", "then", "there", "these", "they", "this", "those",
                      "though", "through", "to", "under", "unlike", "until", "up", "we", "what",
                      "when", "where", "whether", "which", "while", "who", "why", "with",
                      "within", "without", "yet", "you"})
NUMBER_WORDS = {w: str(i) for i, w in enumerate(["zero", "one", "two", "three", "four",
                                                  "five", "six", "seven", "eight", "nine",
                                                  "ten"])}
NUMBER_WORD = re.compile(r"\b(" + "|".join(NUMBER_WORDS) + r")\b", re.IGNORECASE)
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
WIRES = WireDetector()
MAX_CHARS = 100_000  # characters of an article compared: its head (a bounded cost per article)
_OPENING = frozenset(" \t\"“‘'(«[—–-")


def bounded(text: str, *, cap: int = MAX_CHARS) -> str:
    """The part of ``text`` compared: all of it up to ``cap`` characters, else its head,
    cut at the last paragraph break (or space) before ``cap``. Deterministic, so two
    copies of one long text are compared on the same words, and the cost of comparing
    an article is bounded whatever its size::

        >>> bounded("one two three four", cap=10)
        'one two'
        >>> bounded("short") == "short"
        True
    """
    if len(text) <= cap:
        return text
    head = text[:cap]
    cut = head.rfind("\n\n")
    if cut < cap // 2:
        cut = head.rfind(" ")
    return head[:cut] if cut > 0 else head


def edges(text: str, *, cap: int = MAX_CHARS) -> str:
    """``text`` up to ``cap`` characters, else its head and its tail (where datelines,
    bylines and credit lines are), each half of ``cap``."""
    if len(text) <= cap:
        return text
    return text[:cap // 2] + "\n\n" + text[-(cap // 2):]


def _linky(para: str) -> bool:
    """A line of a related-links block: short, no sentence end."""
    return len(para.split()) <= 16 and not para.rstrip().endswith((".", "!", "?", "”", '"'))


def comparable(text: str) -> str:
    """The story's own text: no dateline, credits, editor's notes or related links.

        >>> comparable("WASHINGTON (AP) — The Senate voted.\\n\\nRelated:\\n\\nHouse delays "
        ...            "vote\\n\\nEditor's note: updated.\\n\\nIt was close.")
        'The Senate voted.\\n\\nIt was close.'
    """
    paras = [p.strip() for p in PARAGRAPH.split(text) if p.strip()]
    keep: list[str] = []
    links = 0  # headlines of a related-links block still expected
    for para in paras:
        if NOTE.match(para):
            links = 0
            continue
        if RELATED.match(para):
            rest = RELATED.sub("", para, count=1).strip()
            if not rest or _linky(rest):
                links = 0 if rest else 3
                continue
        if links and "\n" not in para and _linky(para):
            links -= 1
            continue
        links = 0
        keep.append(para)
    return WIRES.strip("\n\n".join(keep))


def tokens(text: str) -> list[str]:
    """The words compared: :func:`comparable` text, folded, percentages spelt one way;
    scripts written without spaces (Chinese, Japanese) count each character as a word.

        >>> tokens("Inflation rose 5 per cent.") == tokens("Inflation rose 5%.")
        True
        >>> tokens("東京で会議")
        ['東', '京', 'で', '会', '議']
    """
    return _tokens(comparable(text))


def _tokens(body: str) -> list[str]:
    out: list[str] = []
    for word in words(PERCENT.sub(r"\1 percent", body)):
        if CJK.search(word):
            out.extend(word)
        else:
            out.append(word)
    return out


def keys(body: str) -> tuple[set[str], set[str]]:
    """(names, numbers) of a text: capitalised words inside sentences, or opening two of
    them (not common openers: "The", "He", "According"...), and numbers (number words up
    to ten as digits). A copy keeps them; a templated story on other people, places or figures does
    not::

        >>> names, numbers = keys("Maria Okafor said on Monday that two of the 1,500 talks "
        ...                       "in Berlin failed. Okafor said the rest would resume.")
        >>> sorted(names), sorted(numbers)
        (['berlin', 'monday', 'okafor'], ['1500', '2'])
    """
    names: set[str] = set()
    openers: list[str] = []  # capitalised only because they open a sentence, maybe
    seen: dict[str, int] = {}
    numbers = {NUMBER_WORDS[w.lower()] for w in NUMBER_WORD.findall(body)}
    for m in KEY.finditer(body):
        word = m.group()
        if word[0].isdigit():
            numbers.add(re.sub(r"[^\d]", "", word))
            continue
        name = fold(word).rstrip(".’'")
        seen[name] = seen.get(name, 0) + 1
        i = m.start() - 1
        while i >= 0 and body[i] in _OPENING:  # the character before, openers skipped
            i -= 1
        if i >= 0 and body[i] not in ".!?:\n":
            names.add(name)
        elif name not in STARTERS:
            openers.append(name)
    names.update(n for n in openers if seen[n] > 1)  # a name that opens two sentences
    return names, numbers

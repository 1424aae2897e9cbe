"""The cost of placing an article is bounded whatever its size: the story index compares
the head of a text (pipeline.group.body.bounded), deterministically, so copies of one huge
text still meet, and articles of ordinary size are compared on all of their words."""

from __future__ import annotations

import random

from pipeline.group.body import MAX_CHARS, bounded, edges, keys
from pipeline.group.copies import Body, Signature, StoryIndex
from tests.unit.copies_text import WIRE


def _huge(chars: int, seed: int = 7) -> str:
    """A text of ``chars`` characters of distinct sentences (its shingles grow with it)."""
    rng = random.Random(seed)
    out: list[str] = []
    size = 0
    while size < chars:
        para = " ".join(f"w{rng.randrange(10**6)}" for _ in range(40)) + "."
        out.append(para)
        size += len(para) + 2
    return "\n\n".join(out)


def test_a_huge_text_is_signed_on_a_bounded_head() -> None:
    text = _huge(2 * 1024 * 1024)
    sig = Signature.of(text)
    head = Signature.of(bounded(text))
    # the work is bounded: no more shingles than words in MAX_CHARS characters
    assert len(sig.hashes) <= MAX_CHARS // 2
    assert len(bounded(text)) <= MAX_CHARS
    assert (sig.hashes == head.hashes).all()


def test_an_ordinary_article_is_signed_on_all_its_words() -> None:
    assert bounded(WIRE) == WIRE
    assert edges(WIRE) == WIRE
    assert (Signature.of(WIRE).hashes == Signature.of(WIRE + " ").hashes).all()


def test_copies_of_a_huge_text_still_join_one_story() -> None:
    text = _huge(3 * 1024 * 1024)
    index = StoryIndex()
    assert index.assign(Body(id="big", text=text)) == ("big", None, None)
    copy = "PARIS (AFP) — " + text[: len(text) - 5000] + "\n\n© 2026 AFP"
    story, copy_of, similarity = index.assign(Body(id="copy", text=copy))
    assert (story, copy_of) == ("big", "big")
    assert similarity is not None and similarity > 0.9
    other = _huge(3 * 1024 * 1024, seed=8)
    assert index.assign(Body(id="other", text=other)) == ("other", None, None)


def test_names_are_read_in_one_pass() -> None:
    # a sentence start is found by looking back over openers, not by copying the text
    body = "He met Okafor. “Okafor left,” (Berlin said). " * 3
    names, _ = keys(body)
    assert names == {"okafor", "berlin"}

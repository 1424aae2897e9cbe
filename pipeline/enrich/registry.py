"""What an attribution construction and a post-pass are, and the matcher they share.

A :class:`Construction` is one named way English attributes content to a source
("X said that …", "…, according to X", "“…,” said X"). It finds attributions either
through spaCy ``DependencyMatcher`` patterns (``patterns`` + ``build``: the engine runs
one matcher over the document and hands each match to ``build``) or, where a pattern
cannot say it, through a small function (``find``). Each carries example sentences,
which the tests run: every example must yield an attribution with that rule.

A :class:`PostPass` is one step after the constructions (growing a content to its whole
quote, adding cue-less quotes, ...); the engine runs them in the documented order of
``pipeline.enrich.postpass.POST_PASSES``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from spacy.matcher import DependencyMatcher
from spacy.strings import hash_string  # type: ignore[attr-defined]
from spacy.tokens import Doc, Span, Token
from spacy.vocab import Vocab

from pipeline.enrich.cuegate import CueGate
from pipeline.enrich.found import Found

Match = dict[str, Token]  # the RIGHT_ID of each pattern node -> the token it matched
Build = Callable[[Match, Span, Doc], Found | None]
FindInSentence = Callable[[Span, Doc], list[Found]]
FindInText = Callable[[str], list[Found]]
Link = Callable[[Match, Span, Doc, list[Found]], list[Found]]


@dataclass(frozen=True)
class Construction:
    """One registered attribution construction.

    Exactly one of ``build`` (with ``patterns``), ``find``, ``find_text`` or ``link``
    is set. Patterns name their cue node ``cue``; a construction whose cue token an
    earlier construction already used in the sentence is skipped for that token.
    """

    name: str
    type: str  # the family it belongs to, for per-type figures
    description: str
    examples: tuple[str, ...]
    patterns: tuple[list[dict[str, Any]], ...] = ()
    build: Build | None = None
    find: FindInSentence | None = None
    find_text: FindInText | None = None  # runs on the whole text, before any sentence
    link: Link | None = None  # runs after the others of its sentence, given what they found


@dataclass(frozen=True)
class PostPass:
    """One step after the constructions, over the whole document's attributions."""

    name: str
    description: str
    run: Callable[[Doc, list[Found]], list[Found]]
    adds: str | None = None  # the rule of the attributions it adds, if it adds any
    examples: tuple[str, ...] = field(default=())  # each must yield an ``adds`` attribution


_MATCHERS: dict[tuple[int, tuple[str, ...]], DependencyMatcher] = {}
_GATES: dict[tuple[int, tuple[str, ...]], CueGate | None] = {}


def _key(vocab: Vocab, constructions: Sequence[Construction]) -> tuple[int, tuple[str, ...]]:
    """The cache key of the matcher and the gate of ``constructions`` in ``vocab``."""
    return id(vocab), tuple(c.name for c in constructions)


def matcher(vocab: Vocab, constructions: Sequence[Construction]) -> DependencyMatcher:
    """One DependencyMatcher per vocabulary holding every construction's patterns."""
    key = _key(vocab, constructions)
    if key not in _MATCHERS:
        m = DependencyMatcher(vocab)
        for c in constructions:
            if c.patterns:
                m.add(c.name, list(c.patterns))
        _MATCHERS[key] = m
    return _MATCHERS[key]


def gated(vocab: Vocab, constructions: Sequence[Construction]) -> CueGate | None:
    """The matcher behind a cue gate (same matches, only trees with a cue word)."""
    key = _key(vocab, constructions)
    if key not in _GATES:
        patterns = [p for c in constructions for p in c.patterns]
        _GATES[key] = CueGate.of(matcher(vocab, constructions), patterns)
    return _GATES[key]


def matches(doc: Doc, constructions: Sequence[Construction]) -> dict[str, list[Match]]:
    """Every pattern match of the document, by construction name, in token order."""
    run = gated(doc.vocab, constructions) or matcher(doc.vocab, constructions)
    patterns = {c.name: c.patterns for c in constructions if c.patterns}
    # names by hash, not through the vocabulary: a memory zone may have freed the string
    names = {hash_string(name): name for name in patterns}
    out: dict[str, list[Match]] = defaultdict(list)
    if not patterns:
        return out
    for match_id, token_ids in run(doc):
        name = names[match_id]
        # which pattern matched: the one with as many nodes (patterns of one construction
        # with the same number of nodes name them alike)
        nodes = next(p for p in patterns[name] if len(p) == len(token_ids))
        out[name].append({node["RIGHT_ID"]: doc[i] for node, i in zip(nodes, token_ids,
                                                                       strict=True)})
    for found in out.values():
        found.sort(key=lambda mt: mt["cue"].i)
    return out

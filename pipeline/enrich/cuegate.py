"""Run a ``DependencyMatcher`` only over the parse trees that hold a possible cue.

Every attribution pattern starts at its cue node, and every cue node names its words
(``LEMMA`` or ``LOWER``, one value or an ``IN`` set). A tree without one of those words
cannot match, yet the matcher's token patterns are tried on every token of the document:
on news text about half the sentences hold no cue word. :class:`CueGate` finds the
trees that do with one vectorised lookup and hands only their tokens to the matcher's
token stage. The result is the plain ``DependencyMatcher``'s, in its order; the tests
compare the two on every rule example, and bench/matcher_cost.py on real news.

>>> import spacy
>>> nlp = spacy.blank("en")
>>> patterns = [[{"RIGHT_ID": "cue", "RIGHT_ATTRS": {"LOWER": {"IN": ["said", "says"]}}}]]
>>> m = DependencyMatcher(nlp.vocab)
>>> m.add("said", patterns)
>>> gate = CueGate.of(m, patterns)   # None when some cue node names no words
>>> doc = nlp("Rain fell. She said so. He says no.")
>>> gate(doc) == m(doc)
True
>>> [doc[i].text for _, (i,) in gate(doc)]
['said', 'says']

It uses the matcher's internals (``_matcher``, ``_patterns``, ``_tree``,
``_tokens_to_key``, ``_get_matches``) of the pinned spaCy 3.8; a spaCy
without them gets no gate and the plain matcher.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from spacy.attrs import LEMMA, LOWER
from spacy.matcher import DependencyMatcher
from spacy.strings import hash_string  # type: ignore[attr-defined]
from spacy.tokens import Doc, Token

_INTERNALS = ("_matcher", "_patterns", "_tree", "_tokens_to_key", "_get_matches")


def _words(attrs: dict[str, Any], attr: str) -> set[str] | None:
    value = attrs.get(attr)
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict) and set(value) == {"IN"}:
        return {str(v) for v in value["IN"]}
    return None


@dataclass(frozen=True)
class CueGate:
    """The matcher plus the hashes of every word a cue node may be."""

    matcher: DependencyMatcher
    lemmas: np.ndarray
    lowers: np.ndarray

    @classmethod
    def of(cls, matcher: DependencyMatcher,
           patterns: Iterable[Sequence[dict[str, Any]]]) -> CueGate | None:
        """The gate for ``patterns`` (all the matcher holds), or None if one cannot be gated."""
        if not all(hasattr(matcher, name) for name in _INTERNALS):
            return None
        lemmas: set[str] = set()
        lowers: set[str] = set()
        for pattern in patterns:
            attrs = pattern[0].get("RIGHT_ATTRS", {})
            lemma, lower = _words(attrs, "LEMMA"), _words(attrs, "LOWER")
            if lemma is None and lower is None:
                return None
            if lemma is not None:  # a node naming both is caught by its lemma alone
                lemmas |= lemma
            elif lower is not None:
                lowers |= lower
        return cls(matcher, _hashes(lemmas), _hashes(lowers))

    def __call__(self, doc: Doc) -> list[tuple[int, list[int]]]:
        """What ``matcher(doc)`` returns: ``(match_id, token indices)`` pairs, in its order."""
        m: Any = self.matcher
        by_root = self._positions(doc)
        out: list[tuple[int, list[int]]] = []
        cache: dict[Any, Any] = {}
        for key in m._patterns:
            for tree, tokens_to_key in zip(m._tree[key], m._tokens_to_key[key],
                                           strict=True):
                for keys_to_position in by_root.values():
                    out.extend((key, found) for found in
                               m._get_matches(cache, doc, tree, tokens_to_key,
                                              keys_to_position))
        return out

    def _positions(self, doc: Doc) -> dict[int, dict[int, list[int]]]:
        """Token-pattern matches grouped by tree root, as the matcher groups them."""
        roots = self.live_roots(doc)
        by_root: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
        for start, end in _spans(doc, roots):
            for match_id, s, _e in self.matcher._matcher(doc[start:end]):
                root = _root(doc[start + s])
                if root in roots:
                    by_root[root][match_id].append(start + s)
        return dict(sorted(by_root.items(), key=lambda kv: _first(kv[1])))

    def live_roots(self, doc: Doc) -> set[int]:
        """The roots of the trees holding a cue word: the only trees that can match."""
        if not len(doc):
            return set()
        arr = doc.to_array([LEMMA, LOWER]).reshape(len(doc), 2)
        hit = np.isin(arr[:, 0], self.lemmas) | np.isin(arr[:, 1], self.lowers)
        roots: set[int] = set()
        for i in np.flatnonzero(hit).tolist():
            roots.add(_root(doc[i]))
        return roots


def _root(tok: Token) -> int:
    """The index of the root of the token's tree (the last of its ancestors)."""
    *_, last = (tok, *tok.ancestors)
    return int(last.i)


def _first(positions: dict[int, list[int]]) -> int:
    return min(p[0] for p in positions.values())


def _spans(doc: Doc, roots: set[int]) -> list[tuple[int, int]]:
    """The token ranges covering the trees of ``roots``, overlapping ones merged."""
    edges = sorted((doc[r].left_edge.i, doc[r].right_edge.i + 1) for r in roots)
    merged: list[tuple[int, int]] = []
    for start, end in edges:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _hashes(words: set[str]) -> np.ndarray:
    return np.array(sorted(hash_string(w) for w in words), dtype=np.uint64)

"""Quote keys computed ahead (by the quotes agent, shipped in a header) give the same
groups as keys computed by the group agent itself."""

from __future__ import annotations

from bench.quote_lookup import build_groups, queries
from pipeline.group.quotes import (
    MemoryStore,
    Params,
    QuoteGroups,
    QuoteKeys,
    fingerprint,
    quote_keys,
)


def _run(with_keys: bool) -> list[str]:
    groups, texts = build_groups(600)
    state = QuoteGroups(MemoryStore(groups))
    out = []
    for i, q in enumerate(queries(300, texts)):
        keys = QuoteKeys.decode(quote_keys(q.content).encode()) if with_keys else None
        out.append(state.add(q, seq=10_000 + i, keys=keys))
    return out


def test_precomputed_keys_give_identical_groups() -> None:
    plain, ahead = _run(False), _run(True)
    assert plain == ahead
    assert len(set(plain)) < len(plain)  # some quotes joined groups: the test can fail


def test_header_of_other_parameters_is_ignored() -> None:
    data = quote_keys("We will never abandon our allies in the region.").encode()
    other = Params(window=6)
    assert fingerprint(other) != fingerprint()
    assert QuoteKeys.decode(data, other) is None
    assert QuoteKeys.decode(data[:-1]) is None

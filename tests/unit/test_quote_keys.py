"""Quote keys computed ahead (by the quotes agent, shipped in a header) give the same
groups as keys computed by the group agent itself."""

from __future__ import annotations

from bench.quote_lookup import build_groups, queries
from pipeline.group.lsh import CompactLSH
from pipeline.group.quotes import (
    PARAMS,
    MemoryStore,
    Params,
    QuoteGroups,
    QuoteKeys,
    fingerprint,
    prepare,
    quote_keys,
    windows,
)
from pipeline.group.text import minhash, shingles
from pipeline.group.window import MAX_QUERY_TERMS, HotWindow


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


def _one_by_one(content: str, p: Params = PARAMS) -> list[tuple[int, ...]]:
    """The band hashes as datasketch computes them: one MinHash per window."""
    lsh = CompactLSH(p.bands * p.rows, (p.bands, p.rows))
    out = []
    for window in dict.fromkeys(windows(prepare(content, p.shingle), p.window,
                                        p.query_stride)):
        m = minhash(shingles(list(window), size=p.shingle), num_perm=p.bands * p.rows)
        out.append(tuple(lsh._H(m.hashvalues[s:e]) for s, e in lsh.hashranges))
    return out


def test_windows_hashed_together_equal_one_minhash_per_window() -> None:
    _, texts = build_groups(200)
    for q in queries(100, texts):
        assert list(quote_keys(q.content).bands) == _one_by_one(q.content)


def test_cold_lookup_terms_from_the_header_equal_those_computed() -> None:
    _, texts = build_groups(200)
    quotes = list(queries(60, texts))
    window = HotWindow(QuoteGroups(), seconds=86400)
    keys = [QuoteKeys.decode(quote_keys(q.content).encode()) for q in quotes]
    computed = window.query_terms(quotes)
    assert window.query_terms(quotes, keys) == computed
    assert len(computed) == len(quotes) and all(computed)
    long = max(computed, key=len)  # a long quote is cut at the limit, the same way
    assert len(long) <= MAX_QUERY_TERMS

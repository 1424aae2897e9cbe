"""Quote grouping at scale: lookup cost per quote with N stored quotes, and state size.

A synthetic stream of quote reports with real n-gram statistics (sentences stitched from a
word-bigram model of the extraction benchmark's texts in ../shared, or of a fixed word list
without it): each statement is reported 1 to 10 times (mean 2), as wire copies, typography
variants and fragments. The state of N stored quotes is built the way a worker rebuilds it
after a restart (groups -> ``QuoteGroups(MemoryStore(...))``, the LSH filled from the
stored variants), then ``--queries`` new reports (a third repeats, a third fragments, a
third new statements) are grouped one at a time and timed.

    python -m bench.quote_lookup --quotes 1000000 --queries 5000

Writes ``bench/results/quote_lookup.json``: lookup p50/p99 (ms), rebuild seconds, resident
memory of the state (RSS growth, MiB per million quotes), the stored documents' size.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import re
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from pipeline.core.contracts import Quote, QuoteArticle, QuoteSpeaker
from pipeline.group.bounded import QuoteGroup
from pipeline.group.quotes import MemoryStore, QuoteGroups
from pipeline.group.speakers import Speaker
from pipeline.group.state import Member

REPORTS = [(1, 0.6), (2, 0.2), (3, 0.1), (5, 0.06), (10, 0.04)]  # reports per statement
T0 = datetime(2026, 1, 1, tzinfo=UTC)
FALLBACK_TEXT = ("The government said it would not accept any deal that left workers worse "
                 "off and that talks with the unions would continue next week in the capital "
                 "while officials warned of further strikes across the country if no "
                 "agreement was reached before the end of the month.")


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20


def bigrams(limit: int = 400) -> dict[str, list[str]]:
    from bench.common import SHARED

    truth = SHARED / "data" / "article-extraction-benchmark" / "ground-truth.json"
    texts = [v.get("articleBody") or "" for v in json.loads(truth.read_text()).values()
             ][:limit] if truth.exists() else [FALLBACK_TEXT]
    nxt: dict[str, list[str]] = defaultdict(list)
    for text in texts:
        words = re.findall(r"[A-Za-z’']+|[.,]", text)
        for a, b in pairwise(words):
            nxt[a].append(b)
    return dict(nxt)


class Statements:
    """Sentences of 6-40 words from the bigram model, each one distinct."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.nxt = bigrams()
        self.starts = [w for w in self.nxt if w[:1].isupper()] or ["The"]

    def make(self) -> str:
        size = max(6, min(40, int(self.rng.lognormvariate(2.85, 0.45))))
        word = self.rng.choice(self.starts)
        out = [word]
        while len(out) < size:
            word = self.rng.choice(self.nxt.get(word) or self.starts)
            out.append(word)
        return "“" + " ".join(out).replace(" .", ".").replace(" ,", ",") + ",”"


def fragment(rng: random.Random, text: str) -> str:
    words = text.strip("“”,").split()
    size = max(5, int(len(words) * rng.uniform(0.4, 0.7)))
    start = rng.randrange(0, max(1, len(words) - size + 1))
    return " ".join(words[start:start + size])


def reports(rng: random.Random) -> int:
    x, acc = rng.random(), 0.0
    for n, p in REPORTS:
        acc += p
        if x < acc:
            return n
    return 1


def build_groups(n_quotes: int, seed: int = 1) -> tuple[list[QuoteGroup], list[str]]:
    """Groups holding ``n_quotes`` reports, as a worker would reload them."""
    rng, gen = random.Random(seed), Statements(seed)
    groups: list[QuoteGroup] = []
    texts: list[str] = []
    count = 0
    while count < n_quotes:
        text = gen.make()
        k = min(reports(rng), n_quotes - count)
        gid = f"{len(groups):032x}"
        g = QuoteGroup(id=gid, founded=count + 1)
        speaker = Speaker(text=f"Speaker {len(groups) % 5000}",
                          canonical=f"Speaker {len(groups) % 5000}", type="person")
        for j in range(k):
            content = text if j == 0 or rng.random() < 0.75 else fragment(rng, text)
            g.add(Member(quote=f"{gid[:24]}{j:08x}", article=f"a{count:031x}", seq=count + 1,
                         publisher=f"Outlet {rng.randrange(200)}", speaker=speaker,
                         published_at=(T0 + timedelta(minutes=count)).isoformat()), content)
            count += 1
        groups.append(g)
        texts.append(text)
    return groups, texts


def queries(n: int, texts: list[str], seed: int = 2) -> list[Quote]:
    rng, gen = random.Random(seed), Statements(seed + 100)
    out = []
    for i in range(n):
        kind = i % 3
        content = rng.choice(texts) if kind == 0 else \
            fragment(rng, rng.choice(texts)) if kind == 1 else gen.make()
        out.append(Quote(id=f"query{i:027d}", index=0, kind="direct", content=content,
                         article=QuoteArticle(id=f"qa{i:030d}", publisher="Bench"),
                         speaker=QuoteSpeaker(text="Speaker 1", canonical="Speaker 1",
                                              type="person")))
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def run(n_quotes: int, n_queries: int) -> dict[str, Any]:
    gc.collect()
    base = rss_mib()
    t0 = time.perf_counter()
    groups, texts = build_groups(n_quotes)
    made = time.perf_counter() - t0
    sample = groups[:: max(1, len(groups) // 2000)]
    doc_bytes = sum(len(json.dumps(g.to_doc())) for g in sample) / len(sample)
    gc.collect()
    with_groups = rss_mib()
    t1 = time.perf_counter()
    state = QuoteGroups(MemoryStore(groups))
    rebuild = time.perf_counter() - t1
    gc.collect()
    full = rss_mib()
    lsh_keys = len(state.lsh.keys)
    del groups
    qs = queries(n_queries, texts)
    times = []
    joined = 0
    for q in qs:
        t = time.perf_counter()
        gid = state.add(q)
        times.append((time.perf_counter() - t) * 1000)
        joined += gid != q.id
    n_groups = len(state.store)  # type: ignore[arg-type]
    per_million = 1_000_000 / n_quotes
    return {
        "stored_quotes": n_quotes, "groups": n_groups - (n_queries - joined),
        "lsh_keys": lsh_keys, "queries": n_queries,
        "lookup_ms": {"p50": round(pct(times, 50), 3), "p90": round(pct(times, 90), 3),
                      "p99": round(pct(times, 99), 3), "mean": round(sum(times) / len(times),
                                                                     3)},
        "queries_joined_a_group": round(joined / n_queries, 3),
        "rebuild_seconds": round(rebuild, 1), "generate_seconds": round(made, 1),
        "memory_mib": {"groups": round(with_groups - base), "lsh_and_index":
                       round(full - with_groups), "total": round(full - base)},
        "memory_mib_per_million_quotes": round((full - base) * per_million),
        "index_doc_bytes_mean": round(doc_bytes),
        "index_gib_per_million_quotes_source": round(
            doc_bytes * (n_groups - n_queries) * per_million / 2**30, 2),
    }


def main() -> None:
    from bench.common import write

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quotes", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    result = run(args.quotes, args.queries)
    from pipeline.group.quotes import PARAMS

    result["params"] = PARAMS.__dict__
    if args.no_write:
        print(json.dumps(result, indent=2))
    else:
        write("quote_lookup", result)


if __name__ == "__main__":
    main()

"""The attribution matcher with and without its cue gate, side by side on real news.

    python -m bench.matcher_cost [--rounds 5] [--limit N] [--train]

Parses the corpus once (the enrichment model), then per round times the plain
``DependencyMatcher`` and the gated one over every document, alternating A/B, and
checks on every document that both return the same matches in the same order.
``--train`` adds the PolNeAR train texts to the identity check (not to the timing).
Writes bench/results/matcher_cost.json: ms/doc of each, the ratio, the share of
sentences the gate lets through, and the number of documents that differ (must be 0).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from spacy.tokens import Doc

from bench.common import SHARED, corpus, write
from pipeline.enrich.attribution import CONSTRUCTIONS
from pipeline.enrich.cuegate import CueGate
from pipeline.enrich.nlp import load_model
from pipeline.enrich.registry import gated, matcher


def _time(run: Callable[[Doc], object], docs: list[Doc]) -> float:
    start = time.perf_counter()
    for doc in docs:
        run(doc)
    return (time.perf_counter() - start) * 1000 / len(docs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--train", action="store_true")
    args = ap.parse_args()
    nlp = load_model()
    texts = corpus(args.limit)
    docs = list(nlp.pipe(texts, batch_size=16))
    plain = matcher(nlp.vocab, CONSTRUCTIONS)
    gate = gated(nlp.vocab, CONSTRUCTIONS)
    if gate is None:
        raise SystemExit("the patterns cannot be gated (a cue node names no words)")
    check = docs
    if args.train:
        train = sorted((SHARED / "eval" / "polnear" / "train" / "text").glob("*.txt"))
        check = docs + list(nlp.pipe((p.read_text(encoding="utf-8") for p in train),
                                     batch_size=16))
    differ = sum(plain(d) != gate(d) for d in check)
    live = sum(len(_live_sents(gate, d)) for d in docs)
    sents = sum(len(list(d.sents)) for d in docs)
    a, b = [], []
    for _ in range(args.rounds):
        a.append(_time(plain, docs))
        b.append(_time(gate, docs))
    pa, pb = statistics.median(a), statistics.median(b)
    write("matcher_cost", {
        "docs": len(docs), "checked_docs": len(check), "differing_docs": differ,
        "tokens_per_doc": round(sum(len(d) for d in docs) / len(docs), 1),
        "sentences_with_cue_share": round(live / sents, 3),
        "rounds": args.rounds,
        "plain_ms_per_doc": round(pa, 3), "gated_ms_per_doc": round(pb, 3),
        "gated_over_plain": round(pb / pa, 3),
        "pairs": [round(y / x, 3) for x, y in zip(a, b, strict=True)],
    })
    return 1 if differ else 0


def _live_sents(gate: CueGate, doc: Doc) -> set[int]:
    return {doc[r].sent.start for r in gate.live_roots(doc)}


if __name__ == "__main__":
    raise SystemExit(main())

"""Enrichment throughput against plain ``nlp.pipe``, side by side in one run.

    python bench/enrich_throughput.py [--rounds 3] [--limit N]

Both sides use the same model and components (en_core_web_sm, all of them), the
same texts and one process; rounds alternate A/B to cancel drift. Reports
words/s of each and the ratio enrichment / plain; writes JSON and a PNG.
"""

from __future__ import annotations

import argparse
import statistics
import time

import spacy

from bench.common import corpus, pyplot, save_png, write
from pipeline.enrich.article import Enricher
from pipeline.enrich.nlp import MODEL_CANDIDATES


def plain_model() -> spacy.language.Language:
    for name in MODEL_CANDIDATES:
        try:
            return spacy.load(name)
        except OSError:
            continue
    raise SystemExit("no spaCy model installed")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--batch", type=int, default=16)
    args = ap.parse_args()
    texts = corpus(args.limit)
    words = sum(len(t.split()) for t in texts)
    plain, enricher = plain_model(), Enricher(batch_size=args.batch)
    items = [{"id": str(i), "text": t} for i, t in enumerate(texts)]
    list(plain.pipe(texts[:5]))
    enricher.enrich(items[:5])  # warm both
    a_times, b_times = [], []
    for r in range(args.rounds):
        order = ("plain", "enrich") if r % 2 == 0 else ("enrich", "plain")
        for side in order:
            t0 = time.perf_counter()
            if side == "plain":
                for _ in plain.pipe(texts, batch_size=args.batch):
                    pass
                a_times.append(time.perf_counter() - t0)
            else:
                out = enricher.enrich(items)
                b_times.append(time.perf_counter() - t0)
                assert not [o for o in out if isinstance(o, Exception)]
    a, b = statistics.median(a_times), statistics.median(b_times)
    result = {"texts": len(texts), "words": words, "rounds": args.rounds,
              "plain_nlp_pipe": {"seconds_median": round(a, 3), "words_per_s": round(words / a),
                                 "articles_per_s": round(len(texts) / a, 2),
                                 "all_seconds": [round(x, 3) for x in a_times]},
              "enrichment": {"seconds_median": round(b, 3), "words_per_s": round(words / b),
                             "articles_per_s": round(len(texts) / b, 2),
                             "all_seconds": [round(x, 3) for x in b_times]},
              "ratio_enrichment_over_plain": round(a / b, 3)}
    write("enrich_throughput", result)
    plt = pyplot()
    if plt is not None:
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.bar(["plain nlp.pipe", "newsflow enrichment"], [words / a, words / b],
               color=["#888", "#2a7"])
        ax.set_ylabel("words / s (1 process)")
        ax.set_title(f"ratio {a / b:.2f} ({len(texts)} texts)")
        save_png(fig, "enrich_throughput")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

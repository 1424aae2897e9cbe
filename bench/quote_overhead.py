"""What the quotes stage adds to the pipeline's work per article, on one core.

The worker's per-article CPU is enrichment (spaCy and attribution, ``Enricher.enrich``);
the quotes stage adds making the Quote records (``quotes_of``) and grouping them
(``QuoteGroups.add``). Both run here on the same articles (the extraction benchmark's
texts in ../shared, read at run time), and the articles/s of enrichment alone and of
enrichment plus the quotes stage are compared. Kafka and Elasticsearch writes are left
out: the quotes stage adds one small message per attribution and one bulk per batch of
quotes, next to the article's own messages and bulk.

    python -m bench.quote_overhead [--limit 181]
"""

from __future__ import annotations

import argparse
import json
import time

from bench.common import SHARED, write
from pipeline.core.contracts import EnrichedArticle
from pipeline.enrich.article import Enricher
from pipeline.group.grouper import Grouper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=181)
    args = parser.parse_args()
    truth = SHARED / "data" / "article-extraction-benchmark" / "ground-truth.json"
    if not truth.exists():
        raise SystemExit("skipped: ../shared is absent")
    data = json.loads(truth.read_text(encoding="utf-8"))
    items = [{"id": k, "text": v["articleBody"], "publisher": "Bench"}
             for k, v in sorted(data.items()) if v.get("articleBody")][:args.limit]
    enricher = Enricher()
    enricher.enrich(items[:4])  # warm-up: model caches
    t0 = time.perf_counter()
    enriched = [a for a in enricher.enrich(items) if isinstance(a, EnrichedArticle)]
    enrich_s = time.perf_counter() - t0
    grouper = Grouper()
    t1 = time.perf_counter()
    quotes = sum(len(grouper.add(a).quotes) for a in enriched)
    group_s = time.perf_counter() - t1
    n = len(enriched)
    write("quote_overhead", {
        "articles": n, "quotes": quotes,
        "enrich_seconds": round(enrich_s, 2), "quotes_stage_seconds": round(group_s, 3),
        "articles_per_second_enrich": round(n / enrich_s, 2),
        "articles_per_second_enrich_and_quotes": round(n / (enrich_s + group_s), 2),
        "overhead_percent": round(100 * group_s / enrich_s, 2),
        "ms_per_quote": round(1000 * group_s / max(quotes, 1), 3),
    })


if __name__ == "__main__":
    main()

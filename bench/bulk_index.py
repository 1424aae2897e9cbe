"""Bulk indexing throughput (docs/s) of the Indexer on the local stack.

    python -m bench.bulk_index [--docs 5000] [--chunk 500]

Enriches a sample of the corpus once (outside the clock), then indexes ``--docs``
copies with distinct ids through :class:`pipeline.index.indexer.Indexer`, the agent's own
code; writes JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from elasticsearch import Elasticsearch

from bench.common import corpus, write
from bench.pipeline_bench import isolated
from pipeline.core.contracts import EnrichedArticle
from pipeline.enrich.article import Enricher
from pipeline.index.indexer import Indexer
from pipeline.index.mapping import ensure_index, index_name


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--docs", type=int, default=5000)
    ap.add_argument("--chunk", type=int, default=500)
    args = ap.parse_args()
    texts = corpus(60)
    base = [a for a in Enricher().enrich([{"id": str(i), "text": t}
                                          for i, t in enumerate(texts)])
            if isinstance(a, EnrichedArticle)]
    docs = [base[i % len(base)].model_copy(update={"id": f"bulk-{i}"})
            for i in range(args.docs)]
    s = isolated()
    es = Elasticsearch(s.es_url)
    ensure_index(s, es)
    indexer = Indexer(s, chunk_size=args.chunk)

    async def run() -> float:
        try:
            t0 = time.perf_counter()
            rejected = await indexer.index(docs)
            assert not rejected, rejected[:1]
            return time.perf_counter() - t0
        finally:
            await indexer.close()

    seconds = asyncio.run(run())
    es.indices.refresh(index=s.index_alias)
    count = es.count(index=s.index_alias)["count"]
    es.indices.delete(index=index_name(s))
    es.close()
    write("bulk_index", {"docs": args.docs, "chunk": args.chunk, "indexed": count,
                         "seconds": round(seconds, 2),
                         "docs_per_s": round(args.docs / seconds, 1),
                         "avg_entities": round(sum(len(d.entities) for d in base) / len(base), 1),
                         "avg_attributions": round(sum(len(d.attributions) for d in base)
                                                   / len(base), 1)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

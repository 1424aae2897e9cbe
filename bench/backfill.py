"""WARC backfill rate (records/s) beside fastwarc's own read rate of the same file.

    python -m bench.backfill [--pages 181] [--workers 1,2]

Builds a gzip WARC of the article-extraction-benchmark pages (read from ../shared at run
time, written to a temporary file only), then in one run: fastwarc alone (ArchiveIterator
over the response records, each body read; repeated for at least a second), and the
``warc.v1`` connector draining the same file with 1 and 2 extraction processes (their
start-up is left out: the pool is warmed first). The runner and Kafka are left out.
Each pool size runs ``--rounds`` times, alternating, each beside a fresh fastwarc
read; writes bench/results/backfill.json with the rates, their ratio to fastwarc's and
the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from functools import partial
from pathlib import Path
from statistics import median
from typing import Any

from fastwarc.warc import ArchiveIterator, WarcRecordType

from bench.common import extraction_pages, write
from bench.connector_throughput import _warc
from connectors.base import Context
from connectors.extract import cpu_workers
from connectors.http import Fetcher
from connectors.warc import WARCConnector
from pipeline.core.contracts import RawArticle


def fastwarc_rate(path: Path, *, at_least: float = 1.0) -> dict[str, Any]:
    """Records/s of fastwarc iterating the file's response records and reading bodies."""
    rounds = records = size = 0
    t0 = time.perf_counter()
    while True:
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream, record_types=WarcRecordType.response,
                                          parse_http=True):
                size += len(record.reader.read())
                records += 1
        rounds += 1
        seconds = time.perf_counter() - t0
        if seconds >= at_least:
            break
    return {"what": "fastwarc read", "records": records, "rounds": rounds,
            "body_mib": round(size / 2 ** 20, 1), "seconds": round(seconds, 3),
            "records_per_s": round(records / seconds, 1)}


async def backfill_rate(path: Path, workers: int) -> dict[str, Any]:
    """Records/s of the warc.v1 connector extracting the file with ``workers`` processes."""
    pool = cpu_workers(workers)
    await asyncio.gather(*(pool.run(partial(len, b""), timeout=120) for _ in range(workers)))
    conn = WARCConnector(WARCConnector.Config(paths=[str(path)], workers=workers),
                         Context(source="bench-backfill", fetcher=Fetcher()))
    ok = other = 0
    t0 = time.perf_counter()
    async for item in conn.fetch():
        if isinstance(item, RawArticle):
            ok += 1
        else:
            other += 1
    seconds = time.perf_counter() - t0
    pool.shutdown()
    return {"what": f"warc.v1, {workers} worker(s)", "workers": workers, "articles": ok,
            "errors_or_skipped": other, "seconds": round(seconds, 2),
            "records_per_s": round((ok + other) / seconds, 2)}


def summarise(runs: list[dict[str, Any]], sizes: list[int]) -> list[dict[str, Any]]:
    """Medians per pool size; the speedup of each size over the first, round by round."""
    out = []
    for workers in sizes:
        mine = [r for r in runs if r["workers"] == workers]
        firsts = [r for r in runs if r["workers"] == sizes[0]]
        ratio = median(r["ratio_to_fastwarc"] for r in mine)
        out.append({"workers": workers,
                    "records_per_s": round(median(r["records_per_s"] for r in mine), 2),
                    "fastwarc_records_per_s": round(median(r["fastwarc_records_per_s"]
                                                           for r in mine), 1),
                    "ratio_to_fastwarc": round(ratio, 5),
                    "fastwarc_times_faster": round(1 / ratio),
                    "speedup_in_each_round": [round(a["records_per_s"] / b["records_per_s"], 2)
                                              for a, b in zip(mine, firsts, strict=True)]})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pages", type=int, default=181)
    ap.add_argument("--workers", default="1,2", help="comma-separated pool sizes")
    ap.add_argument("--rounds", type=int, default=2,
                    help="each pool size this many times, alternating (timings are noisy)")
    args = ap.parse_args()
    pages = extraction_pages()[:args.pages]
    sizes = [int(w) for w in args.workers.split(",")]
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pages.warc.gz"
        path.write_bytes(_warc([html.encode() for _, html, _ in pages],
                               "https://bench.example.org"))
        warc_mib = round(path.stat().st_size / 2 ** 20, 1)
        for _ in range(args.rounds):
            for workers in sizes:  # fastwarc read just before each, the ratio per pair
                raw = fastwarc_rate(path)
                run = asyncio.run(backfill_rate(path, workers))
                run["fastwarc_records_per_s"] = raw["records_per_s"]
                run["ratio_to_fastwarc"] = round(run["records_per_s"] / raw["records_per_s"], 5)
                runs.append(run)
    summary = summarise(runs, sizes)
    write("backfill", {"pages": len(pages), "warc_gz_mib": warc_mib, "cores": os.cpu_count(),
                       "load_average": [round(x, 1) for x in os.getloadavg()],
                       "summary (medians)": summary, "runs": runs,
                       "note": "one run, side by side, sizes alternating; extraction "
                               "(trafilatura, precision and recall passes) is the cost, "
                               "fastwarc's read is not; on a machine shared with other jobs "
                               "the speedup of more workers is bounded by the cores free"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

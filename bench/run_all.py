"""Run every benchmark in turn (``make bench``); each writes JSON and PNG to bench/results/.

They need ../shared beside the repository (PolNeAR, the extraction benchmark) and the
local stack (``newsflow stack up``) for the pipeline ones. A failing benchmark is reported
and the others still run; the exit code says whether all of them succeeded.
"""

from __future__ import annotations

import subprocess
import sys
import time

BENCHMARKS = [
    ["bench/attribution_eval.py", "--split", "dev"],
    ["-m", "bench.extraction"],
    ["-m", "bench.enrich_throughput"],
    ["-m", "bench.bulk_index"],
    ["-m", "bench.connector_throughput"],
    ["-m", "bench.backfill"],
    ["-m", "bench.pipeline_bench", "throughput"],
    ["-m", "bench.pipeline_bench", "latency", "--rate", "3"],
    ["-m", "bench.pipeline_bench", "memory", "--articles", "10000"],
    ["-m", "bench.quote_groups"],
    ["-m", "bench.quote_lookup", "--quotes", "1000000"],
    ["-m", "bench.quote_overhead"],
]


def main() -> int:
    failed = []
    for args in BENCHMARKS:
        name = " ".join(args)
        print(f"\n=== bench: {name}", flush=True)
        t0 = time.monotonic()
        code = subprocess.run([sys.executable, *args], check=False).returncode
        print(f"=== bench: {name}: exit {code} after {time.monotonic() - t0:.0f}s", flush=True)
        if code:
            failed.append(name)
    if failed:
        print("failed: " + "; ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

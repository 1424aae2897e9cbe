"""Where the time goes per stage, read from the workers' own metrics
(``newsflow_stage_seconds{stage,step}``, :mod:`pipeline.stream.timing`).

Each worker serves its metrics on its own port (``NEWSFLOW_METRICS_PORT``); a benchmark
scrapes them before and after its timed run and reports the difference per article::

    ports = [free_port() for _ in range(workers)]      # one per worker process
    before = scrape(ports); ...; after = scrape(ports)
    breakdown(before, after, articles=265)   # {"stories": {"work": 1.9, ...}, ...} ms/article
"""

from __future__ import annotations

import socket
import urllib.request
from collections import defaultdict
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

METRIC = "newsflow_stage_seconds"
Totals = dict[tuple[str, str], list[float]]  # (stage, step) -> [seconds, batches]


def free_port() -> int:
    """A TCP port free on this host now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(ports: list[int]) -> Totals:
    """The stage histogram's sums and counts, added over the workers on ``ports``
    (a worker that does not answer counts nothing)."""
    out: Totals = defaultdict(lambda: [0.0, 0.0])
    for port in ports:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            continue
        for family in text_string_to_metric_families(text):
            if family.name != METRIC:
                continue
            for sample in family.samples:
                key = (sample.labels.get("stage", ""), sample.labels.get("step", ""))
                if sample.name == METRIC + "_sum":
                    out[key][0] += sample.value
                elif sample.name == METRIC + "_count":
                    out[key][1] += sample.value
    return dict(out)


def breakdown(before: Totals, after: Totals, *, articles: int) -> dict[str, Any]:
    """Milliseconds per article of each stage's steps between two scrapes (summed over
    the workers: a stage on two workers counts both), and its batches."""
    stages: dict[str, Any] = {}
    for (stage, step), (seconds, count) in sorted(after.items()):
        s0, c0 = before.get((stage, step), [0.0, 0.0])
        row = stages.setdefault(stage, {"ms_per_article": {}, "batches": 0})
        row["ms_per_article"][step] = round(1000 * (seconds - s0) / max(articles, 1), 3)
        if step == "batch":
            row["batches"] = int(count - c0)
    for row in stages.values():
        ms = row["ms_per_article"]
        named = sum(v for k, v in ms.items() if k not in ("batch", "wait"))
        if "batch" in ms:
            ms["other"] = round(max(ms["batch"] - named, 0.0), 3)
    return stages

"""Full-text extraction F1 on ../shared/data/article-extraction-benchmark.

    python -m bench.extraction [--mode newsflow|trafilatura-default]

Scores with the benchmark's own ``evaluate.py`` functions (4-word shingles), the
same way its authors do, and reports pages/s; writes JSON.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from typing import Any

import trafilatura

from bench.common import SHARED, bar_png, extraction_pages, write
from connectors.errors import ParseError, Walled
from connectors.extract import extract_article


def _evaluator() -> Any:
    path = SHARED / "data" / "article-extraction-benchmark" / "evaluate.py"
    spec = importlib.util.spec_from_file_location("abm_evaluate", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run(mode: str) -> dict[str, Any]:
    pages = extraction_pages()
    truth = {key: {"articleBody": body} for key, _, body in pages}
    pred: dict[str, dict[str, str]] = {}
    t0 = time.perf_counter()
    for key, html, _ in pages:
        if mode == "trafilatura-default":
            text = trafilatura.extract(html) or ""
        else:
            try:
                text = extract_article(html).text
            except (ParseError, Walled):  # no text, or a wall (none in the benchmark)
                text = ""
        pred[key] = {"articleBody": text}
    seconds = time.perf_counter() - t0
    metrics = _evaluator().evaluate(truth, pred, n_bootstrap=200)
    return {"mode": mode, "pages": len(pages), "seconds": round(seconds, 2),
            "pages_per_s": round(len(pages) / seconds, 1),
            **{k: round(v, 4) for k, v in metrics.items() if isinstance(v, float)}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mode", action="append", choices=["newsflow", "trafilatura-default"])
    args = ap.parse_args()
    results = [run(m) for m in (args.mode or ["newsflow", "trafilatura-default"])]
    write("extraction", {"results": results})
    bar_png("extraction", [r["mode"] for r in results], [r["f1"] for r in results], "F1",
            "article-extraction-benchmark (4-word shingles)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

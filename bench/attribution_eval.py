"""Score attribution on a PolNeAR split (or the seed) with the shared scorer.

    python bench/attribution_eval.py [--split dev] [--out bench/results/attribution-dev.json]

Reads ../shared at run time (never copies its text), runs the same Enricher as
the pipeline and ``newsflow enrich``, and writes the scorer's JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "eval"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--split", default="dev", help="dev, train or seed")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    gold = SHARED / "seed" if args.split == "seed" else SHARED / "polnear" / args.split
    if not gold.exists():
        print(f"skipped: {gold} is absent", file=sys.stderr)
        return 0
    from pipeline.enrich.article import Enricher

    enricher = Enricher()
    files = sorted((gold / "text").glob("*.txt"))
    t0 = time.perf_counter()
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as pred:
        items = [{"id": f.stem, "text": f.read_text(encoding="utf-8")} for f in files]
        for art in enricher.enrich(items):
            if isinstance(art, Exception):
                raise art
            atts = [a.model_dump() for a in art.attributions]
            pred.write(json.dumps({"id": art.id, "attributions": atts}) + "\n")
    seconds = time.perf_counter() - t0
    proc = subprocess.run([sys.executable, str(SHARED / "score_attribution.py"), str(gold),
                           pred.name, "--json"], capture_output=True, text=True, check=True)
    result = {"split": args.split, "documents": len(files), "seconds": round(seconds, 2),
              "scores": json.loads(proc.stdout)}
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

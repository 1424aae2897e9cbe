"""Score attribution on a PolNeAR split (or the seed) with the shared scorer, per rule.

    python bench/attribution_eval.py [--split dev] [--limit N] [--out FILE.json]
                                     [--show-missed]

Reads ../shared at run time (never copies its text), runs the same Enricher as the
pipeline and ``newsflow enrich``, and reports:

* the shared scorer's figures (lenient/strict, with and without the source);
* per rule and per construction type: predictions, lenient precision (also with the
  source and strict) and the share of the gold each one recalls;
* the confusion of errors: missed gold, spurious predictions, wrong span (matched at
  Jaccard >= 0.3 but below 0.8) and wrong source (matched, source not overlapping).

Predictions are matched to the gold the scorer's way (its own functions, imported from
../shared at run time): token Jaccard of the contents, one-to-one, best overlap first.
``--show-missed`` prints the most frequent cue words of the missed gold to stderr (for
error analysis on the terminal only: nothing of the corpus is written to a file).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "eval"
LENIENT, STRICT = 0.3, 0.8


def scorer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("score_attribution",
                                                  SHARED / "score_attribution.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def offset_map(clean: str, original: str) -> list[int]:
    """For each offset of ``clean`` (the article text after the contract's cleaning:
    zero-width characters out, NFC), the offset in ``original`` (the gold text)::

        >>> offset_map("ab", "a\u200bb")
        [0, 2, 3]
    """
    from difflib import SequenceMatcher

    out = [0] * (len(clean) + 1)
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, clean, original,
                                               autojunk=False).get_opcodes():
        for k in range(i1, i2):
            out[k] = j1 + (k - i1 if tag == "equal" else min(k - i1, j2 - j1))
    out[len(clean)] = len(original)
    return out


def _remap(value: Any, where: list[int]) -> Any:
    """Every ``start``/``end`` (and ``spans``) inside a prediction moved through ``where``."""
    if isinstance(value, dict):
        return {k: (where[v] if k in {"start", "end"} and isinstance(v, int) else
                    [[where[a], where[b]] for a, b in v] if k == "spans" and v else
                    _remap(v, where)) for k, v in value.items()}
    if isinstance(value, list):
        return [_remap(v, where) for v in value]
    return value


def rule_types() -> dict[str, str]:
    from pipeline.enrich.postpass import POST_PASSES
    from pipeline.enrich.rules import CONSTRUCTIONS

    types = {c.name: c.type for c in CONSTRUCTIONS}
    types.update({p.adds: "quote" for p in POST_PASSES if p.adds})
    return types


def match_document(sc: ModuleType, gold: dict[str, Any], preds: list[dict[str, Any]]
                   ) -> tuple[list[dict[str, Any]], list[int]]:
    """One record per prediction (rule, lenient/strict match, source right) and the gold
    indices left unmatched at the lenient threshold."""
    toks = sc.tokens(gold["text"])
    gold_atts = [{"content": sc.token_set(a["content"], toks),
                  "source": sc.token_set(a["source"], toks)} for a in gold["attributions"]]
    pred_atts = []
    for a in preds:
        content = sc.token_set(sc.parse_spans(a.get("content")), toks)
        if content:
            pred_atts.append({"content": content, "rule": a.get("rule") or "none",
                              "source": sc.token_set(sc.parse_spans(a.get("source")), toks)})
    pairs = []
    for i, ga in enumerate(gold_atts):
        for j, pa in enumerate(pred_atts):
            inter = len(ga["content"] & pa["content"])
            if inter:
                pairs.append((inter / len(ga["content"] | pa["content"]), i, j))
    pairs.sort(reverse=True)
    records = [{"rule": p["rule"], "lenient": False, "strict": False, "source": False}
               for p in pred_atts]
    missed = set(range(len(gold_atts)))
    for threshold, key in ((LENIENT, "lenient"), (STRICT, "strict")):
        used_g: set[int] = set()
        used_p: set[int] = set()
        for jac, i, j in pairs:
            if jac < threshold or i in used_g or j in used_p:
                continue
            used_g.add(i)
            used_p.add(j)
            records[j][key] = True
            if key == "lenient":
                gs, ps = gold_atts[i]["source"], pred_atts[j]["source"]
                records[j]["source"] = (not gs and not ps) or bool(gs & ps)
                missed.discard(i)
    return records, sorted(missed)


def _figures(records: list[dict[str, Any]], n_gold: int) -> dict[str, Any]:
    n = len(records)
    hits = sum(r["lenient"] for r in records)
    with_source = sum(r["lenient"] and r["source"] for r in records)
    strict = sum(r["strict"] for r in records)
    return {"predicted": n,
            "precision": round(hits / n, 4) if n else 0.0,
            "precision_with_source": round(with_source / n, 4) if n else 0.0,
            "precision_strict": round(strict / n, 4) if n else 0.0,
            "recall_share": round(hits / n_gold, 4) if n_gold else 0.0,
            "spurious": n - hits,
            "wrong_span": sum(r["lenient"] and not r["strict"] for r in records),
            "wrong_source": sum(r["lenient"] and not r["source"] for r in records)}


def breakdown(records: list[dict[str, Any]], n_gold: int, n_missed: int) -> dict[str, Any]:
    types = rule_types()
    by_rule: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_rule[r["rule"]].append(r)
        by_type[types.get(r["rule"], "none")].append(r)
    total = _figures(records, n_gold)
    return {
        "per_rule": {k: _figures(v, n_gold) for k, v in sorted(by_rule.items())},
        "per_type": {k: _figures(v, n_gold) for k, v in sorted(by_type.items())},
        "errors": {"gold": n_gold, "predicted": len(records), "missed": n_missed,
                   "spurious": total["spurious"], "wrong_span": total["wrong_span"],
                   "wrong_source": total["wrong_source"]},
    }


def table(figures: dict[str, dict[str, Any]], title: str) -> str:
    lines = [f"| {title} | predicted | P | P with source | P strict | recall share | "
             "spurious | wrong span | wrong source |", "|---|" + "---:|" * 8]
    for name, f in sorted(figures.items(), key=lambda kv: -kv[1]["predicted"]):
        lines.append(f"| {name} | {f['predicted']} | {f['precision']:.3f} | "
                     f"{f['precision_with_source']:.3f} | {f['precision_strict']:.3f} | "
                     f"{f['recall_share']:.3f} | {f['spurious']} | {f['wrong_span']} | "
                     f"{f['wrong_source']} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="dev", help="dev, train or seed")
    parser.add_argument("--limit", type=int, default=None,
                        help="only the first N documents (in file name order)")
    parser.add_argument("--out", type=Path, default=None, help="write the JSON here")
    parser.add_argument("--show-missed", action="store_true",
                        help="print the commonest cue words of missed gold (stderr only)")
    args = parser.parse_args()
    gold_dir = SHARED / "seed" if args.split == "seed" else SHARED / "polnear" / args.split
    if not gold_dir.exists():
        print(f"skipped: {gold_dir} is absent", file=sys.stderr)
        return 0
    from pipeline.enrich.article import Enricher

    sc = scorer()
    gold = sc.load_gold(gold_dir)
    ids = sorted(gold)[:args.limit] if args.limit else sorted(gold)
    gold = {k: gold[k] for k in ids}
    enricher = Enricher()
    t0 = time.perf_counter()
    preds: dict[str, list[dict[str, Any]]] = {}
    for art in enricher.enrich([{"id": k, "text": gold[k]["text"]} for k in ids]):
        if isinstance(art, Exception):
            raise art
        atts = [a.model_dump() for a in art.attributions]
        if art.text != gold[art.id]["text"]:  # offsets are into the cleaned text
            atts = _remap(atts, offset_map(art.text, gold[art.id]["text"]))
        preds[art.id] = atts
    seconds = time.perf_counter() - t0
    records: list[dict[str, Any]] = []
    missed_cues: Counter[str] = Counter()
    n_missed = 0
    for k in ids:
        recs, missed = match_document(sc, gold[k], preds.get(k, []))
        records.extend(recs)
        n_missed += len(missed)
        for i in missed:
            cue = gold[k]["attributions"][i]["cue"]
            text = gold[k]["text"]
            missed_cues[" ".join(text[s:e].lower() for s, e in cue) if cue else "(no cue)"] += 1
    n_gold = sum(len(g["attributions"]) for g in gold.values())
    result = {"split": args.split, "documents": len(ids), "seconds": round(seconds, 2),
              "scores": sc.score(gold, preds), **breakdown(records, n_gold, n_missed)}
    print(json.dumps({k: result[k] for k in ("split", "documents", "seconds", "scores")},
                     indent=2))
    print()
    print(table(result["per_rule"], "rule"))
    print()
    print(table(result["per_type"], "type"))
    print()
    print("errors: " + ", ".join(f"{k} {v}" for k, v in result["errors"].items()))
    if args.show_missed:
        for cue, n in missed_cues.most_common(40):
            print(f"{n:5d}  {cue}", file=sys.stderr)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

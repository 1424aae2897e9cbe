"""The ``group`` agent's serial cost per quote, before and after the LSH rows stored with
each group, side by side in one process (no services).

    python -m bench.group_cost --quotes 40000

Two :class:`~pipeline.stream.quotes.GroupStage` get the same synthetic quotes
(:class:`bench.state_soak.QuoteFeed`: repeats, fragments and new statements, a 7-day hot
window at ``--per-day`` quotes a day), batch by batch, alternating which goes first, so
both see the same machine load. Each batch is ``apply`` (lookup, verification, join),
then ``pending`` (the documents to write), then ``written`` (eviction), timed apart:

* ``before``: the documents as they were made before: band keys from a MinHash of each
  indexed window, no LSH rows;
* ``after``: the stage as it is: band keys read from the LSH's own hashes, and the rows
  packed into ``state.lsh`` (what a takeover indexes the group from).

The cold read-back needs Elasticsearch and is left out (bench/takeover.py measures the
reload on a real index). Writes bench/results/group_cost.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections import defaultdict
from typing import Any

from bench.common import write
from bench.state_soak import QuoteFeed, SoakStage
from pipeline.core.contracts import Quote
from pipeline.core.settings import Settings
from pipeline.group.bounded import QuoteGroup
from pipeline.group.quotes import QuoteGroups
from pipeline.group.window import HotWindow

DAY = 86400.0


@dataclasses.dataclass
class Before(SoakStage):
    """The stage with its documents made the earlier way (MinHash per window, no rows)."""

    terms: dict[str, tuple[int, list[str]]] = dataclasses.field(default_factory=dict)

    def document(self, group: QuoteGroup) -> dict[str, Any]:
        assert self.window is not None and self.groups is not None
        doc = group.to_doc()
        known = self.terms.get(group.id)
        if known is None or known[0] != len(group.variants):
            known = self.terms[group.id] = (len(group.variants), self.window._terms(
                w for _, w in self.groups._keys(group, range(len(group.variants)))))
        doc["bands"] = known[1]
        when = self.window.last.get(group.id)
        if when is not None:
            doc["last_event"] = int(when * 1000)
        return doc


def stage(kind: type[SoakStage], window: float) -> SoakStage:
    s = kind(dataclasses.replace(Settings.from_env(), hot_window=window))
    s.groups = QuoteGroups(s.store)
    s.window = HotWindow(s.groups, seconds=window)
    return s


def batch_cost(s: SoakStage, quotes: list[tuple[int, Quote]], totals: dict[str, float]
               ) -> tuple[list[str], int]:
    t0 = time.perf_counter()
    s.apply(quotes)
    t1 = time.perf_counter()
    docs, _ = s.pending()
    t2 = time.perf_counter()
    s.written()
    t3 = time.perf_counter()
    totals["apply"] += t1 - t0
    totals["documents"] += t2 - t1
    totals["evict"] += t3 - t2
    size = sum(len(json.dumps(d, separators=(",", ":"))) for d in docs)
    return [s.store.group_of(q.id) or "" for _, q in quotes], size


def run(args: argparse.Namespace) -> dict[str, Any]:
    window = args.window_days * DAY
    feed = QuoteFeed(args.seed)
    step = DAY / args.per_day
    ways = {"before": stage(Before, window), "after": stage(SoakStage, window)}
    totals: dict[str, dict[str, float]] = {w: defaultdict(float) for w in ways}
    doc_bytes = dict.fromkeys(ways, 0)
    same = True
    for start in range(0, args.quotes, args.batch):
        quotes = [(i, feed.make(f"a{i // 20}", i * step))
                  for i in range(start, min(start + args.batch, args.quotes))]
        chosen = {}
        order = list(ways) if (start // args.batch) % 2 == 0 else list(ways)[::-1]
        for way in order:  # alternating who goes first (the text cache is shared)
            s = ways[way]
            chosen[way], size = batch_cost(s, quotes, totals[way])
            doc_bytes[way] += size
        same = same and chosen["before"] == chosen["after"]
    out: dict[str, Any] = {"quotes": args.quotes, "batch": args.batch,
                           "window_days": args.window_days, "per_day": args.per_day,
                           "same_groups": same, "ways": {}}
    for way, t in totals.items():
        total = sum(t.values())
        out["ways"][way] = {**{f"{k}_us_per_quote": round(v / args.quotes * 1e6, 1)
                               for k, v in t.items()},
                            "total_us_per_quote": round(total / args.quotes * 1e6, 1),
                            "doc_bytes_per_quote": round(doc_bytes[way] / args.quotes)}
    b, a = out["ways"]["before"], out["ways"]["after"]
    out["after_over_before"] = round(a["total_us_per_quote"] / b["total_us_per_quote"], 3)
    write(args.name, out)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quotes", type=int, default=40_000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--per-day", type=float, default=40_000)
    ap.add_argument("--window-days", type=float, default=7.0)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--name", default="group_cost")
    run(ap.parse_args())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

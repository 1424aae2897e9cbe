"""Late copies after the hot window: do they still join their original's story?

    NEWSFLOW_ES_URL=http://localhost:9200 python -m bench.late_recall [--seeds 2 3]
        [--parts stories quotes] [--quote-seeds 0 1 2 3 4]

The copies bench's labelled set (bench/copies_data.py; seeds 2 and 3 are its held-out
draws) is placed through the agents' own code: a :class:`StoryIndex` with a 1-day hot
window backed by the real Elasticsearch story state (:class:`StoryState`), one batch per
article written as the ``stories`` agent writes it (begin, place, write, commit). The
originals (and half the templated hard negatives) are published on day 0; every later
article (copies, follow-ups, the other templated ones) is published ``--gap`` days after
the previous one, starting on day 30, so each of them is out of the window of everything
before it and can only be found through the durable lookup (band terms).

Recall: late copies whose story is their original's. Precision: of the late articles
that joined an earlier story, the share that joined their own. Pairwise P/R of the whole
set too, beside the same order with no window (everything hot).

Then the late quotes (bench/late_quotes.py, ``bench/results/late_quotes.json``): reports
of a quote by other outlets a month after its first report, through the ``group`` agent's
step with a 1-day window on the same Elasticsearch.
"""

from __future__ import annotations

import argparse
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import write
from bench.copies_data import Doc, build, pair_scores
from pipeline.core.settings import Settings
from pipeline.group.copies import Body, StoryIndex
from pipeline.stream.storystate import StoryState

DAY = 86400.0
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _arrivals(docs: list[Doc], gap: float) -> list[tuple[Doc, datetime]]:
    early = [d for d in docs if d.kind == "original"
             or (d.kind == "templated" and int(d.id[1:]) % 2 == 0)]
    late = [d for d in docs if d not in early]
    out = [(d, T0 + timedelta(minutes=i)) for i, d in enumerate(early)]
    out += [(d, T0 + timedelta(days=30 + gap * i)) for i, d in enumerate(late)]
    return out


def _place(arrivals: list[tuple[Doc, datetime]], index: StoryIndex,
           state: StoryState | None) -> dict[str, str]:
    story: dict[str, str] = {}
    for offset, (d, when) in enumerate(arrivals):
        index.begin()
        story[d.id] = index.place(Body(d.id, d.text, published_at=when)).story
        if state is not None:
            state.write([index.record(d.id)] if d.id in index else [], offset=offset,
                        clock=index.hot.clock)
        index.commit()
    return story


def run_seed(settings: Settings, seed: int, gap: float) -> dict[str, Any]:
    docs, _ = build(seed=seed)
    arrivals = _arrivals(docs, gap)
    labels = [d.label for d, _ in arrivals]
    state = StoryState(settings)
    state.ensure()
    try:
        index = StoryIndex(window=DAY, durable=state)
        late_story = _place(arrivals, index, state)
    finally:
        state.client().indices.delete(index=state.name, ignore_unavailable=True)
    hot_story = _place(arrivals, StoryIndex(), None)
    original = {d.label: d.id for d in docs if d.kind == "original"}
    early_ids = {d.id for d, when in arrivals if when < T0 + timedelta(days=1)}
    late = [d for d, when in arrivals if d.id not in early_ids]
    copies = [d for d in late if d.kind == "copy"]

    def scores(story: dict[str, str]) -> dict[str, Any]:
        found = sum(story[d.id] == story[original[d.label]] for d in copies)
        joined = [d for d in late if story[d.id] in {story[e] for e in early_ids}]
        right = sum(story[d.id] == story[original.get(d.label, d.id)] for d in joined)
        return {"late_copies": len(copies), "late_copies_joined": found,
                "recall": round(found / max(len(copies), 1), 4),
                "late_joined_an_earlier_story": len(joined),
                "precision": round(right / len(joined), 4) if joined else 1.0,
                "pairwise": pair_scores(labels, [story[d.id] for d, _ in arrivals])}

    return {"late": {**scores(late_story), "cold_hits": index.cold_hits},
            "no_window": scores(hot_story)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[2, 3])
    ap.add_argument("--gap", type=float, default=2.0, help="days between late articles")
    ap.add_argument("--parts", nargs="+", choices=["stories", "quotes"],
                    default=["stories", "quotes"])
    ap.add_argument("--quote-seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4],
                    help="orders of the quote set (0: the file's)")
    args = ap.parse_args()
    if "stories" in args.parts:
        stories(args.seeds, args.gap)
    if "quotes" in args.parts:
        from bench import late_quotes

        late_quotes.run(Settings.from_env(os.environ), args.quote_seeds, args.gap)
    return 0


def stories(seeds: list[int], gap: float) -> None:
    """The late copies of each seed, written to ``bench/results/late_recall.json``."""
    prefix = f"late{uuid.uuid4().hex[:8]}"
    settings = Settings.from_env({**os.environ, "NEWSFLOW_INDEX": f"{prefix}-articles"})
    out: dict[str, Any] = {"hot_window_days": 1, "late_gap_days": gap,
                           "late_start_day": 30, "stories": {}}
    for seed in seeds:
        out["stories"][f"seed{seed}"] = run_seed(settings, seed, gap)
        print(seed, out["stories"][f"seed{seed}"]["late"]["recall"], flush=True)
    runs = out["stories"].values()
    out["summary"] = {"stories_recall_min": min(r["late"]["recall"] for r in runs),
                      "stories_precision_min": min(r["late"]["precision"] for r in runs),
                      "target_recall": 0.95}
    write("late_recall", out)


if __name__ == "__main__":
    raise SystemExit(main())

"""Late quotes after the hot window: does a quote reported again by another outlet, a month
after its first report, still join the original's group?

    NEWSFLOW_ES_URL=http://localhost:9200 python -m bench.late_quotes [--seeds 0 1 2 3 4]
    (also run by ``python -m bench.late_recall``, after the late copies)

The quote benchmark's labelled set (``tests/fixtures/quote_groups/mentions.jsonl``, built
by bench/quote_groups.py: 384 reports in 90 groups: wire copies, typography variants,
fragments, ellipses, edits, other speaker forms, hard negatives) in one order per seed
(0: the file's, else shuffled with that seed). The first report of each labelled group is
published on day 0; every later report (by another outlet) is published ``--gap`` days
after the previous one, from day 30 on, so each of them is out of the 1-day hot window of
everything before it and can only join its group through the durable lookup
(:func:`~pipeline.index.quotes_mapping.find_cold`, the groups' band keys in the real
Elasticsearch). The reports go through the ``group`` agent's own step
(:meth:`GroupStage.handle`, one batch per report, each written before the next); the
groups are then read from the index.

Recall: late reports whose group is their first report's. Precision: of the late reports
that joined a group holding an early report, the share that joined their own. Pairwise
P/R of the whole set too, beside the same order with no window (everything in memory:
:func:`bench.quote_groups.evaluate`), the reference.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import pyplot, save_png, write
from bench.quote_groups import evaluate, load, pairwise
from pipeline.core.contracts import Quote
from pipeline.core.settings import Settings
from pipeline.group.bounded import QuoteGroup
from pipeline.index.mapping import client
from pipeline.index.quotes_mapping import ensure_quotes_index, load_groups
from pipeline.stream.batches import Batches
from pipeline.stream.quotes import GroupStage

DAY = 86400.0
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclasses.dataclass
class _Message:  # what GroupStage.handle reads of a Kafka message
    topic: str
    partition: int
    offset: int
    value: bytes
    headers: tuple[()] = ()


@dataclasses.dataclass
class _Event:
    message: _Message

    @property
    def value(self) -> bytes:
        return self.message.value


class _Nowhere:
    """An output topic nothing is sent to (no quote of the set is poison)."""

    async def send(self, **kwargs: Any) -> Any:
        raise RuntimeError(f"unexpected send: {kwargs.get('value', b'')[:200]!r}")


def arrivals(quotes: list[Quote], gold: list[str], seed: int, gap: float
             ) -> tuple[list[Quote], list[str], set[str]]:
    """The set in the seed's order, re-dated: each group's first report on day 0 (a minute
    apart), every later one ``gap`` days after the previous from day 30 on; and the ids of
    the early reports."""
    order = list(range(len(quotes)))
    if seed:
        random.Random(seed).shuffle(order)
    firsts: dict[str, int] = {}
    for i in order:
        firsts.setdefault(gold[i], i)
    early = list(firsts.values())
    late = [i for i in order if firsts[gold[i]] != i]
    when = {i: T0 + timedelta(minutes=n) for n, i in enumerate(early)}
    when |= {i: T0 + timedelta(days=30 + gap * n) for n, i in enumerate(late)}
    placed = [quotes[i].model_copy(update={"article": quotes[i].article.model_copy(
        update={"published_at": when[i]})}) for i in early + late]
    return placed, [gold[i] for i in early + late], {quotes[i].id for i in early}


def group_late(settings: Settings, quotes: list[Quote], late: set[str]
               ) -> tuple[dict[str, str], dict[str, int]]:
    """Group the reports one batch each through :meth:`GroupStage.handle` with a 1-day
    window on the real Elasticsearch; each report's group as stored in the index, and how
    the late reports found theirs at arrival: ``from_index``, a group not in memory before
    the batch (read back through the durable lookup); ``in_memory``, one the batch before
    touched (memory lets a group go after the write of the batch it expired in);
    ``founded_a_group`` (a later report may merge it into its first report's)."""
    ensure_quotes_index(settings)
    stage = GroupStage(settings)
    batches = Batches(settings, _Nowhere(), _Nowhere())  # type: ignore[arg-type]
    stats = {"late_joined_from_index": 0, "late_joined_in_memory": 0,
             "late_founded_a_group": 0, "hot_groups_max_during_late": 0}

    async def run() -> None:
        try:
            for offset, q in enumerate(quotes):
                held = {g.id for g in stage.store.groups()}
                event = _Event(_Message(settings.quotes_topic, 0, offset, q.to_bytes()))
                await stage.handle(batches, [event])  # type: ignore[list-item]
                if q.id in late:
                    gid = stage.store.group_of(q.id)
                    key = "late_founded_a_group" if gid == q.id else "late_joined_in_memory" \
                        if gid in held else "late_joined_from_index"
                    stats[key] += 1
                    stats["hot_groups_max_during_late"] = max(
                        stats["hot_groups_max_during_late"], len(stage.store))
        finally:
            await stage.writer().close()

    asyncio.run(run())
    group_of: dict[str, str] = {}
    for doc in load_groups(settings):
        for m in QuoteGroup.from_doc(doc).members:
            group_of[m.quote] = doc["group"]
    return group_of, stats


def scores(quotes: list[Quote], gold: list[str], early: set[str],
           group_of: dict[str, str]) -> dict[str, Any]:
    """Late recall and precision (see the module doc) and pairwise P/R."""
    groups = [group_of.get(q.id, f"missing:{q.id}") for q in quotes]
    first = {g: grp for q, g, grp in zip(quotes, gold, groups, strict=True) if q.id in early}
    early_groups = {grp for q, grp in zip(quotes, groups, strict=True) if q.id in early}
    late = [(g, grp) for q, g, grp in zip(quotes, gold, groups, strict=True)
            if q.id not in early]
    found = sum(grp == first[g] for g, grp in late)
    joined = [(g, grp) for g, grp in late if grp in early_groups]
    right = sum(grp == first[g] for g, grp in joined)
    pair = pairwise(groups, gold)
    return {"late_reports": len(late), "late_reports_joined": found,
            "recall": round(found / max(len(late), 1), 4),
            "late_joined_an_earlier_group": len(joined),
            "precision": round(right / len(joined), 4) if joined else 1.0,
            "missing": sum(grp.startswith("missing:") for grp in groups),
            "pairwise": {k: pair[k] for k in ("precision", "recall", "true_pairs",
                                              "false_positive_pairs", "missed_pairs")}}


def run_seed(base: Settings, seed: int, gap: float) -> dict[str, Any]:
    quotes, gold = load()
    placed, labels, early = arrivals(quotes, gold, seed, gap)
    settings = dataclasses.replace(base, hot_window=DAY,
                                   quotes_alias=f"lateq{uuid.uuid4().hex[:8]}-quotes")
    t0 = time.perf_counter()
    try:
        group_of, stats = group_late(settings, placed, {q.id for q in placed} - early)
        late = {**scores(placed, labels, early, group_of), **stats}
    finally:
        es = client(settings)
        es.indices.delete(index=f"{settings.quotes_alias}*", ignore_unavailable=True)
        es.close()
    seconds = time.perf_counter() - t0
    _, groups = evaluate(placed, labels)  # the same order, no window: the reference
    reference = scores(placed, labels, early,
                       {q.id: groups.store.group_of(q.id) or "" for q in placed})
    return {"late": {**late, "seconds": round(seconds, 1)}, "no_window": reference}


def run(settings: Settings, seeds: list[int], gap: float) -> dict[str, Any]:
    out: dict[str, Any] = {"set": "tests/fixtures/quote_groups/mentions.jsonl",
                           "hot_window_days": 1, "late_gap_days": gap, "late_start_day": 30,
                           "seeds": {}}
    for seed in seeds:
        out["seeds"][f"seed{seed}"] = r = run_seed(settings, seed, gap)
        print(f"late quotes seed {seed}: recall {r['late']['recall']} (no window "
              f"{r['no_window']['recall']}), precision {r['late']['precision']}", flush=True)
    runs = list(out["seeds"].values())
    out["summary"] = {
        "recall_min": min(r["late"]["recall"] for r in runs),
        "precision_min": min(r["late"]["precision"] for r in runs),
        "no_window_recall_min": min(r["no_window"]["recall"] for r in runs),
        "no_window_precision_min": min(r["no_window"]["precision"] for r in runs),
        "pairwise_recall_min": min(r["late"]["pairwise"]["recall"] for r in runs),
        "pairwise_precision_min": min(r["late"]["pairwise"]["precision"] for r in runs),
        "same_as_no_window": all(r["late"]["recall"] == r["no_window"]["recall"]
                                 and r["late"]["pairwise"] == r["no_window"]["pairwise"]
                                 for r in runs),
        "target_recall": 0.95}
    write("late_quotes", out)
    plot(out)
    return out


def plot(out: dict[str, Any]) -> None:
    """Recall and precision of the late reports per seed, 1-day window vs none."""
    plt = pyplot()
    if plt is None:
        return
    names = list(out["seeds"])
    fig, ax = plt.subplots(figsize=(max(5, 1.3 * len(names) + 2), 3.5))
    width = 0.2
    for k, (run, metric, color) in enumerate((("late", "recall", "#27a"),
                                              ("no_window", "recall", "#9bd"),
                                              ("late", "precision", "#2a7"),
                                              ("no_window", "precision", "#9d9"))):
        xs = [i + (k - 1.5) * width for i in range(len(names))]
        ax.bar(xs, [out["seeds"][n][run][metric] for n in names], width, color=color,
               label=f"{metric}, {'1-day window' if run == 'late' else 'no window'}")
    ax.axhline(out["summary"]["target_recall"], color="red", linestyle=":", lw=0.8,
               label="target recall")
    ax.set_xticks(range(len(names)), names)
    ax.set_ylim(0.8, 1.01)
    ax.set_ylabel("late reports")
    ax.set_title(f"late quotes: reported again {out['late_start_day']}+ days later")
    ax.legend(fontsize=7, loc="lower right")
    save_png(fig, "late_quotes")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4],
                    help="orders of the set (0: the file's)")
    ap.add_argument("--gap", type=float, default=2.0, help="days between late reports")
    args = ap.parse_args()
    run(Settings.from_env(os.environ), args.seeds, args.gap)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

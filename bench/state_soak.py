"""Soak of both stateful stages: stories and quote groups under a hot window, against
articles seen (RSS, lookup p50/p99, durable-store size).

    python -m bench.state_soak                                    # 200k articles
    python -m bench.state_soak --articles 2000000 --checkpoint 1000000   # the long soak

One process holds what the two agents hold in memory:

* the story index (:class:`~pipeline.group.copies.StoryIndex` with the window), fed with
  synthetic signatures as :mod:`bench.story_soak` makes them (staged batch, committed);
* the quote groups as the ``group`` agent keeps them: a
  :class:`~pipeline.stream.quotes.GroupStage` whose ``apply`` groups each batch
  (``QuoteGroups.add`` + ``HotWindow.touch``), whose ``pending`` builds the group
  documents it would write (band keys, LSH rows and ``last_event`` included), and whose
  ``written`` lets go of the groups that left the window after the (here: simulated) write.

Quotes are synthetic statements from the bigram model of :mod:`bench.quote_lookup`:
``--quotes-per-article`` of them per article on average; a third repeat a recent statement
word for word, a third are fragments of one, a third are new. The durable store is not a
real one here (the cold read-back needs Elasticsearch, measured by bench/takeover.py): its
size is the bytes it would hold, the JSON of every story record written plus the latest
document of every quote group (a group rewritten replaces its document). Every
``--every`` articles: RSS, ``--lookups`` story lookups timed, the grouping time of each
quote of the interval (its lookup, verification and join), hot and durable sizes.
Writes bench/results/<name>.json (also as it goes) and a PNG beside it.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import random
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np

from bench.common import RESULTS, pyplot, save_png, write
from bench.quote_lookup import Statements, fragment
from bench.story_soak import entry, lookup, rss
from pipeline.core.contracts import Quote, QuoteArticle, QuoteSpeaker
from pipeline.core.settings import Settings
from pipeline.group.copies import StoryIndex
from pipeline.group.quotes import QuoteGroups, QuoteKeys
from pipeline.group.signature import record_of
from pipeline.group.window import HotWindow
from pipeline.stream.quotes import GroupStage

DAY = 86400.0
T0 = datetime(2026, 1, 1, tzinfo=UTC).timestamp()


class SoakStage(GroupStage):
    """The group agent's stage without Elasticsearch: no cold read-back (its lookup is a
    query, measured against a real index by bench/takeover.py)."""

    def _bring_back(self, window: HotWindow, quotes: list[Quote],
                    keys: list[QuoteKeys | None]) -> None:
        return None


class QuoteFeed:
    """Synthetic quotes: repeats and fragments of recent statements, and new ones."""

    def __init__(self, seed: int = 5) -> None:
        self.rng = random.Random(seed)
        self.gen = Statements(seed)
        self.recent: list[str] = []
        self.n = 0

    def make(self, article: str, when: float) -> Quote:
        kind = self.rng.randrange(3) if self.recent else 2
        if kind == 2:
            text = self.gen.make()
            self.recent.append(text)
            if len(self.recent) > 2000:
                del self.recent[: len(self.recent) - 2000]
        else:
            text = self.rng.choice(self.recent)
            text = text if kind == 0 else fragment(self.rng, text)
        self.n += 1
        who = f"Speaker {self.rng.randrange(5000)}"
        return Quote(id=f"{self.n:032x}", index=0, kind="direct", content=text,
                     article=QuoteArticle(id=article, publisher=f"Outlet {self.n % 200}",
                                          published_at=datetime.fromtimestamp(when, UTC)),
                     speaker=QuoteSpeaker(text=who, canonical=who, type="person"))


class Durable:
    """Bytes the durable state would hold (story records, latest group documents)."""

    def __init__(self) -> None:
        self.story_bytes = 0
        self.cold_group_bytes = 0
        self.hot: dict[str, int] = {}  # hot group id -> bytes of its latest document

    def groups_written(self, docs: list[dict[str, Any]]) -> None:
        for doc in docs:
            self.hot[doc["group"]] = len(json.dumps(doc, separators=(",", ":")))

    def groups_let_go(self, hot_ids: set[str]) -> None:
        for gid in [g for g in self.hot if g not in hot_ids]:
            self.cold_group_bytes += self.hot.pop(gid)

    @property
    def group_bytes(self) -> int:
        return self.cold_group_bytes + sum(self.hot.values())


def settings(window: float) -> Settings:
    return dataclasses.replace(Settings.from_env(), hot_window=window)


def soak(args: argparse.Namespace) -> dict[str, Any]:
    window = args.window_days * DAY
    index = StoryIndex(window=window)
    stage = SoakStage(settings(window))
    stage.groups = QuoteGroups(stage.store)
    stage.window = HotWindow(stage.groups, seconds=window)
    feed, durable = QuoteFeed(), Durable()
    rng = np.random.default_rng(11)
    qrng = random.Random(7)
    step = DAY / args.per_day
    points: list[dict[str, Any]] = []
    gc.collect()
    base = rss()
    t0 = time.perf_counter()
    offset = 0
    for lo in range(0, args.articles, args.every):
        n = min(args.every, args.articles - lo)
        rows = rng.integers(0, 2**32, size=(n, 260), dtype=np.uint64).astype("<u4")
        qtimes: list[float] = []
        for j in range(0, n, args.batch):  # a batch: stories staged, written, committed
            index.begin()
            index.staged = [entry(lo + k, rows[k], (lo + k) * step)
                            for k in range(j, min(j + args.batch, n))]
            durable.story_bytes += sum(len(json.dumps(record_of(e), separators=(",", ":")))
                                       for e in index.staged)
            index.next_seq = lo + min(j + args.batch, n)
            index.commit()
            quotes = []
            for k in range(j, min(j + args.batch, n)):
                for _ in range(poisson(qrng, args.quotes_per_article)):
                    quotes.append((offset, feed.make(f"{lo + k:032x}", T0 + (lo + k) * step)))
                    offset += 1
            if quotes:
                t = time.perf_counter()
                stage.apply(quotes)
                qtimes.append((time.perf_counter() - t) / len(quotes))
                docs, removed = stage.pending()
                durable.groups_written(docs)
                for gid, _ in removed:  # merged away: deleted from the store
                    durable.hot.pop(gid, None)
                stage.written()  # after the write, as the agent does: evicts
                durable.groups_let_go(set(stage.window.last))
        times = [lookup(index, rng) for _ in range(args.lookups)]
        seen = lo + n
        points.append({
            "articles": seen, "quotes": offset, "rss_mib": round(rss() / 2**20, 1),
            "hot_articles": len(index), "hot_groups": len(stage.window.last),
            "hot_mib_estimate": round(index.nbytes() / 2**20, 1),
            "story_lookup_ms_p50": round(1000 * statistics.median(times), 3),
            "story_lookup_ms_p99": round(1000 * float(np.percentile(times, 99)), 3),
            "quote_ms_p50": round(1000 * statistics.median(qtimes), 3) if qtimes else None,
            "quote_ms_p99": round(1000 * float(np.percentile(qtimes, 99)), 3)
            if qtimes else None,
            "durable_mib": round((durable.story_bytes + durable.group_bytes) / 2**20, 1),
            "durable_story_mib": round(durable.story_bytes / 2**20, 1),
            "durable_group_mib": round(durable.group_bytes / 2**20, 1),
            "seconds": round(time.perf_counter() - t0, 1)})
        print(points[-1], flush=True)
        out = summary(args, base, t0, points)
        if seen % args.checkpoint == 0 and seen != args.articles:
            write(f"{args.name}_{seen // 1000}k", out)
            plot(f"{args.name}_{seen // 1000}k", out)
        else:
            (RESULTS / f"{args.name}.partial.json").write_text(json.dumps(out, indent=1))
    return summary(args, base, t0, points)


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth; small means)."""
    if mean <= 0:
        return 0
    limit, k, p = pow(2.718281828459045, -mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def summary(args: argparse.Namespace, base: int, t0: float,
            points: list[dict[str, Any]]) -> dict[str, Any]:
    full = args.per_day * args.window_days  # articles in one window
    after = [p["rss_mib"] for p in points if p["articles"] >= 2 * full]
    # max/min - 1 of the RSS once two windows passed (the first window fills it, the
    # second one's evictions bring it to its steady level)
    flat = (max(after) - min(after)) / min(after) if after else None
    last = points[-1]
    return {"articles": last["articles"], "quotes": last["quotes"],
            "quotes_per_article": args.quotes_per_article, "per_day": args.per_day,
            "window_days": args.window_days, "window_articles": full,
            "seconds": round(time.perf_counter() - t0, 1),
            "baseline_rss_mib": round(base / 2**20, 1),
            "rss_spread_after_two_windows": None if flat is None else round(flat, 4),
            "rss_max_over_min_after_two_windows": None if not after else
            round(max(after) / min(after), 4),
            "durable_bytes_per_article": round(last["durable_mib"] * 2**20
                                               / max(1, last["articles"])),
            "points": points}


def plot(name: str, out: dict[str, Any]) -> None:
    plt = pyplot()
    if plt is None:
        return
    pts = out["points"]
    xs = [p["articles"] for p in pts]
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(15, 4))
    a.plot(xs, [p["rss_mib"] for p in pts], label="RSS")
    a.plot(xs, [p["hot_mib_estimate"] for p in pts], label="story window (estimate)")
    a.axvline(out["window_articles"], color="grey", linestyle=":", label="window full")
    a.set_xlabel("articles seen")
    a.set_ylabel("MiB")
    a.legend()
    b.plot(xs, [p["story_lookup_ms_p50"] for p in pts], label="story lookup p50")
    b.plot(xs, [p["story_lookup_ms_p99"] for p in pts], label="story lookup p99")
    b.plot(xs, [p["quote_ms_p50"] for p in pts], label="quote grouping p50")
    b.plot(xs, [p["quote_ms_p99"] for p in pts], label="quote grouping p99")
    b.set_xlabel("articles seen")
    b.set_ylabel("ms")
    b.set_yscale("log")
    b.legend()
    c.plot(xs, [p["durable_mib"] for p in pts], label="durable (all)")
    c.plot(xs, [p["durable_story_mib"] for p in pts], label="story records")
    c.plot(xs, [p["durable_group_mib"] for p in pts], label="group documents")
    c.set_xlabel("articles seen")
    c.set_ylabel("MiB (JSON)")
    c.legend()
    fig.suptitle(f"state soak: {out['window_days']:g}d window, {out['per_day']:,} articles/day, "
                 f"{out['quotes_per_article']:g} quotes/article")
    save_png(fig, name)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=200_000)
    ap.add_argument("--per-day", type=int, default=20_000)
    ap.add_argument("--window-days", type=float, default=7.0)
    ap.add_argument("--quotes-per-article", type=float, default=0.2)
    ap.add_argument("--every", type=int, default=20_000)
    ap.add_argument("--checkpoint", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lookups", type=int, default=100)
    ap.add_argument("--name", default="state_soak")
    args = ap.parse_args()
    out = soak(args)
    write(args.name, out)
    plot(args.name, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Soak of the story index with a hot window: RSS and lookup time against articles seen.

    python -m bench.story_soak                       # 200k articles, 20k a day, 1d window
    python -m bench.story_soak --articles 2000000    # the long soak

Articles are synthetic signatures shaped like real ones (64 MinHash values for the whole
text and 64 for the lede, ~100 sampled shingle hashes, 24 names, 8 numbers), with event
times advancing ``--per-day`` a day, kept as the stories agent keeps them (the staged
batch committed into :class:`~pipeline.group.hot.HotWindow`, eviction included). Every
``--every`` articles the RSS is read and ``--lookups`` lookups of random signatures are
timed (the LSH of every hot segment, then verification). The durable state is not part of
the process (Elasticsearch in the agent), so it is left out: this measures the memory the
window bounds. Writes bench/results/story_soak.json and a PNG beside it.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from typing import Any

import numpy as np

from bench.common import pyplot, save_png, write
from pipeline.group.copies import StoryIndex
from pipeline.group.signature import Entry, Signature, _lean

DAY = 86400.0


def rss() -> int:
    """Resident set size of this process, bytes (/proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def entry(i: int, row: np.ndarray, event: float) -> Entry:
    aid = f"{i:032x}"
    return Entry(seq=i, id=aid, story=aid, copy_of=None, similarity=None, wire=None,
                 size=400, mod=4, sample_bytes=np.unique(row[128:228]).tobytes(),
                 whole_bytes=row[:64].tobytes(), lede_bytes=row[64:128].tobytes(),
                 names_bytes=np.unique(row[228:252]).tobytes(),
                 numbers_bytes=np.unique(row[252:260]).tobytes(), event=event)


def lookup(index: StoryIndex, rng: np.random.Generator) -> float:
    hv = rng.integers(0, 2**32, size=260, dtype=np.uint64).astype("<u4")
    sig = Signature(hashes=np.unique(hv[128:228]), whole=_lean(hv[:64].astype(np.uint32)),
                    lede=_lean(hv[64:128].astype(np.uint32)))
    t0 = time.perf_counter()
    index.best_match(sig)
    return time.perf_counter() - t0


def soak(args: argparse.Namespace) -> dict[str, Any]:
    index = StoryIndex(window=args.window_days * DAY)
    rng = np.random.default_rng(11)
    step = DAY / args.per_day
    points: list[dict[str, Any]] = []
    gc.collect()
    base = rss()
    t0 = time.perf_counter()
    for lo in range(0, args.articles, args.every):
        n = min(args.every, args.articles - lo)
        rows = rng.integers(0, 2**32, size=(n, 260), dtype=np.uint64).astype("<u4")
        for j in range(0, n, args.batch):  # a batch staged, then committed
            index.begin()
            index.staged = [entry(lo + k, rows[k], (lo + k) * step)
                            for k in range(j, min(j + args.batch, n))]
            index.next_seq = lo + min(j + args.batch, n)
            index.commit()
        times = [lookup(index, rng) for _ in range(args.lookups)]
        seen = lo + n
        points.append({"articles": seen, "rss_mib": round(rss() / 2**20, 1),
                       "hot_articles": len(index), "hot_mib_estimate":
                       round(index.nbytes() / 2**20, 1),
                       "lookup_ms_p50": round(1000 * statistics.median(times), 3),
                       "lookup_ms_p99": round(1000 * float(np.percentile(times, 99)), 3)})
        print(points[-1], flush=True)
    full = args.per_day * args.window_days  # articles in one window
    after = [p["rss_mib"] for p in points if p["articles"] >= 2 * full]
    flat = (max(after) - min(after)) / min(after) if after else None
    return {"articles": args.articles, "per_day": args.per_day,
            "window_days": args.window_days, "window_articles": full,
            "seconds": round(time.perf_counter() - t0, 1),
            "baseline_rss_mib": round(base / 2**20, 1),
            "rss_spread_after_two_windows": None if flat is None else round(flat, 4),
            "rss_bytes_per_hot_article": round((points[-1]["rss_mib"] * 2**20 - base)
                                               / max(1, points[-1]["hot_articles"])),
            "points": points}


def plot(name: str, out: dict[str, Any]) -> None:
    plt = pyplot()
    if plt is None:
        return
    pts = out["points"]
    xs = [p["articles"] for p in pts]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.plot(xs, [p["rss_mib"] for p in pts], label="RSS")
    a.plot(xs, [p["hot_mib_estimate"] for p in pts], label="hot window (estimate)")
    a.axvline(out["window_articles"], color="grey", linestyle=":", label="window full")
    a.set_xlabel("articles seen")
    a.set_ylabel("MiB")
    a.legend()
    b.plot(xs, [p["lookup_ms_p50"] for p in pts], label="p50")
    b.plot(xs, [p["lookup_ms_p99"] for p in pts], label="p99")
    b.set_xlabel("articles seen")
    b.set_ylabel("lookup ms")
    b.legend()
    fig.suptitle(f"story index soak: {out['window_days']}d window, {out['per_day']:,}/day")
    save_png(fig, name)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=200_000)
    ap.add_argument("--per-day", type=int, default=20_000)
    ap.add_argument("--window-days", type=float, default=1.0)
    ap.add_argument("--every", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lookups", type=int, default=200)
    ap.add_argument("--name", default="story_soak")
    args = ap.parse_args()
    out = soak(args)
    write(args.name, out)
    plot(args.name, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

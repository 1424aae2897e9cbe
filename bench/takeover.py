"""Takeover time against stored history: the agents' own recovery code on a real
Elasticsearch holding millions of stored articles and quotes.

    python -m bench.takeover run --stories 1000000,5000000 --quotes 1000000,5000000,10000000

* **Stories**: records as the stories agent writes them (:func:`~pipeline.group.signature.
  record_of` of synthetic signatures shaped like real ones, band keys included) in the
  story state index, ``--articles-per-day`` apart in event time, and the ``~watermark``
  (:meth:`StoryState.write`). Takeover = :meth:`pipeline.stream.stories.Stories.recover`
  with the committed offset: watermark check, summary, load of the hot window.
* **Quote groups**: documents as the group agent writes them (``QuoteGroup.to_doc()`` plus
  ``bands`` and ``last_event``, :meth:`GroupStage.document`), ``--quotes-per-day`` of
  reports apart in event time. A pool of ``--pool`` real groups (1-10 reports each, mean 2,
  from :mod:`bench.quote_lookup`'s statements) is built with the grouping code and each
  stored group is a copy of one with its own ids, ``seq``, ``founded`` and ``last_event``
  (the members' dates inside ``state`` are the template's). Takeover =
  :meth:`GroupStage.reload`: the scan of the hot window (:func:`load_groups`, only the
  fields the state is rebuilt from) and the rebuild of the groups, their LSH indexed from
  the rows stored with them.

History grows forward in time (1 M -> 5 M -> 10 M, the index is grown, not rebuilt), so
the hot window is the last ``NEWSFLOW_HOT_WINDOW`` of it at every size. Growth resumes from
the groups already stored; ``--until`` stops loading at a deadline at a chunk boundary
(:func:`due`), so a later run resumes where it stopped. Each takeover runs
in a fresh process (``takeover`` subcommand), ``--reps`` times; its wall time, the RSS it
adds and its peak RSS are recorded. Loading uses bulk requests from ``--procs`` processes,
``refresh_interval: -1`` and no replicas while loading. Writes bench/results/takeover.json
(as it goes) and takeover.png.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from multiprocessing import Pool
from typing import Any

import numpy as np

from bench.common import pyplot, save_png, write

DAY = 86400.0
T0 = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
CHUNK = 20_000  # ids per loading task


def settings() -> Any:
    from pipeline.core.settings import Settings

    return Settings.from_env()


def es_client() -> Any:
    from pipeline.index.mapping import client

    return client(settings()).options(request_timeout=300)


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20


def loading(index: str, on: bool) -> None:
    """Bulk-load settings (no refresh, no replica) or back to the template's."""
    es_client().indices.put_settings(index=index, settings={
        "refresh_interval": "-1" if on else "1s", "number_of_replicas": 0})


def _bulk(lines: list[str]) -> None:
    es = es_client()
    for start in range(0, len(lines), 2000):
        resp = es.bulk(operations="\n".join(lines[start:start + 2000]) + "\n")
        if resp.get("errors"):
            bad = [i for i in resp["items"] if next(iter(i.values())).get("error")]
            raise SystemExit(f"bulk errors: {json.dumps(bad[:2])[:600]}")


# -- stories -------------------------------------------------------------------------

def _story_task(job: tuple[str, int, int, float]) -> int:
    from bench.story_soak import entry
    from pipeline.group.signature import record_of

    index, lo, hi, per_day = job
    rng = np.random.default_rng(lo)
    rows = rng.integers(0, 2**32, size=(hi - lo, 260), dtype=np.uint64).astype("<u4")
    lines: list[str] = []
    for k in range(hi - lo):
        rec = record_of(entry(lo + k, rows[k], T0 + (lo + k) * DAY / per_day))
        lines += [json.dumps({"index": {"_index": index, "_id": rec["id"]}}),
                  json.dumps(rec, separators=(",", ":"))]
    _bulk(lines)
    return hi - lo


def grow_stories(to: int, *, per_day: float, procs: int) -> dict[str, Any]:
    from pipeline.stream.storystate import RECORDS, StoryState

    state = StoryState(settings())
    state.ensure()
    es = es_client()
    es.indices.refresh(index=state.name)
    have = int(es.count(index=state.name, query=RECORDS)["count"])
    t0 = time.perf_counter()
    loading(state.name, True)
    jobs = [(state.name, lo, min(lo + CHUNK, to), per_day) for lo in range(have, to, CHUNK)]
    with Pool(procs) as pool:
        for n, _ in enumerate(pool.imap_unordered(_story_task, jobs)):
            if n % 25 == 0:
                print(f"stories: {n + 1}/{len(jobs)} chunks", flush=True)
    state.write([], offset=to - 1, clock=T0 + (to - 1) * DAY / per_day)
    loading(state.name, False)
    es.indices.refresh(index=state.name)
    return {"loaded": to - have, "load_seconds": round(time.perf_counter() - t0, 1)}


def takeover_stories(stored: int) -> dict[str, Any]:
    from pipeline.stream.stories import Stories, StoryState

    s = settings()
    stories = Stories(settings=s, batches=None, stories=None, assigned=None,  # type: ignore[arg-type]
                      state=StoryState(s))
    base = rss_mib()
    t0 = time.perf_counter()
    message = stories.recover(next_offset=stored)
    return {"seconds": round(time.perf_counter() - t0, 2), "hot": len(stories.index),
            "rss_added_mib": round(rss_mib() - base), "message": message}


# -- quote groups ----------------------------------------------------------------------

def templates(pool: int, seed: int = 3) -> list[tuple[str, int]]:
    """(document JSON with placeholders, reports) of ``pool`` real groups."""
    from bench.quote_lookup import Statements, fragment, reports
    from pipeline.core.settings import Settings
    from pipeline.group.bounded import QuoteGroup
    from pipeline.group.quotes import QuoteGroups
    from pipeline.group.speakers import Speaker
    from pipeline.group.state import Member
    from pipeline.group.window import HotWindow
    from pipeline.stream.quotes import GroupStage

    rng, gen = random.Random(seed), Statements(seed)
    stage = GroupStage(dataclasses.replace(Settings.from_env(), hot_window=7 * DAY))
    stage.window = HotWindow(QuoteGroups(), seconds=7 * DAY)
    out = []
    for t in range(pool):
        text, k = gen.make(), reports(rng)
        gid = f"@@{t:08x}"
        g = QuoteGroup(id=gid, founded=1)
        who = f"Speaker {t % 5000}"
        speaker = Speaker(text=who, canonical=who, type="person")
        for j in range(k):
            content = text if j == 0 or rng.random() < 0.75 else fragment(rng, text)
            g.add(Member(quote=f"{gid}q{j}", article=f"{gid}a{j}", seq=1,
                         publisher=f"Outlet {rng.randrange(200)}", speaker=speaker,
                         published_at="2026-01-01T00:00:00+00:00"), content)
        doc = stage.document(g)
        doc.update(seq="%%SEQ%%", founded="%%SEQ%%", last_event="%%LE%%")
        out.append((json.dumps(doc, separators=(",", ":")), k))
    return out


_POOL: dict[tuple[int, int], list[tuple[str, int]]] = {}


def due(until: float, now: float | None = None) -> bool:
    """Whether a loading chunk may still start (``until``: epoch seconds, 0: no deadline).
    Chunks are handed out in order and one that started is loaded whole, so a load cut at
    its deadline leaves a contiguous prefix of groups and the next run resumes from the
    stored count.

    >>> due(0.0), due(100.0, now=99.0), due(100.0, now=100.0)
    (True, True, False)
    """
    return until <= 0 or (time.time() if now is None else now) < until


def deadline(v: str) -> float:
    """``--until`` as epoch seconds: ``HH:MM`` (UTC, today) or an ISO time.

    >>> deadline("") == 0.0, deadline("2026-12-03T17:05:00+00:00")
    (True, 1796317500.0)
    """
    if not v:
        return 0.0
    if len(v) <= 5:
        hh, mm = v.split(":")
        return datetime.now(UTC).replace(hour=int(hh), minute=int(mm), second=0,
                                         microsecond=0).timestamp()
    return datetime.fromisoformat(v).timestamp()


def _quote_task(job: tuple[str, int, int, float, int, int, float]) -> int:
    """Groups lo..hi (group number g founded by quote g * 2): copies of the templates;
    nothing once ``until`` has passed (:func:`due`)."""
    index, lo, hi, per_day, pool, seed, until = job
    if not due(until):
        return 0
    if (pool, seed) not in _POOL:
        _POOL[(pool, seed)] = templates(pool, seed)
    pool_docs = _POOL[(pool, seed)]
    lines: list[str] = []
    quotes = 0
    for g in range(lo, hi):
        tpl, k = pool_docs[g % pool]
        seq = 2 * g + k  # quotes before it: 2 per group on average
        when = int((T0 + 2 * g * DAY / per_day) * 1000)
        doc = (tpl.replace("@@", f"{g:010x}").replace('"%%SEQ%%"', str(seq))
               .replace('"%%LE%%"', str(when)))
        lines += [json.dumps({"index": {"_index": index, "_id": f"{g:010x}{g % pool:08x}"}}),
                  doc]
        quotes += k
    _bulk(lines)
    return quotes


def grow_quotes(to_quotes: int, *, per_day: float, procs: int, pool: int,
                until: float = 0.0) -> dict[str, Any]:
    """Grow the quote groups' index to ``to_quotes`` reports (groups of 2 on average),
    from the groups already stored (the index is grown, never rebuilt); stop starting
    chunks at ``until`` (:func:`due`) and say how far it got."""
    from pipeline.index.quotes_mapping import ensure_quotes_index

    name = ensure_quotes_index(settings())
    es = es_client()
    es.indices.refresh(index=name)
    have = int(es.count(index=name)["count"])
    to = to_quotes // 2
    t0 = time.perf_counter()
    loading(name, True)
    jobs = [(name, lo, min(lo + CHUNK, to), per_day, pool, 3, until)
            for lo in range(have, to, CHUNK)]
    quotes = 0
    with Pool(procs) as p:
        for n, q in enumerate(p.imap_unordered(_quote_task, jobs)):
            quotes += q
            if n % 5 == 0 or n == len(jobs) - 1:
                took = time.perf_counter() - t0
                print(f"quotes: {n + 1}/{len(jobs)} chunks, {quotes:,} reports in {took:.0f} s"
                      f" ({quotes / max(took, 1e-9):,.0f}/s)", flush=True)
    loading(name, False)
    es.indices.refresh(index=name)
    stored = int(es.count(index=name)["count"])
    return {"had_groups": have, "loaded_groups": stored - have, "loaded_quotes": quotes,
            "stored_groups": stored, "complete": stored >= to,
            "load_seconds": round(time.perf_counter() - t0, 1)}


def reload_before(stage: Any) -> Any:
    """The group agent's reload as it was: every field of each hot document, each group
    indexed from its variants (a MinHash per window), the collector running."""
    from pipeline.group.bounded import QuoteGroup
    from pipeline.group.quotes import MemoryStore, QuoteGroups
    from pipeline.group.window import HotWindow, epoch
    from pipeline.index.quotes_mapping import load_groups

    s, events = stage.settings, {}

    def loaded() -> Any:
        for doc in load_groups(s, window=s.hot_window):
            events[doc["group"]] = doc.get("last_event")
            yield QuoteGroup.from_doc(doc)

    groups = QuoteGroups(MemoryStore(loaded()))
    window = HotWindow(groups, seconds=s.hot_window)
    for gid, when in events.items():
        if when is not None:
            window.touch(gid, epoch(when))
    stage.store, stage.groups, stage.window = groups.store, groups, window
    return groups


def takeover_quotes(way: str = "stored") -> dict[str, Any]:
    """``stored``: :meth:`GroupStage.reload` (the LSH from the rows stored with each group);
    ``before``: :func:`reload_before`, side by side on the same index."""
    from pipeline.stream.quotes import GroupStage

    stage = GroupStage(settings())
    base = rss_mib()
    t0 = time.perf_counter()
    groups = stage.reload() if way == "stored" else reload_before(stage)
    return {"seconds": round(time.perf_counter() - t0, 2), "hot": len(groups.store),
            "way": way, "rss_added_mib": round(rss_mib() - base)}


# -- the run -------------------------------------------------------------------------

def one(kind: str, stored: int, way: str = "stored") -> dict[str, Any]:
    """A takeover in a fresh process (its own RSS)."""
    out = subprocess.run([sys.executable, "-m", "bench.takeover", "takeover", "--kind", kind,
                          "--stored", str(stored), "--way", way],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def store_sizes() -> dict[str, Any]:
    rows = es_client().cat.indices(format="json", bytes="b")
    return {r["index"]: {"docs": int(r["docs.count"]), "bytes": int(r["store.size"])}
            for r in rows if not r["index"].startswith(".")}


def run(args: argparse.Namespace) -> dict[str, Any]:
    plan: list[tuple[str, int]] = []
    for n in sorted(set(args.stories) | set(args.quotes)):
        if n in args.stories:
            plan.append(("stories", n))
        if n in args.quotes:
            plan.append(("quotes", n))
    out: dict[str, Any] = {"hot_window_days": settings().hot_window / DAY,
                           "articles_per_day": args.articles_per_day,
                           "quotes_per_day": args.quotes_per_day, "template_groups": args.pool,
                           "reps": args.reps, "points": []}
    t0 = time.perf_counter()
    for kind, n in plan:
        load = grow_stories(n, per_day=args.articles_per_day, procs=args.procs) \
            if kind == "stories" else grow_quotes(n, per_day=args.quotes_per_day,
                                                  procs=args.procs, pool=args.pool,
                                                  until=args.until)
        before = [one(kind, n, "before") for _ in range(args.before_reps)] \
            if kind == "quotes" else []
        reps = [one(kind, n) for _ in range(args.reps)]
        secs = [r["seconds"] for r in reps]
        point = {"kind": kind, "stored": n, **load, "reps": reps,
                 "seconds_median": sorted(secs)[len(secs) // 2],
                 "seconds_max": max(secs), "store": store_sizes()}
        if before:
            bsecs = [r["seconds"] for r in before]
            point.update(before_reps=before,
                         before_seconds_median=sorted(bsecs)[len(bsecs) // 2])
        out["points"].append(point)
        out["seconds"] = round(time.perf_counter() - t0)
        print(json.dumps(out["points"][-1])[:600], flush=True)
        write(args.name, out)
        plot(args.name, out)
    return out


def plot(name: str, out: dict[str, Any]) -> None:
    plt = pyplot()
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    for kind, label in (("stories", "stories: Stories.recover"),
                        ("quotes", "quote groups: GroupStage reload")):
        pts = [p for p in out["points"] if p["kind"] == kind]
        if pts:
            xs = [p["stored"] / 1e6 for p in pts]
            ax.plot(xs, [p["seconds_median"] for p in pts], marker="o", label=label)
            for p, x in zip(pts, xs, strict=True):
                ax.scatter([x] * len(p["reps"]), [r["seconds"] for r in p["reps"]], s=8,
                           color="grey")
            old = [p for p in pts if "before_seconds_median" in p]
            if old:
                ax.plot([p["stored"] / 1e6 for p in old],
                        [p["before_seconds_median"] for p in old], marker="x", linestyle="--",
                        color="grey", label="quote groups before (every field, LSH from variants)")
    ax.axhline(30, color="red", linestyle=":", label="target 30 s")
    ax.set_xlabel("stored history (millions of articles / quotes)")
    ax.set_ylabel("takeover seconds (median of reps)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"takeover, {out['hot_window_days']:g}d hot window, "
                 f"{out['articles_per_day']:,} articles/day, {out['quotes_per_day']:,} quotes/day")
    ax.legend()
    save_png(fig, name)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    def sizes(v: str) -> list[int]:
        return [int(float(x)) for x in v.split(",") if x]
    r.add_argument("--stories", type=sizes, default=[1_000_000, 5_000_000])
    r.add_argument("--quotes", type=sizes, default=[1_000_000, 5_000_000, 10_000_000])
    r.add_argument("--articles-per-day", type=float, default=20_000)
    r.add_argument("--quotes-per-day", type=float, default=40_000)
    r.add_argument("--pool", type=int, default=20_000)
    r.add_argument("--procs", type=int, default=2)
    r.add_argument("--reps", type=int, default=3)
    r.add_argument("--before-reps", type=int, default=1,
                   help="quote-group takeovers the earlier way, side by side (0: none)")
    r.add_argument("--until", type=deadline, default=0.0,
                   help="stop loading quote groups at this time (HH:MM UTC or ISO); the"
                        " groups stored so far stay a contiguous prefix, a later run resumes")
    r.add_argument("--name", default="takeover")
    t = sub.add_parser("takeover")
    t.add_argument("--kind", choices=["stories", "quotes"], required=True)
    t.add_argument("--stored", type=int, default=0)
    t.add_argument("--way", choices=["stored", "before"], default="stored")
    args = ap.parse_args()
    if args.cmd == "takeover":
        res = takeover_stories(args.stored) if args.kind == "stories" \
            else takeover_quotes(args.way)
        res["max_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(json.dumps(res))
        return 0
    run(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Grouping throughput: the ``funnel`` and ``stories`` stages alone through real Kafka
(and the story state in Elasticsearch), 1 worker process against 2, side by side.

    python -m bench.grouping_throughput [--articles 3000] [--rounds 2] [--workers 1 2]
    python -m bench.grouping_throughput cost [--articles 2000]

Input: the labelled copies set (``bench/copies_data.py``: originals, wire copies,
follow-ups, templated stories; built from ../shared at run time) over several seeds, a
few thousand articles with their copies. Each run gets its own topics (raw: 4
partitions), consumer group and story state; workers (``bench.grouping_worker``: the
pipeline's own agents, nothing else) load and join before the clock starts, which
stops when the assigned topic holds every assignment; ``steady_articles_per_s`` is the
rate between 10 % and 90 % of the articles assigned (every worker busy, without the
producer's start or the last partition's tail), from one consumer polling the assigned
topic's end offsets every 0.2 s while a thread produces. The runs alternate (1, 2, 1, 2,
...) so drift of the shared machine hits both. Where the time goes comes from the
workers' ``newsflow_stage_seconds`` (``bench/stage_times.py``).

``cost`` splits the stories stage's cost per article in-process (decode, signature and
wire, LSH lookup and verification, record, Elasticsearch state write, serializing the
assignment), as it was (all in the stories stage) and as it is (the signature made by
the funnel, shipped as a header, only decoded by the stories stage).

Each run also records how busy the machine's cores were (``cpu``, ``bench/cpu.py``) and
``ceiling_from_idle_cores``: the most 2 workers could gain if every core the 1-worker run
left idle went to them. On a machine whose broker, Elasticsearch and load generator share
the workers' cores, that ceiling, not the design, caps the scaling figure.

Writes bench/results/grouping_throughput.json (and .png), grouping_cost.json.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from bench import copies_data
from bench.common import RESULTS, ROOT, pyplot, save_png, write
from bench.cpu import snapshot, used
from bench.pipeline_bench import env_of, group_members, isolated, stop
from bench.stage_times import breakdown, free_port, scrape
from pipeline.core.contracts import Provenance, RawArticle
from pipeline.core.settings import MAX_MESSAGE_BYTES, Settings
from pipeline.stream.storystate import StoryState
from pipeline.stream.topics import ensure_topics

PROV = Provenance(connector="bench", source="bench")


def dataset(n: int) -> list[RawArticle]:
    """About ``n`` articles of the copies set, seed after seed, in its arrival order."""
    out: list[RawArticle] = []
    seed = 1
    while len(out) < n:
        docs, _ = copies_data.build(seed=seed, variants=4)
        out += [RawArticle.new(url=f"https://bench.example.org/g{seed}/{d.id}", text=d.text,
                               title=d.title, provenance=PROV) for d in docs]
        seed += 1
    return out[:n]


def produce(s: Settings, arts: list[RawArticle]) -> None:
    producer = KafkaProducer(**s.kafka_client_config(), acks="all", linger_ms=20,
                             max_request_size=MAX_MESSAGE_BYTES)
    for a in arts:
        producer.send(s.raw_topic, key=a.id.encode(), value=a.to_bytes())
    producer.flush()
    producer.close()


class Assigned:
    """The assigned topic's message count (its end offsets), read by one consumer, and
    when each count was seen (for the steady rate)."""

    def __init__(self, s: Settings) -> None:
        self.consumer = KafkaConsumer(**s.kafka_client_config())
        parts = self.consumer.partitions_for_topic(s.assigned_topic) or set()
        self.parts = [TopicPartition(s.assigned_topic, p) for p in parts]
        self.seen: list[tuple[float, int]] = []

    def count(self) -> int:
        n = int(sum(self.consumer.end_offsets(self.parts).values()))
        self.seen.append((time.monotonic(), n))
        return n

    def wait(self, n: int, timeout: float, procs: list[Any]) -> float:
        t0 = time.monotonic()
        while self.count() < n:
            if any(p.poll() is not None for p in procs):
                raise SystemExit("a worker exited")
            if time.monotonic() - t0 > timeout:
                raise SystemExit(f"timed out: {self.count()} of {n} assigned")
            time.sleep(0.2)
        return time.monotonic()

    def steady_rate(self, *, base: int, n: int) -> float:
        """Articles/s between 10 % and 90 % of the ``n`` after ``base`` were assigned:
        the rate once every worker is busy, without the producer's start or the tail."""
        lo = next((t, c) for t, c in self.seen if c - base >= 0.1 * n)
        hi = next((t, c) for t, c in self.seen if c - base >= 0.9 * n)
        return (hi[1] - lo[1]) / (hi[0] - lo[0]) if hi[0] > lo[0] else float("nan")

    def close(self) -> None:
        self.consumer.close()


def start(s: Settings, n: int, log: Path) -> tuple[list[subprocess.Popen[bytes]], list[int]]:
    cmd = [sys.executable, "-m", "faust", "-A", "bench.grouping_worker", "worker", "-l",
           "warn", "--without-web"]
    ports = [free_port() for _ in range(n)]
    procs = [subprocess.Popen(cmd, env={**env_of(s), "NEWSFLOW_WORKER_INDEX": str(i),
                                        "NEWSFLOW_METRICS_PORT": str(ports[i])},
                              stdout=subprocess.DEVNULL, stderr=log.open("ab"), cwd=ROOT)
             for i in range(n)]
    return procs, ports


def run(workers: int, arts: list[RawArticle]) -> dict[str, Any]:
    s = isolated(partitions=4)
    ensure_topics(s)
    log = RESULTS / f"grouping-{s.topic_prefix}.log"
    procs, ports = start(s, workers, log)
    try:
        warm = [RawArticle.new(url=f"https://bench.example.org/warm/{i}", text=a.text,
                               title="warm", provenance=PROV) for i, a in enumerate(arts[:8])]
        produce(s, warm)
        counter = Assigned(s)
        counter.wait(len(warm), 300, procs)
        deadline = time.monotonic() + 120
        while group_members(s) < workers and time.monotonic() < deadline:
            time.sleep(1)
        time.sleep(2)
        before, cpu0 = scrape(ports), snapshot([p.pid for p in procs])
        t0 = time.monotonic()
        fed: list[float] = []
        feeder = threading.Thread(target=lambda: (produce(s, arts), fed.append(time.monotonic())))
        feeder.start()
        t1 = counter.wait(len(arts) + len(warm), 1800, procs)
        after, cpu = scrape(ports), used(cpu0, snapshot([p.pid for p in procs]))
        feeder.join()
        steady = counter.steady_rate(base=len(warm), n=len(arts))
        counter.close()
    finally:
        stop(procs)
        StoryState(s).drop()
        log.unlink(missing_ok=True)
    seconds = t1 - t0
    return {"workers": workers, "articles": len(arts), "seconds": round(seconds, 2),
            "articles_per_s": round(len(arts) / seconds, 1),
            "steady_articles_per_s": round(steady, 1), "cpu": cpu,
            "produced_s": round(fed[0] - t0, 2) if fed else None,
            "stages": breakdown(before, after, articles=len(arts))}


def throughput(args: argparse.Namespace) -> None:
    arts = dataset(args.articles)
    rows = []
    for r in range(args.rounds):
        for w in args.workers:
            rows.append({**run(w, arts), "round": r})
            print({k: v for k, v in rows[-1].items() if k != "stages"}, flush=True)
    by = {w: statistics.median(x["articles_per_s"] for x in rows if x["workers"] == w)
          for w in args.workers}
    steady = {w: statistics.median(x["steady_articles_per_s"] for x in rows
                                   if x["workers"] == w) for w in args.workers}
    result: dict[str, Any] = {"articles": len(arts), "raw_partitions": 4, "runs": rows,
                              "median_articles_per_s": by,
                              "median_steady_articles_per_s": steady}
    if 1 in by and 2 in by:
        result["ratio_2w_over_1w"] = round(by[2] / by[1], 3)
        pairs = [b["articles_per_s"] / a["articles_per_s"]
                 for a, b in zip([x for x in rows if x["workers"] == 1],
                                 [x for x in rows if x["workers"] == 2], strict=False)]
        result["ratio_per_round"] = [round(p, 3) for p in pairs]
        result["steady_ratio_2w_over_1w"] = round(steady[2] / steady[1], 3)
        busy = statistics.median(x["cpu"]["cores_busy"] for x in rows if x["workers"] == 1)
        if busy:  # the best 2 workers could do if all the machine's idle CPU went to them
            result["ceiling_from_idle_cores"] = round(rows[0]["cpu"]["cores"] / busy, 3)
    write("grouping_throughput", result)
    _plot(rows)


def _plot(rows: list[dict[str, Any]]) -> None:
    plt = pyplot()
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(6, 3.5))
    labels = [f"{r['workers']}w r{r['round']}" for r in rows]
    ax.bar(labels, [r["articles_per_s"] for r in rows],
           color=["#27a" if r["workers"] == 1 else "#2a7" for r in rows])
    ax.set_ylabel("articles / s (funnel + stories)")
    ax.set_title("grouping through Kafka: 1 vs 2 worker processes")
    save_png(fig, "grouping_throughput")


def cost(args: argparse.Namespace) -> None:
    """Per-article cost split of the stories stage, before and after the header."""
    from bench.stage_cost import split

    result = split(dataset(args.articles), batch=args.batch)
    write("grouping_cost", result)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    sub = ap.add_subparsers(dest="cmd")
    c = sub.add_parser("cost")
    c.add_argument("--articles", type=int, default=2000)
    c.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    (cost if args.cmd == "cost" else throughput)(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

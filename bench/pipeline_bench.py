"""End-to-end benchmarks through real Kafka -> Faust workers -> Elasticsearch.

    python -m bench.pipeline_bench throughput [--workers 1 2] [--repeat 2]
    python -m bench.pipeline_bench latency [--rate 3] [--seconds 60]
    python -m bench.pipeline_bench memory [--articles 10000]

Needs the local stack (``newsflow stack up``) and ../shared (the corpus is read at run
time). Each run uses its own topics, consumer group and index. ``throughput`` compares
the pipeline's articles/s with plain ``nlp.pipe`` on the same texts and cores, side by
side in the same run; results go to bench/results/*.json and *.png.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from bench.common import RESULTS, ROOT, corpus, pyplot, save_png, write
from bench.cpu import snapshot, used
from bench.stage_times import breakdown, free_port, scrape
from pipeline.core.contracts import Provenance, RawArticle
from pipeline.core.settings import MAX_MESSAGE_BYTES, Settings
from pipeline.index.mapping import ensure_index, index_name
from pipeline.stream.topics import ensure_topics
from pipeline.stream.workers import worker_command


def isolated(partitions: int = 4) -> Settings:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    return Settings.from_env({**os.environ, "NEWSFLOW_TOPIC_PREFIX": prefix,
                              "NEWSFLOW_INDEX": f"{prefix}-articles",
                              "NEWSFLOW_PARTITIONS": str(partitions)})


def env_of(s: Settings) -> dict[str, str]:
    return {**os.environ, "NEWSFLOW_KAFKA_BOOTSTRAP": s.kafka_bootstrap,
            "NEWSFLOW_ES_URL": s.es_url, "NEWSFLOW_TOPIC_PREFIX": s.topic_prefix,
            "NEWSFLOW_INDEX": s.index_alias, "NEWSFLOW_PARTITIONS": str(s.partitions)}


PORTS: dict[int, int] = {}  # worker pid -> its metrics port (stage times)


def start_workers(s: Settings, n: int, log: Path) -> list[subprocess.Popen[bytes]]:
    cmd = worker_command("warn")
    procs = []
    for i in range(n):
        port = free_port()
        procs.append(subprocess.Popen(cmd, env={**env_of(s), "NEWSFLOW_WORKER_INDEX": str(i),
                                                "NEWSFLOW_METRICS_PORT": str(port)},
                                      stdout=subprocess.DEVNULL, stderr=log.open("ab"),
                                      cwd=ROOT))
        PORTS[procs[-1].pid] = port
    return procs


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()


def articles(texts: list[str], tag: str) -> list[RawArticle]:
    prov = Provenance(connector="bench", source="bench")
    return [RawArticle.new(url=f"https://bench.example.org/{tag}/{i}", text=t,
                           title=f"Bench {i}", provenance=prov) for i, t in enumerate(texts)]


def produce(s: Settings, arts: list[RawArticle]) -> None:
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all", linger_ms=20,
                             max_request_size=MAX_MESSAGE_BYTES)
    for a in arts:
        producer.send(s.raw_topic, key=a.id.encode(), value=a.to_bytes())
    producer.flush()
    producer.close()


def count(es: Elasticsearch, s: Settings) -> int:
    try:
        es.indices.refresh(index=s.index_alias)
        return int(es.count(index=s.index_alias)["count"])
    except Exception:  # noqa: BLE001
        return 0


def wait_count(es: Elasticsearch, s: Settings, n: int, timeout: float) -> float:
    t0 = time.monotonic()
    while count(es, s) < n:
        if time.monotonic() - t0 > timeout:
            raise SystemExit(f"timed out: {count(es, s)} of {n} indexed")
        time.sleep(0.5)
    return time.monotonic()


def group_members(s: Settings) -> int:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(**s.kafka_client_config())
    try:
        group = admin.describe_groups([s.app_id])[s.app_id]
        if group.get("group_state") != "Stable":
            return 0
        return len(group.get("members", []))
    except Exception:  # noqa: BLE001 - group not there yet
        return 0
    finally:
        admin.close()


def warm_up(s: Settings, es: Elasticsearch, texts: list[str], workers: int) -> None:
    """Workers load spaCy and all join the group before the clock starts."""
    produce(s, articles(texts[:8], "warm"))
    wait_count(es, s, 8, 300)
    deadline = time.monotonic() + 120
    while group_members(s) < workers and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(2)


@contextmanager
def running(workers: int, texts: list[str]
            ) -> Iterator[tuple[Settings, Elasticsearch, list[subprocess.Popen[bytes]]]]:
    """A fresh pipeline (topics, group, index) with warmed-up workers; torn down after."""
    s = isolated()
    ensure_topics(s)
    ensure_index(s)
    es = Elasticsearch(s.es_url, request_timeout=30)
    log = RESULTS / f"worker-{s.topic_prefix}.log"
    procs = start_workers(s, workers, log)
    try:
        warm_up(s, es, texts, workers)
        yield s, es, procs
    finally:
        stop(procs)
        es.indices.delete(index=index_name(s), ignore_unavailable=True)
        es.close()
        log.unlink(missing_ok=True)


def pipeline_run(texts: list[str], workers: int) -> dict[str, Any]:
    """One timed run; ``stages``: where the time went per stage and step (ms per article,
    summed over the workers, from their ``newsflow_stage_seconds``)."""
    with running(workers, texts) as (s, es, procs):
        ports = [PORTS[p.pid] for p in procs]
        arts = articles(texts, "run")
        before, cpu0 = scrape(ports), snapshot([p.pid for p in procs])
        t0 = time.monotonic()
        produce(s, arts)
        t1 = wait_count(es, s, len(arts) + 8, 1800)
        after, cpu = scrape(ports), used(cpu0, snapshot([p.pid for p in procs]))
    return {"workers": workers, "seconds": round(t1 - t0, 2), "cpu": cpu,
            "stages": breakdown(before, after, articles=len(arts))}


def plain_run(texts: list[str], processes: int) -> float:
    import spacy

    from pipeline.enrich.nlp import MODEL_CANDIDATES

    nlp = None
    for name in MODEL_CANDIDATES:
        try:
            nlp = spacy.load(name)
            break
        except OSError:
            continue
    assert nlp is not None
    list(nlp.pipe(texts[:5]))
    t0 = time.monotonic()
    for _ in nlp.pipe(texts, batch_size=32, n_process=processes):
        pass
    return time.monotonic() - t0


def throughput(args: argparse.Namespace) -> None:
    texts = corpus(args.limit)
    words = sum(len(t.split()) for t in texts)
    rows = []
    for workers in args.workers:
        for r in range(args.repeat):
            run = pipeline_run(texts, workers)
            plain = plain_run(texts, workers)
            rows.append({**run, "plain_nlp_pipe_seconds": round(plain, 2),
                         "articles_per_s": round(len(texts) / run["seconds"], 2),
                         "words_per_s": round(words / run["seconds"]),
                         "plain_articles_per_s": round(len(texts) / plain, 2),
                         "ratio_vs_plain": round(plain / run["seconds"], 3), "round": r})
            print({k: v for k, v in rows[-1].items() if k != "stages"}, flush=True)
    by = {w: statistics.median(x["articles_per_s"] for x in rows if x["workers"] == w)
          for w in args.workers}
    result: dict[str, Any] = {"texts": len(texts), "words": words, "runs": rows,
                              "median_articles_per_s": by}
    if 1 in by and 2 in by:
        result["scaling_2_over_1"] = round(by[2] / by[1], 3)
    write("pipeline_throughput", result)
    _plot_bars(rows)


def _plot_bars(rows: list[dict[str, Any]]) -> None:
    plt = pyplot()
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(6, 3.5))
    labels = [f"{r['workers']}w r{r['round']}" for r in rows]
    x = range(len(rows))
    ax.bar([i - 0.2 for i in x], [r["articles_per_s"] for r in rows], 0.4, label="pipeline")
    ax.bar([i + 0.2 for i in x], [r["plain_articles_per_s"] for r in rows], 0.4,
           label="plain nlp.pipe (same cores)")
    ax.set_xticks(list(x), labels)
    ax.set_ylabel("articles / s")
    ax.legend()
    save_png(fig, "pipeline_throughput")


def latency(args: argparse.Namespace) -> None:
    texts = corpus(None)
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    wall: dict[str, float] = {}
    with running(args.workers, texts) as (s, es, _):
        producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all", linger_ms=0)
        n = int(args.rate * args.seconds)
        arts = articles([texts[i % len(texts)] for i in range(n)], "lat")
        done = threading.Event()

        def poll() -> None:
            while not done.is_set() or len(seen) < len(sent):
                pending = [i for i in list(sent) if i not in seen]
                if pending:
                    hits = es.search(index=s.index_alias, query={"ids": {"values": pending}},
                                     size=len(pending), source=False)["hits"]["hits"]
                    now = time.monotonic()
                    for h in hits:
                        seen.setdefault(h["_id"], now)
                time.sleep(0.05)
                if done.is_set() and time.monotonic() - last_send > 120:
                    return

        last_send = time.monotonic()
        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        t0 = time.monotonic()
        for i, a in enumerate(arts):
            target = t0 + i / args.rate
            time.sleep(max(0.0, target - time.monotonic()))
            producer.send(s.raw_topic, key=a.id.encode(), value=a.to_bytes()).get(10)
            sent[a.id] = last_send = time.monotonic()
            wall[a.id] = time.time()
        done.set()
        poller.join(180)
        producer.close()
        phases = _phases(es, s, {i: (wall[i], wall[i] + seen[i] - sent[i]) for i in seen})
    lat = sorted(seen[i] - sent[i] for i in seen)
    q = statistics.quantiles(lat, n=100)
    _latency_png(lat, q)
    write("latency", {"rate_per_s": args.rate, "seconds": args.seconds, "workers": args.workers,
                      "sent": len(sent), "searchable": len(seen),
                      "p50_s": round(q[49], 3), "p95_s": round(q[94], 3),
                      "p99_s": round(q[98], 3), "max_s": round(lat[-1], 3), **phases,
                      "refresh_interval_s": s.refresh_interval, "batch_within_s": s.batch_within,
                      "quote_batch_within_s": s.quote_batch_within,
                      "note": "includes the refresh interval of the articles index"})


def _phases(es: Elasticsearch, s: Settings, times: dict[str, tuple[float, float]]
            ) -> dict[str, Any]:
    """Where each article's time went, from the stamps its document carries (one clock):
    sent -> ``enriched_at`` (funnel, stories, enrich with its batch), -> ``indexed_at``
    (the hop to the index agent and its batch), -> searchable (the bulk write, the
    refresh, the poll); and the words of the slowest 2 %."""
    es.indices.refresh(index=s.index_alias)
    docs = {h["_id"]: h["_source"] for h in es.search(
        index=s.index_alias, query={"ids": {"values": list(times)}}, size=len(times),
        source=["enriched_at", "indexed_at", "text"])["hits"]["hits"]}
    parts: dict[str, list[float]] = {"to_enriched": [], "to_indexed": [], "to_searchable": []}
    slow = []
    for i, (sent, seen) in times.items():
        d = docs.get(i)
        if not d:
            continue
        enriched = datetime.fromisoformat(d["enriched_at"]).timestamp()
        indexed = datetime.fromisoformat(d["indexed_at"]).timestamp()
        parts["to_enriched"].append(enriched - sent)
        parts["to_indexed"].append(indexed - enriched)
        parts["to_searchable"].append(seen - indexed)
        slow.append((seen - sent, len(d.get("text", "").split()), round(enriched - sent, 3)))
    out: dict[str, Any] = {}
    for name, values in parts.items():
        if len(values) >= 2:
            q = statistics.quantiles(values, n=100)
            out[f"{name}_s"] = {"p50": round(q[49], 3), "p99": round(q[98], 3)}
    slow.sort(reverse=True)
    out["slowest"] = [{"seconds": round(t, 3), "words": w, "to_enriched_s": e}
                      for t, w, e in slow[:max(1, len(slow) // 50)]]
    return out


def _latency_png(lat: list[float], q: list[float]) -> None:
    plt = pyplot()
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(lat, bins=30, color="#2a7")
    for p, label in ((q[49], "p50"), (q[94], "p95"), (q[98], "p99")):
        ax.axvline(p, color="#333", linestyle="--")
        ax.text(p, ax.get_ylim()[1] * 0.9, f" {label} {p:.2f}s", fontsize=8)
    ax.set_xlabel("ingest-to-searchable (s)")
    ax.set_ylabel("articles")
    save_png(fig, "latency")


def memory(args: argparse.Namespace) -> None:
    """Worker RSS from warm-up to the end, fed in steady chunks (no huge backlog)."""
    base = corpus(None)
    samples: list[tuple[int, int]] = []
    chunk = args.chunk
    with running(1, base) as (s, es, procs):
        cut = args.max_chars or None
        texts = [base[i % len(base)][:cut] for i in range(args.articles)]
        arts = articles(texts, "mem")
        samples.append((0, _rss_kib(procs[0].pid)))
        for i in range(0, len(arts), chunk):
            produce(s, arts[i:i + chunk])
            wait_count(es, s, i + len(arts[i:i + chunk]) + 8, 1800)
            samples.append((i + len(arts[i:i + chunk]), _rss_kib(procs[0].pid)))
            print(samples[-1], flush=True)

    def at(k: int) -> int:
        return next(r for n, r in samples if n >= k)

    first = at(min(1000, args.articles))
    last = samples[-1][1]
    write("memory", {"articles": args.articles, "max_chars": args.max_chars or None,
                     "chunk": chunk, "rss_kib_after_warmup": samples[0][1],
                     "rss_kib_at_1k": first, "rss_kib_at_end": last,
                     "growth_1k_to_end": round(last / first - 1, 4), "samples": samples})
    plt = pyplot()
    if plt is not None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot([n for n, _ in samples], [r / 1024 for _, r in samples], marker=".")
        ax.set_xlabel("articles processed")
        ax.set_ylabel("worker RSS (MiB)")
        ax.set_ylim(bottom=0)
        save_png(fig, "memory")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("throughput")
    t.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    t.add_argument("--repeat", type=int, default=1)
    t.add_argument("--limit", type=int, default=None)
    lat = sub.add_parser("latency")
    lat.add_argument("--rate", type=float, default=3.0)
    lat.add_argument("--seconds", type=float, default=60)
    lat.add_argument("--workers", type=int, default=1)
    m = sub.add_parser("memory")
    m.add_argument("--articles", type=int, default=10000)
    m.add_argument("--chunk", type=int, default=500)
    m.add_argument("--max-chars", type=int, default=0,
                   help="cut each text to this many characters (a faster long run)")
    args = ap.parse_args()
    {"throughput": throughput, "latency": latency, "memory": memory}[args.cmd](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``newsflow demo``: the whole flow on the bundled sample corpus.

1. bring the local stack up (unless Kafka and Elasticsearch already answer);
2. create topics, index and alias;
3. serve the samples as RSS feeds on 127.0.0.1 (one per publisher) and run the RSS
   connector once;
4. start a Faust worker and wait, showing progress, until every sample is searchable and
   every quote of the samples is grouped;
5. print a few example searches, then who said what across the outlets.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml
from elasticsearch import Elasticsearch
from rich.console import Console
from rich.progress import Progress

from pipeline.core.contracts import article_id, canonicalize_url
from pipeline.core.errors import NewsflowError, StackError
from pipeline.core.settings import Settings
from pipeline.ops.feedserver import by_publisher, load_samples, serving_feeds
from pipeline.search.query import SearchRequest, search
from pipeline.search.quotes import QuotesRequest, render_quotes, search_quotes
from pipeline.search.render import render
from pipeline.stream.workers import worker_command

EXAMPLES = [
    (SearchRequest(entity="Bashar al-Assad", limit=3), ["--entity", "Bashar al-Assad"],
     "articles mentioning Bashar al-Assad (also 'Mr Assad')"),
    (SearchRequest(said_by="Al-Watan", limit=3), ["--said-by", "Al-Watan"],
     "what the newspaper Al-Watan reported"),
    (SearchRequest(text="strike", publisher="Newsflow Samples", limit=3),
     ["strike", "--publisher", "Newsflow Samples"], "full-text search with a publisher filter"),
    (SearchRequest(lang="fr", limit=3), ["--lang", "fr"], "articles detected as French"),
    (SearchRequest(text="Danube cargo ship", limit=3), ["Danube cargo ship"],
     "an AFP story carried by four outlets: shown once, with its copies (--all-copies lists "
     "each); the follow-up two days later is another story"),
]


QUOTE_EXAMPLES = [
    (QuotesRequest(limit=3), [], "the quotes carried by the most outlets, with their first "
                                 "report"),
    (QuotesRequest(said_by="Kremlin", limit=3), ["--said-by", "Kremlin"],
     "what the Kremlin said, whoever reported it"),
]


def _count(es: Elasticsearch, settings: Settings, ids: list[str], since: str) -> int:
    """How many of ``ids`` were enriched since ``since`` (this run, not an earlier one)."""
    es.indices.refresh(index=settings.index_alias)
    query = {"bool": {"filter": [{"ids": {"values": ids}},
                                 {"range": {"enriched_at": {"gte": since}}}]}}
    resp = es.search(index=settings.index_alias, query=query, size=0, track_total_hits=True)
    return int(resp["hits"]["total"]["value"])


def wait_indexed(settings: Settings, ids: list[str], *, timeout: float, since: str,
                 console: Console, worker: subprocess.Popen[bytes] | None = None) -> int:
    es = Elasticsearch(settings.es_hosts, basic_auth=settings.es_auth())
    deadline = time.monotonic() + timeout
    done = 0
    with Progress(console=console, transient=False) as progress:
        task = progress.add_task("enriching and indexing", total=len(ids))
        while time.monotonic() < deadline:
            if worker is not None and worker.poll() is not None:
                raise NewsflowError(f"the worker exited with code {worker.returncode}")
            try:
                done = _count(es, settings, ids, since)
            except Exception:  # noqa: BLE001 - index not there yet
                done = 0
            progress.update(task, completed=done)
            if done >= len(ids):
                break
            time.sleep(1.0)
    es.close()
    return done


def _grouped(es: Elasticsearch, settings: Settings) -> int:
    es.indices.refresh(index=settings.quotes_index_alias)
    resp = es.search(index=settings.quotes_index_alias, size=0,
                     aggs={"mentions": {"sum": {"field": "mentions"}}})
    return int(resp["aggregations"]["mentions"]["value"] or 0)


def wait_grouped(settings: Settings, ids: list[str], *, timeout: float, console: Console,
                 worker: subprocess.Popen[bytes] | None = None) -> int:
    """Wait until the quote groups hold as many reports as the samples have attributions."""
    es = Elasticsearch(settings.es_hosts, basic_auth=settings.es_auth())
    try:
        es.indices.refresh(index=settings.index_alias)
        docs = es.mget(index=settings.index_alias, ids=ids, source=["attributions.kind"])
        expected = sum(len(d["_source"].get("attributions", [])) for d in docs["docs"]
                       if d.get("found"))
        deadline = time.monotonic() + timeout
        done = 0
        with Progress(console=console, transient=False) as progress:
            task = progress.add_task("grouping quotes", total=expected)
            while time.monotonic() < deadline:
                if worker is not None and worker.poll() is not None:
                    raise NewsflowError(f"the worker exited with code {worker.returncode}")
                try:
                    done = _grouped(es, settings)
                except Exception:  # noqa: BLE001 - index not there yet
                    done = 0
                progress.update(task, completed=min(done, expected))
                if done >= expected:
                    break
                time.sleep(1.0)
        return done
    finally:
        es.close()


def run_demo(settings: Settings, *, console: Console, keep_worker: bool = False,
             timeout: float = 600) -> int:
    from pipeline.index.mapping import ensure_index
    from pipeline.index.quotes_mapping import ensure_quotes_index
    from pipeline.ops import stack
    from pipeline.ops.connect import run_connect

    if not all(s.healthy for s in stack.status(settings)):
        stack.up(settings, say=lambda m: console.print(f"[cyan]stack:[/cyan] {m}"))
    from pipeline.stream.topics import ensure_topics

    ensure_topics(settings)
    ensure_index(settings)
    ensure_quotes_index(settings)
    samples = load_samples()
    feeds = by_publisher(samples)
    ids = [article_id(canonicalize_url(a["url"])) for a in samples]
    since = datetime.now(UTC).isoformat()
    console.print(f"[bold]demo:[/bold] {len(samples)} sample articles from {len(feeds)} "
                  "publishers, served as RSS")
    log_path = settings.home / "logs" / "demo-worker.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        worker = subprocess.Popen(worker_command("warn"), stdout=subprocess.DEVNULL,
                                  stderr=log)
    try:
        with serving_feeds(feeds) as urls, tempfile.TemporaryDirectory() as tmp:
            sources = Path(tmp) / "sources.yaml"
            sources.write_text(yaml.safe_dump({"sources": [{
                "name": "samples" if i == 0 else f"samples-{i}", "type": "rss.v1",
                "url": url, "publisher": name, "allow_private": True, "full_text": "never"}
                for i, (name, url) in enumerate(urls.items())]}))
            run_connect(settings, config=str(sources), once=True,
                        state_path=str(Path(tmp) / "state.sqlite"), enable=None,
                        as_json=False, console=console)
        done = wait_indexed(settings, ids, timeout=timeout, since=since, console=console,
                            worker=worker)
        if done < len(ids):
            raise StackError(f"only {done} of {len(ids)} articles became searchable in "
                             f"{timeout:.0f}s; see {settings.home / 'logs'}")
        wait_grouped(settings, ids, timeout=timeout, console=console, worker=worker)
    finally:
        if not keep_worker:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
    console.print("[bold green]all sample articles are searchable.[/bold green] Try:\n")
    show_examples(settings, console=console)
    return 0


def show_examples(settings: Settings, *, console: Console) -> None:
    """Run the example searches in this process (the same code as ``newsflow search``)."""
    for req, args, what in EXAMPLES:
        shown = " ".join(repr(a) if " " in a else a for a in args)
        console.print(f"[bold]$ newsflow search {shown} --limit 3[/bold]   [dim]# {what}[/dim]")
        render(search(settings, req), console)
        console.print()
    for qreq, args, what in QUOTE_EXAMPLES:
        shown = " ".join(repr(a) if " " in a else a for a in args)
        console.print(f"[bold]$ newsflow quotes {shown} --limit 3[/bold]".replace("  ", " ")
                      + f"   [dim]# {what}[/dim]")
        render_quotes(search_quotes(settings, qreq), console)
        console.print()

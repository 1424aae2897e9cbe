"""Connector throughput (items/s), each connector on real HTTP over loopback or local files.

    python -m bench.connector_throughput [--items 2000]

rss.v1 (feed with full text inline), sitemap.v1 and web.v1 (pages fetched and extracted
with trafilatura), jsonapi.v1 (paged JSON), jsonl.v1 and warc.v1 (local files). The
runner and Kafka are left out: this measures the connectors themselves. Writes JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import bar_png, extraction_pages, write
from connectors import registry
from connectors.base import Context
from connectors.http import Fetcher, Limits
from pipeline.core.contracts import RawArticle
from pipeline.ops.feedserver import QuietHandler, rss, serving


def _routes_handler(routes: dict[str, tuple[str, bytes]]) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            path = self.path if self.path in routes else self.path.split("?")[0]
            if path not in routes:
                self.send_error(404)
                return
            ctype, body = routes[path]
            self.reply(200, body, ctype)

    return Handler


def _warc(pages: list[bytes], base: str) -> bytes:
    out = []
    for i, body in enumerate(pages):
        http = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
                + str(len(body)).encode() + b"\r\n\r\n" + body)
        head = (f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: {base}/p/{i}\r\n"
                f"WARC-Date: 2026-11-03T10:00:00Z\r\nWARC-Record-ID: <urn:uuid:{i:032x}>\r\n"
                f"Content-Type: application/http; msgtype=response\r\n"
                f"Content-Length: {len(http)}\r\n\r\n").encode()
        out.append(gzip.compress(head + http + b"\r\n\r\n"))
    return b"".join(out)


async def _drain(name: str, config: dict[str, Any]) -> tuple[int, int, float]:
    cls = registry.load(name)
    fetcher = Fetcher(limits=Limits(per_host_delay=0.0, per_host_concurrency=8,
                                    allow_private=True, respect_robots=False))
    conn = cls(cls.Config(**config), Context(source=f"bench-{name}", fetcher=fetcher))
    ok = errors = 0
    t0 = time.perf_counter()
    async for item in conn.fetch():
        if isinstance(item, RawArticle):
            ok += 1
        else:
            errors += 1
    return ok, errors, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--items", type=int, default=2000)
    args = ap.parse_args()
    pages = extraction_pages()
    n_pages = min(len(pages), 181)
    items = [{"url": f"https://bench.example.org/a/{i}", "title": f"Item {i}",
              "text": pages[i % n_pages][2] or "text", "published_at": "2026-11-01T00:00:00+00:00",
              "authors": ["Bench"]} for i in range(args.items)]
    html = [pages[i][1].encode() for i in range(n_pages)]
    routes: dict[str, tuple[str, bytes]] = {"/feed.xml": ("application/rss+xml", rss(items))}
    for i, body in enumerate(html):
        routes[f"/p/{i}"] = ("text/html", body)
    per_page = 100
    for p in range(args.items // per_page + 2):
        chunk = items[p * per_page:(p + 1) * per_page]
        routes[f"/api?page={p + 1}"] = ("application/json", json.dumps({"articles": chunk})
                                        .encode())
    with serving(_routes_handler(routes)) as base:
        results = _measure(routes, base, html, items, n_pages)
    bar_png("connector_throughput", [str(r["connector"]) for r in results],
            [float(r["items_per_s"] or 0) for r in results], "items / s",
            "connector throughput")
    write("connector_throughput", {"results": results,
                                   "note": "sitemap, web and warc fetch/read and extract "
                                           "each page with trafilatura; politeness delay 0 "
                                           "here (the default is 0.25 s between requests to "
                                           "one host)"})
    return 0


def _measure(routes: dict[str, tuple[str, bytes]], base: str, html: list[bytes],
             items: list[dict[str, Any]], n_pages: int) -> list[dict[str, Any]]:
    urlset = "".join(f"<url><loc>{base}/p/{i}</loc></url>" for i in range(n_pages))
    routes["/sitemap.xml"] = ("application/xml", (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{urlset}</urlset>").encode())
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        jsonl = Path(tmp) / "items.jsonl"
        jsonl.write_text("".join(json.dumps(x) + "\n" for x in items))
        warc = Path(tmp) / "pages.warc.gz"
        warc.write_bytes(_warc(html, base))
        runs: dict[str, dict[str, Any]] = {
            "rss.v1": {"url": f"{base}/feed.xml", "allow_private": True, "full_text": "never",
                       "max_bytes": 100 * 1024 * 1024},
            "jsonapi.v1": {"url": f"{base}/api", "items": "articles", "allow_private": True,
                           "fields": {"url": "url", "title": "title", "text": "text"}, "delay": 0,
                           "pagination": {"type": "page", "max_pages": 100}},
            "jsonl.v1": {"path": str(jsonl)},
            "sitemap.v1": {"url": f"{base}/sitemap.xml", "since_days": None,
                           "allow_private": True, "max_urls": 10000, "delay": 0},
            "web.v1": {"urls": [f"{base}/p/{i}" for i in range(n_pages)],
                       "allow_private": True, "delay": 0},
            "warc.v1": {"paths": [str(warc)]},
        }
        for name, config in runs.items():
            ok, errors, seconds = asyncio.run(_drain(name, config))
            results.append({"connector": name, "items": ok, "item_errors": errors,
                            "seconds": round(seconds, 2),
                            "items_per_s": round(ok / seconds, 1) if seconds else None})
            print(results[-1], flush=True)
    return results


if __name__ == "__main__":
    raise SystemExit(main())

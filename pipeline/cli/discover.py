"""``newsflow discover URL``: a site's feeds and sitemaps, checked, with sources.yaml
entries ready to paste."""

from __future__ import annotations

import asyncio
import json

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from pipeline.cli.app import app, err, out


@app.command()
def discover(
    url: str = typer.Argument(..., help="A page or the home page of the site."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of "
                                 "{url, type, title, items}."),
    allow_private: bool = typer.Option(False, "--allow-private", help="Allow private and "
                                       "loopback addresses (a local or test site)."),
    timeout: float = typer.Option(15.0, "--timeout", min=1, max=120,
                                  help="Seconds per request."),
) -> None:
    """Find the feeds and sitemaps of URL's page and site, check each (fetched and parsed)
    and rank them; print a sources.yaml entry for each.

    Looks at <link rel="alternate">, the usual feed paths, the Sitemap: lines of
    robots.txt, the usual sitemap paths and the news sitemaps of a sitemap index.
    Exit 0 with results, 3 with none, 2 for a URL that is not http(s).
    """
    from connectors.discover import discover as run
    from connectors.errors import BlockedURL
    from connectors.http import parse_target

    try:
        parse_target(url)
    except BlockedURL as exc:
        err.print(f"[red]error:[/red] {escape(exc.reason)} (give an http(s) URL)")
        raise typer.Exit(2) from None
    found = asyncio.run(run(url, allow_private=allow_private, timeout=timeout))
    if as_json:
        print(json.dumps([f.as_dict() for f in found], indent=2, ensure_ascii=False))
    else:
        if not found:
            err.print("no feed or sitemap found (is the site public? for a local site "
                      "give --allow-private)")
        table = Table("#", "type", "items", "title", "url")
        for i, f in enumerate(found, 1):
            table.add_row(str(i), f.type, str(f.items), escape(f.title or "-"), escape(f.url))
        if found:
            out.print(table)
            entries = [f.source_entry(allow_private=allow_private) for f in found]
            print("\n# sources.yaml entries (paste the ones you want under `sources:`)")
            print(yaml.safe_dump(entries, sort_keys=False, allow_unicode=True).rstrip())
    if not found:
        raise typer.Exit(3)

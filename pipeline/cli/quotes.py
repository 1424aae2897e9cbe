"""``newsflow quotes`` and ``sources``: who said what across the news, and who cites whom."""

from __future__ import annotations

import typer

from pipeline.cli.app import app, emit, fail, load_settings, search_failed
from pipeline.core.errors import ConfigError


@app.command()
def quotes(
    query: str = typer.Argument("", help="Words of the quote."),
    said_by: str | None = typer.Option(None, "--said-by", help="Who said it (a name or "
                                       "part of one)."),
    publisher: str | None = typer.Option(None, "--publisher", help="Carried by this "
                                         "publisher."),
    since: str | None = typer.Option(None, "--since", help="First reported on or after "
                                     "(ISO date)."),
    until: str | None = typer.Option(None, "--until", help="First reported on or before."),
    contested: bool = typer.Option(False, "--contested", help="Only words credited to "
                                   "incompatible speakers."),
    limit: int = typer.Option(10, "--limit", min=0, max=1000),
    place: str | None = typer.Option(None, "--place", help="What was said about a place "
                                     "(country, city or US state): quotes naming it, or "
                                     "first reported in an article set there."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Quotes grouped across outlets: the words, who said them, the first report and how
    many outlets carried them. Exit 0 with hits, 3 with none, 1 on error."""
    from pipeline.search.quotes import QuotesRequest, render_quotes, search_quotes

    req = QuotesRequest(text=query or None, said_by=said_by, publisher=publisher,
                        since=since, until=until, contested=contested, limit=limit,
                        place=place)
    settings = load_settings()
    try:
        result = search_quotes(settings, req)
    except ConfigError as exc:
        fail(exc, 2)
    except Exception as exc:  # noqa: BLE001 - say what went wrong and how to fix it
        search_failed("quote search", exc)
    emit(result, as_json=as_json, render=render_quotes)


@app.command()
def sources(
    cited_by: str | None = typer.Option(None, "--cited-by", help="Only the edges from this "
                                        "publisher or outlet."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Who cites whom: publisher -> outlet ("according to Reuters") and outlet -> source
    ("Al-Watan, citing Vendamasti") edges with counts. Exit 0 with edges, 3 with none."""
    from pipeline.search.sources import citing_edges, render_sources

    settings = load_settings()
    try:
        result = citing_edges(settings, cited_by)
    except Exception as exc:  # noqa: BLE001 - say what went wrong and how to fix it
        search_failed("sources", exc)
    emit(result, as_json=as_json, render=render_sources)

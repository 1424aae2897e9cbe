"""``newsflow search``: articles by words, entities, sources, publishers, dates."""

from __future__ import annotations

import typer

from pipeline.cli.app import app, emit, err, load_settings, search_failed

STANCES = ("neutral", "distancing", "endorsing")
ACCESS = ("free", "paywalled", "registration", "unknown")


@app.command()
def search(
    query: str = typer.Argument("", help="Words to search in title and text."),
    entity: str | None = typer.Option(None, "--entity", help="Canonical entity name."),
    type_: str | None = typer.Option(None, "--type", help="Entity label: PERSON, ORG, GPE, "
                                     "OUTLET, NORP..."),
    source: str | None = typer.Option(None, "--source", help="Attributed source."),
    said_by: str | None = typer.Option(None, "--said-by", help="Who said it (canonical)."),
    publisher: str | None = typer.Option(None, "--publisher"),
    since: str | None = typer.Option(None, "--since", help="Published on or after (ISO date)."),
    until: str | None = typer.Option(None, "--until", help="Published on or before."),
    lang: str | None = typer.Option(None, "--lang", help="ISO 639-1 language code."),
    limit: int = typer.Option(10, "--limit", min=0, max=1000),
    all_copies: bool = typer.Option(False, "--all-copies", help="Every copy of a story as "
                                    "its own hit (default: each story once, with its copies "
                                    "counted)."),
    wire: str | None = typer.Option(None, "--wire", help="Only copies of this agency's "
                                    "stories: AFP, AP, Reuters, DPA, EFE, ANSA, Xinhua, PA, "
                                    "UPI..."),
    anonymous: bool = typer.Option(False, "--anonymous",
                                   help="Only articles quoting an anonymous source."),
    stance: str | None = typer.Option(None, "--stance", help="Only articles with a cue of "
                                      "this stance: neutral, distancing or endorsing."),
    country: str | None = typer.Option(None, "--country", help="Only articles with a place "
                                       "in this country (ISO 3166-1 alpha-2: SY, TR, US)."),
    near: str | None = typer.Option(None, "--near", help="Only articles with a place near "
                                    "this one: a city, country or US state, or lat,lon."),
    km: float = typer.Option(50.0, "--km", min=0.001, help="Radius of --near in km."),
    access: str | None = typer.Option(None, "--access", help="Only articles of this access: "
                                      "free, paywalled, registration or unknown."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Search articles; exit 0 with hits, 3 with none, 1 on error."""
    from pipeline.search.query import SearchRequest
    from pipeline.search.query import search as run_search
    from pipeline.search.render import render

    if stance is not None and stance not in STANCES:
        err.print(f"[red]error:[/red] --stance must be one of {', '.join(STANCES)}")
        raise typer.Exit(2)
    from pipeline.core.errors import ConfigError
    from pipeline.search.geo import near_point

    if country is not None and not (len(country) == 2 and country.isalpha()):
        err.print("[red]error:[/red] --country takes an ISO 3166-1 alpha-2 code (SY, TR, US)")
        raise typer.Exit(2)
    try:
        point = near_point(near) if near else None
    except ConfigError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if access is not None and access not in ACCESS:
        err.print(f"[red]error:[/red] --access must be one of {', '.join(ACCESS)}")
        raise typer.Exit(2)
    req = SearchRequest(text=query or None, entity=entity, type=type_, source=source,
                        said_by=said_by, publisher=publisher, since=since, until=until,
                        lang=lang, limit=limit, anonymous=anonymous, stance=stance,
                        all_copies=all_copies, wire=wire, access=access,
                        country=country, near=point, km=km)
    settings = load_settings()
    try:
        result = run_search(settings, req)
    except Exception as exc:  # noqa: BLE001 - say what went wrong and how to fix it
        search_failed("search", exc)
    emit(result, as_json=as_json, render=render)

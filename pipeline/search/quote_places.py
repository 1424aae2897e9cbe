"""Quotes about a place (``newsflow quotes --place Syria``): the quote groups whose words
name the place (its name, the name asked for, or its people's demonym: "Syria",
"Syrian") or whose first report is an article with a linked place there (the country's
ISO code for a country, else the place's GeoNames id)::

    >>> about = place_query("Syria")
    >>> about.place.country, sorted(about.words)
    ('SY', ['Syria', 'Syrian', 'Syrians'])
    >>> about.articles
    {'term': {'countries': 'SY'}}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.core.contracts import Place
from pipeline.core.errors import ConfigError
from pipeline.core.settings import Settings
from pipeline.index.mapping import client

MAX_ARTICLES = 1000  # articles about the place whose quotes are looked up


@dataclass(frozen=True)
class PlaceQuery:
    place: Place
    words: frozenset[str]  # phrases of the quote that name the place
    articles: dict[str, Any]  # the articles index filter of articles about the place


def place_query(name: str) -> PlaceQuery:
    """The place ``name`` means (the gazetteer's most likely meaning) and how to find
    what was said about it; an unknown name is a :class:`ConfigError`."""
    from pipeline.enrich.gazetteer import gazetteer
    from pipeline.enrich.places import Context, link

    place = link(name, Context())
    if place is None or place.geonames_id is None:
        raise ConfigError(f"--place {name!r}: no such place in the gazetteer; give a "
                          "country, city or US state name")
    words = {place.name, name.strip()}
    if place.kind == "country":
        g = gazetteer()
        words |= {d for key, c in g.demonyms.items() if c.geonames_id == place.geonames_id
                  for d in (key.title(), key.title() + "s")}
        articles: dict[str, Any] = {"term": {"countries": place.country}}
    else:
        articles = {"term": {"place_ids": place.geonames_id}}
    return PlaceQuery(place, frozenset(words), articles)


def articles_about(settings: Settings, about: PlaceQuery) -> list[str]:
    """Ids of the (most recent) articles with a linked place there."""
    es = client(settings)
    try:
        if not es.indices.exists_alias(name=settings.index_alias):
            return []
        resp = es.search(index=settings.index_alias, query={"bool": {"filter": [
            about.articles]}}, size=MAX_ARTICLES, source=False,
            sort=[{"published_at": {"order": "desc", "missing": "_last"}}])
    finally:
        es.close()
    return [h["_id"] for h in resp["hits"]["hits"]]


def quote_filter(about: PlaceQuery, article_ids: list[str]) -> dict[str, Any]:
    """The quote groups' filter: words naming the place, or a first report about it."""
    should: list[dict[str, Any]] = [{"match_phrase": {field: w}} for w in sorted(about.words)
                                    for field in ("content", "texts")]
    if article_ids:
        should.append({"terms": {"first_seen.article_id": article_ids}})
    return {"bool": {"should": should, "minimum_should_match": 1}}

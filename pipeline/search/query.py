"""Search the index: relevance-ranked hits, highlights and facets.

User input only ever enters the query as values of ``match``/``term``/``range``
clauses (or ``simple_query_string``, which cannot raise on syntax), never as
query DSL or Lucene syntax::

    >>> q = build_query(SearchRequest(text="talks", entity="Bashar al-Assad"))
    >>> should = q["query"]["bool"]["filter"][0]["bool"]["should"]
    >>> {"term": {"persons": "Bashar al-Assad"}} in should
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.core.settings import Settings
from pipeline.core.vocabulary import INDEX_FIELDS
from pipeline.index.mapping import client
from pipeline.search.geo import place_filters

TYPE_FIELDS = sorted(set(INDEX_FIELDS.values()))


@dataclass
class SearchRequest:
    text: str | None = None
    entity: str | None = None
    type: str | None = None
    source: str | None = None
    said_by: str | None = None
    publisher: str | None = None
    since: str | None = None
    until: str | None = None
    lang: str | None = None
    limit: int = 10
    all_copies: bool = False  # every copy of a story as its own hit (default: one per story)
    wire: str | None = None  # only articles carrying this agency's story (AFP, AP, ...)
    anonymous: bool = False  # only articles with an attribution to an anonymous source
    stance: str | None = None  # only articles with an attribution of that stance
    country: str | None = None  # only articles with a linked place in this country (ISO)
    near: tuple[float, float] | None = None  # ... or a linked place within km of (lat, lon)
    km: float = 50.0
    access: str | None = None  # only articles of that access (free, paywalled, ...)


def _entity_filter(name: str, label: str | None) -> dict[str, Any]:
    nested: dict[str, Any] = {"bool": {"should": [
        {"term": {"entities.canonical": name}}, {"term": {"entities.text": name}}],
        "minimum_should_match": 1}}
    if label:
        nested["bool"]["filter"] = [{"term": {"entities.label": label.upper()}}]
    fields = [INDEX_FIELDS[label.upper()]] if label and label.upper() in INDEX_FIELDS \
        else TYPE_FIELDS
    should: list[dict[str, Any]] = [{"term": {f: name}} for f in fields]
    should.append({"nested": {"path": "entities", "query": nested}})
    return {"bool": {"should": should, "minimum_should_match": 1}}


def build_query(req: SearchRequest) -> dict[str, Any]:
    must: list[dict[str, Any]] = []
    filters: list[dict[str, Any]] = []
    if req.text:
        must.append({"simple_query_string": {"query": req.text, "fields": ["title^3", "text",
                     "summary^2"], "default_operator": "and"}})
    if req.entity:
        filters.append(_entity_filter(req.entity, req.type))
    elif req.type:
        filters.append({"nested": {"path": "entities", "query": {
            "term": {"entities.label": req.type.upper()}}}})
    if req.said_by or req.source:
        who = req.said_by or req.source or ""
        filters.append({"bool": {"should": [
            {"term": {"attributed_sources": who}},
            {"nested": {"path": "attributions", "query": {"bool": {"should": [
                {"term": {"attributions.source.canonical": who}},
                {"match_phrase": {"attributions.source.text": who}}]}}}}],
            "minimum_should_match": 1}})
    if req.publisher:
        filters.append({"bool": {"should": [{"term": {"provenance.publisher": req.publisher}},
                                            {"term": {"provenance.source": req.publisher}}],
                                 "minimum_should_match": 1}})
    if req.since or req.until:
        rng = {k: v for k, v in (("gte", req.since), ("lte", req.until)) if v}
        filters.append({"range": {"published_at": rng}})
    if req.lang:
        filters.append({"term": {"language": req.lang}})
    if req.wire:
        filters.append({"term": {"wire": req.wire}})
    if req.access:
        filters.append({"term": {"access": req.access}})
    if req.anonymous or req.stance:  # both on one attribution: an anonymous source's claim
        said: list[dict[str, Any]] = []
        if req.anonymous:
            said.append({"term": {"attributions.source.anonymous": True}})
        if req.stance:
            said.append({"term": {"attributions.stance": req.stance}})
        filters.append({"nested": {"path": "attributions", "query": {"bool": {"filter": said}}}})
    filters += place_filters(country=req.country, near=req.near, km=req.km)
    query = {
        "query": {"bool": {"must": must or [{"match_all": {}}], "filter": filters}},
        "size": max(0, min(req.limit, 1000)),
        "_source": {"excludes": ["text", "entities", "entity_summary"]},
        "highlight": {"fields": {"text": {"fragment_size": 160, "number_of_fragments": 2},
                                 "title": {}}},
        "aggs": {
            "persons": {"terms": {"field": "persons", "size": 10}},
            "organizations": {"terms": {"field": "organizations", "size": 10}},
            "places": {"terms": {"field": "places", "size": 10}},
            "outlets": {"terms": {"field": "outlets", "size": 10}},
            "attributed_sources": {"terms": {"field": "attributed_sources", "size": 10}},
            "publishers": {"terms": {"field": "provenance.publisher", "size": 10}},
            "wires": {"terms": {"field": "wire", "size": 10}},
            "countries": {"terms": {"field": "countries", "size": 10}},
            "access": {"terms": {"field": "access", "size": 4}},
            "stories": {"cardinality": {"field": "story"}},
        },
    }
    if not req.all_copies:
        query["collapse"] = collapse()
    return query


COPIES_SHOWN = 50  # copies of a story fetched with it (outlets are counted among them)


def collapse() -> dict[str, Any]:
    """One hit per story (the best-scoring article), its other articles as inner hits.

        >>> collapse()["field"], collapse()["inner_hits"]["name"]
        ('story', 'copies')
    """
    return {"field": "story", "inner_hits": {
        "name": "copies", "size": COPIES_SHOWN, "sort": [{"published_at": "asc"}],
        "_source": ["id", "title", "url", "provenance.publisher", "copy_of", "wire"]}}


def story_counts(settings: Settings, stories: list[str], req: SearchRequest
                 ) -> dict[str, tuple[int, list[str]]]:
    """For ``--all-copies``: each story's matching articles and outlets, by aggregation."""
    if not stories:
        return {}
    body = build_query(SearchRequest(**{**req.__dict__, "all_copies": True, "limit": 0}))
    body["aggs"] = {"by_story": {
        "terms": {"field": "story", "include": stories, "size": len(stories)},
        "aggs": {"outlets": {"terms": {"field": "provenance.publisher", "size": 50}}}}}
    body.pop("highlight", None)
    es = client(settings)
    try:
        resp = es.search(index=settings.index_alias, body=body)
    finally:
        es.close()
    return {b["key"]: (b["doc_count"], sorted(o["key"] for o in b["outlets"]["buckets"]))
            for b in resp["aggregations"]["by_story"]["buckets"]}


def _copies(hit: dict[str, Any]) -> tuple[int, list[str]] | None:
    """(articles of the story matching the query, their outlets) from the inner hits."""
    inner = hit.get("inner_hits", {}).get("copies")
    if inner is None:
        return None
    srcs = [h["_source"] for h in inner["hits"]["hits"]]
    outlets = {(s.get("provenance") or {}).get("publisher") for s in srcs}
    return int(inner["hits"]["total"]["value"]), sorted(o for o in outlets if o)


def search(settings: Settings, req: SearchRequest) -> dict[str, Any]:
    """Run the query; return {total, hits: [...], facets: {name: [[value, count]]}}."""
    es = client(settings)
    try:
        resp = es.search(index=settings.index_alias, body=build_query(req))
    finally:
        es.close()
    hits = []
    for h in resp["hits"]["hits"]:
        src = h["_source"]
        hits.append({
            "id": h["_id"], "score": h["_score"], "title": src.get("title"),
            "url": src.get("url"), "published_at": src.get("published_at"),
            "language": src.get("language"),
            "publisher": (src.get("provenance") or {}).get("publisher"),
            "persons": src.get("persons", []),
            "attributed_sources": src.get("attributed_sources", []),
            "story": src.get("story") or h["_id"], "copy_of": src.get("copy_of"),
            "wire": src.get("wire"),
            "main_place": src.get("main_place"), "countries": src.get("countries", []),
            "access": src.get("access", "unknown"),
            "images": src.get("images", []),
            "highlights": [frag for frags in h.get("highlight", {}).values() for frag in frags],
            "who_said_what": [
                {"source": (a.get("source") or {}).get("canonical"), "kind": a["kind"],
                 "cue": (a.get("cue") or {}).get("text"),
                 "content": a["content"]["text"][:200]}
                for a in src.get("attributions", [])][:5],
        })
        counted = _copies(h)
        if counted is not None:
            hits[-1]["copies"], hits[-1]["outlets"] = counted[0] - 1, counted[1]
    if req.all_copies:
        counts = story_counts(settings, sorted({h["story"] for h in hits}), req)
        for hit in hits:
            n, outlets = counts.get(hit["story"], (1, []))
            hit["copies"], hit["outlets"] = n - 1, outlets
    aggs = resp.get("aggregations", {})
    facets = {name: [[b["key"], b["doc_count"]] for b in agg["buckets"]]
              for name, agg in aggs.items() if "buckets" in agg}
    return {"total": resp["hits"]["total"]["value"], "hits": hits, "facets": facets,
            "stories": (aggs.get("stories") or {}).get("value")}

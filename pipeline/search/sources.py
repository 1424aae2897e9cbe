"""Who cites whom: edges between publishers, outlets and their sources, with counts.

Two kinds of edge, from the attributions in the articles index (aggregations, no scan):

* ``cites``: a publisher's article credits an outlet ("according to Reuters", "the
  Handelsblatt newspaper reported"): publisher -> outlet;
* ``citing``: a source is credited through another ("Al-Watan, citing Vendamasti,
  reported"): Al-Watan -> Vendamasti (``cited_via``).

``count`` is the number of attributions (``cites``: of articles) behind an edge::

    >>> edges({"aggregations": {"att": {
    ...     "chains": {"by_source": {"buckets": [{"key": "Al-Watan", "doc_count": 2,
    ...         "cited": {"buckets": [{"key": "Vendamasti", "doc_count": 2}]}}]}},
    ...     "outlets": {"by_outlet": {"buckets": [{"key": "Reuters", "doc_count": 3,
    ...         "articles": {"publishers": {"buckets": [{"key": "BBC", "doc_count": 2}]}}}]}}}}})
    [{'from': 'Al-Watan', 'to': 'Vendamasti', 'relation': 'citing', 'count': 2}, \
{'from': 'BBC', 'to': 'Reuters', 'relation': 'cites', 'count': 2}]
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline.core.settings import Settings
from pipeline.index.mapping import client


def sources_query(size: int = 200) -> dict[str, Any]:
    return {"size": 0, "aggs": {"att": {"nested": {"path": "attributions"}, "aggs": {
        "chains": {"filter": {"exists": {"field": "attributions.cited_via"}}, "aggs": {
            "by_source": {"terms": {"field": "attributions.source.canonical", "size": size},
                          "aggs": {"cited": {"terms": {"field": "attributions.cited_via",
                                                       "size": 50}}}}}},
        "outlets": {"filter": {"term": {"attributions.source.type": "outlet"}}, "aggs": {
            "by_outlet": {"terms": {"field": "attributions.source.canonical", "size": size},
                          "aggs": {"articles": {"reverse_nested": {}, "aggs": {
                              "publishers": {"terms": {"field": "provenance.publisher",
                                                       "size": 50}}}}}}}}}}}}


def edges(resp: dict[str, Any]) -> list[dict[str, Any]]:
    """The edges of an aggregation response, strongest first."""
    att = resp["aggregations"]["att"]
    out = []
    for b in att["chains"]["by_source"]["buckets"]:
        for c in b["cited"]["buckets"]:
            if c["key"] != b["key"]:
                out.append({"from": b["key"], "to": c["key"], "relation": "citing",
                            "count": c["doc_count"]})
    for b in att["outlets"]["by_outlet"]["buckets"]:
        for p in b["articles"]["publishers"]["buckets"]:
            if p["key"] != b["key"]:
                out.append({"from": p["key"], "to": b["key"], "relation": "cites",
                            "count": p["doc_count"]})
    return sorted(out, key=lambda e: (-e["count"], e["from"], e["to"]))


def citing_edges(settings: Settings, cited_by: str | None = None) -> dict[str, Any]:
    """``{"total": n, "edges": [...]}``; ``cited_by`` keeps the edges from that name."""
    es = client(settings)
    try:
        resp = es.search(index=settings.index_alias, body=sources_query())
    finally:
        es.close()
    found = edges(dict(resp))
    if cited_by:
        wanted = cited_by.casefold()
        found = [e for e in found if e["from"].casefold() == wanted]
    return {"total": len(found), "edges": found}


def render_sources(result: dict[str, Any], console: Console) -> None:
    table = Table("from", "relation", "to", "count", title=f"{result['total']} edge(s)")
    for e in result["edges"]:
        table.add_row(escape(e["from"]), e["relation"], escape(e["to"]), str(e["count"]))
    console.print(table)

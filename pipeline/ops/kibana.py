"""Kibana saved objects: data views, saved searches and dashboards (articles; quote groups).

The objects are generated here (so every field they use is checked against the
index mapping by the tests); ``newsflow setup`` imports them through the saved
objects API. A copy for manual import (Kibana → Stack Management → Saved objects) is
committed as ``deploy/kibana/newsflow.ndjson``; a test keeps it equal to the code::

    python -m pipeline.ops.kibana > deploy/kibana/newsflow.ndjson     # regenerate
"""

from __future__ import annotations

import base64
import json
import sys
import urllib.request
import uuid
from typing import Any

from pipeline.core.errors import NewsflowError
from pipeline.core.settings import Settings

DATA_VIEW_ID = "newsflow-articles"
TERMS_PANELS = [
    ("persons", "Top people"), ("organizations", "Top organisations"),
    ("places", "Top places"), ("attributed_sources", "Top attributed sources"),
    ("provenance.publisher", "Publishers"), ("outlets", "News outlets mentioned"),
    ("access", "Access (free, paywalled, registration)"),
]


def _ref(name: str, view: str = DATA_VIEW_ID) -> list[dict[str, str]]:
    return [{"name": name, "type": "index-pattern", "id": view}]


def _search_source(query: str = "") -> dict[str, str]:
    return {"searchSourceJSON": json.dumps({"query": {"query": query, "language": "kuery"},
                                            "filter": [], "indexRefName":
                                            "kibanaSavedObjectMeta.searchSourceJSON.index"})}


def _vis(vid: str, title: str, vis_type: str, aggs: list[dict[str, Any]],
         params: dict[str, Any], *, view: str = DATA_VIEW_ID, query: str = ""
         ) -> dict[str, Any]:
    state = {"title": title, "type": vis_type, "aggs": aggs, "params": params}
    return {"id": vid, "type": "visualization", "attributes": {
        "title": title, "visState": json.dumps(state), "uiStateJSON": "{}",
        "description": "", "version": 1, "kibanaSavedObjectMeta": _search_source(query)},
        "references": _ref("kibanaSavedObjectMeta.searchSourceJSON.index", view)}


def _terms(field: str, title: str) -> dict[str, Any]:
    aggs = [{"id": "1", "enabled": True, "type": "count", "schema": "metric", "params": {}},
            {"id": "2", "enabled": True, "type": "terms", "schema": "segment",
             "params": {"field": field, "size": 15, "order": "desc", "orderBy": "1"}}]
    return _vis(f"newsflow-top-{field.replace('.', '-')}", title, "horizontal_bar", aggs,
                {"type": "histogram", "addLegend": False})


def story_panels() -> list[dict[str, Any]]:
    """Copies and wires (issue 13): per publisher, its articles against the distinct stories
    they tell, and the share of each wire agency in what it publishes."""
    stories = _vis("newsflow-stories-per-publisher", "Unique stories vs copies per publisher",
                   "horizontal_bar", [
                       {"id": "1", "enabled": True, "type": "count", "schema": "metric",
                        "params": {"customLabel": "articles"}},
                       {"id": "2", "enabled": True, "type": "cardinality", "schema": "metric",
                        "params": {"field": "story", "customLabel": "unique stories"}},
                       {"id": "3", "enabled": True, "type": "terms", "schema": "segment",
                        "params": {"field": "provenance.publisher", "size": 15,
                                   "order": "desc", "orderBy": "1"}}],
                   {"type": "histogram", "addLegend": True})
    wires = _vis("newsflow-wire-share-per-outlet", "Wire share per outlet", "horizontal_bar", [
        {"id": "1", "enabled": True, "type": "count", "schema": "metric", "params": {}},
        {"id": "2", "enabled": True, "type": "terms", "schema": "segment",
         "params": {"field": "provenance.publisher", "size": 15, "order": "desc",
                    "orderBy": "1"}},
        {"id": "3", "enabled": True, "type": "terms", "schema": "group",
         "params": {"field": "wire", "size": 10, "order": "desc", "orderBy": "1",
                    "missingBucket": True, "missingBucketLabel": "own reporting"}}],
        {"type": "histogram", "addLegend": True, "seriesParams": [
            {"data": {"id": "1", "label": "articles"}, "mode": "percentage",
             "type": "histogram", "show": True, "valueAxis": "ValueAxis-1"}]})
    return [stories, wires]
ANONYMOUS_FIELDS = ("provenance.publisher", "attributions.source.anonymous",
                    "attributions.source.start")


def _anonymous_share() -> dict[str, Any]:
    """Share of anonymous sourcing per publisher: of the attributions with a source, those
    whose source is anonymous. Attributions are nested, which the aggregation-based panels
    cannot count; a Vega-Lite panel runs the nested aggregation itself (and follows the
    dashboard's time range and filters through %context%)."""
    publisher, anonymous, sourced = ANONYMOUS_FIELDS
    body = {"size": 0, "aggs": {"publishers": {
        "terms": {"field": publisher, "size": 20},
        "aggs": {"atts": {"nested": {"path": "attributions"}, "aggs": {
            "sourced": {"filter": {"exists": {"field": sourced}}},
            "anonymous": {"filter": {"term": {anonymous: True}}}}}}}}}
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": "Share of anonymous sourcing per publisher",
        "data": {"url": {"index": "news-articles", "%context%": True,
                         "%timefield%": "published_at", "body": body},
                 "format": {"property": "aggregations.publishers.buckets"}},
        "transform": [{"calculate": "datum.atts.sourced.doc_count > 0 ? "
                       "datum.atts.anonymous.doc_count / datum.atts.sourced.doc_count : 0",
                       "as": "share"}],
        "mark": "bar",
        "encoding": {
            "y": {"field": "key", "type": "nominal", "sort": "-x", "title": "publisher"},
            "x": {"field": "share", "type": "quantitative", "title": "anonymous sources",
                  "axis": {"format": "%"}},
            "tooltip": [{"field": "key", "type": "nominal", "title": "publisher"},
                        {"field": "share", "type": "quantitative", "format": ".1%"},
                        {"field": "atts.sourced.doc_count", "type": "quantitative",
                         "title": "attributions with a source"}]},
    }
    return _vis("newsflow-anonymous-sourcing", "Share of anonymous sourcing per publisher",
                "vega", [], {"spec": json.dumps(spec, indent=2)})


def saved_objects() -> list[dict[str, Any]]:
    data_view = {"id": DATA_VIEW_ID, "type": "index-pattern", "attributes": {
        "title": "news-articles", "timeFieldName": "published_at", "name": "News articles"},
        "references": []}
    search = {"id": "newsflow-who-said-what", "type": "search", "attributes": {
        "title": "newsflow: who said what",
        "columns": ["title", "attributed_sources", "persons", "provenance.publisher",
                    "language"],
        "sort": [["published_at", "desc"]], "description": "",
        "kibanaSavedObjectMeta": _search_source()},
        "references": _ref("kibanaSavedObjectMeta.searchSourceJSON.index")}
    over_time = _vis("newsflow-articles-over-time", "Articles over time", "histogram", [
        {"id": "1", "enabled": True, "type": "count", "schema": "metric", "params": {}},
        {"id": "2", "enabled": True, "type": "date_histogram", "schema": "segment",
         "params": {"field": "published_at", "interval": "auto", "min_doc_count": 1}}],
        {"type": "histogram", "addLegend": False})
    table = _vis("newsflow-sources-table", "Who said what: sources by article", "table", [
        {"id": "1", "enabled": True, "type": "count", "schema": "metric", "params": {}},
        {"id": "2", "enabled": True, "type": "terms", "schema": "bucket",
         "params": {"field": "attributed_sources", "size": 50, "order": "desc",
                    "orderBy": "1"}},
        {"id": "3", "enabled": True, "type": "terms", "schema": "bucket",
         "params": {"field": "title.raw", "size": 5, "order": "desc", "orderBy": "1"}}],
        {"perPage": 20})
    visuals = [over_time, *(_terms(f, t) for f, t in TERMS_PANELS), table, _anonymous_share(),
               *story_panels()]
    panels, refs = [], []
    for i, vis in enumerate(visuals):
        ref = f"panel_{i}"
        panels.append({"panelIndex": str(i), "gridData": {"x": (i % 2) * 24,
                       "y": (i // 2) * 15, "w": 24, "h": 15, "i": str(i)},
                       "embeddableConfig": {}, "panelRefName": ref, "version": "9.2.8"})
        refs.append({"name": ref, "type": "visualization", "id": vis["id"]})
    dashboard = {"id": "newsflow-dashboard", "type": "dashboard", "attributes": {
        "title": "newsflow: news, entities and sources", "description":
        "Articles over time, top people, organisations, places, attributed sources and "
        "publishers, and who said what.", "panelsJSON": json.dumps(panels),
        "optionsJSON": json.dumps({"useMargins": True}), "timeRestore": False,
        "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(
            {"query": {"query": "", "language": "kuery"}, "filter": []})}},
        "references": refs}
    return [data_view, search, *visuals, dashboard, *quotes_objects()]


QUOTES_VIEW_ID = "newsflow-quotes"


def _agg(aid: str, kind: str, schema: str, **params: Any) -> dict[str, Any]:
    return {"id": aid, "enabled": True, "type": kind, "schema": schema, "params": params}


def _dashboard(did: str, title: str, description: str,
               visuals: list[dict[str, Any]]) -> dict[str, Any]:
    panels, refs = [], []
    for i, vis in enumerate(visuals):
        ref = f"panel_{i}"
        panels.append({"panelIndex": str(i), "gridData": {"x": (i % 2) * 24,
                       "y": (i // 2) * 15, "w": 24, "h": 15, "i": str(i)},
                       "embeddableConfig": {}, "panelRefName": ref, "version": "9.2.8"})
        refs.append({"name": ref, "type": vis["type"], "id": vis["id"]})
    return {"id": did, "type": "dashboard", "attributes": {
        "title": title, "description": description, "panelsJSON": json.dumps(panels),
        "optionsJSON": json.dumps({"useMargins": True}), "timeRestore": False,
        "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(
            {"query": {"query": "", "language": "kuery"}, "filter": []})}},
        "references": refs}


def quotes_objects() -> list[dict[str, Any]]:
    """The quote groups' data view (``news-quotes``, one document per quote group, time =
    its first report) and the "who said what" dashboard."""
    view = QUOTES_VIEW_ID
    data_view = {"id": view, "type": "index-pattern", "attributes": {
        "title": "news-quotes", "timeFieldName": "published_at", "name": "Quote groups"},
        "references": []}
    search = {"id": "newsflow-quotes-search", "type": "search", "attributes": {
        "title": "newsflow: quotes across outlets",
        "columns": ["content", "speaker.canonical", "reports", "publishers",
                    "first_seen.publisher", "contested"],
        "sort": [["reports", "desc"]], "description": "",
        "kibanaSavedObjectMeta": _search_source()},
        "references": _ref("kibanaSavedObjectMeta.searchSourceJSON.index", view)}
    count = _agg("1", "count", "metric")
    speakers = _vis("newsflow-quotes-speakers-over-time", "Top speakers over time",
                    "histogram", [
                        count, _agg("2", "date_histogram", "segment", field="published_at",
                                    interval="auto", min_doc_count=1),
                        _agg("3", "terms", "group", field="speakers", size=8, order="desc",
                             orderBy="1")],
                    {"type": "histogram", "addLegend": True}, view=view)
    carried = _vis("newsflow-quotes-most-carried", "Most carried quotes", "table", [
        _agg("1", "max", "metric", field="reports"),
        _agg("2", "terms", "bucket", field="content.raw", size=20, order="desc", orderBy="1"),
        _agg("3", "terms", "bucket", field="speaker.canonical", size=1, order="desc",
             orderBy="1"),
        _agg("4", "terms", "bucket", field="first_seen.publisher", size=1, order="desc",
             orderBy="1")], {"perPage": 20}, view=view)
    contested = _vis("newsflow-quotes-contested", "Contested quotes (one text, incompatible "
                     "speakers)", "table", [
                         count, _agg("2", "terms", "bucket", field="content.raw", size=20,
                                     order="desc", orderBy="1"),
                         _agg("3", "terms", "bucket", field="speakers", size=5, order="desc",
                              orderBy="1")], {"perPage": 20}, view=view,
                     query="contested : true")
    citing = _vis("newsflow-quotes-citing-edges", "Citing edges: source, citing whom",
                  "table", [
                      count, _agg("2", "terms", "bucket", field="speakers", size=30,
                                  order="desc", orderBy="1"),
                      _agg("3", "terms", "bucket", field="cited_via", size=10, order="desc",
                           orderBy="1")], {"perPage": 20}, view=view,
                  query="cited_via : *")
    first = _vis("newsflow-quotes-first-reports", "First reports by publisher",
                 "horizontal_bar", [
                     count, _agg("2", "terms", "segment", field="first_seen.publisher",
                                 size=15, order="desc", orderBy="1")],
                 {"type": "histogram", "addLegend": False}, view=view)
    visuals = [speakers, carried, contested, citing, first]
    dashboard = _dashboard(
        "newsflow-quotes-dashboard", "newsflow: who said what, across the news",
        "Quote groups: top speakers over time, the quotes carried by the most outlets, "
        "contested quotes, citing edges and who reported first.", [*visuals, search])
    return [data_view, search, *visuals, dashboard]


def ndjson() -> str:
    return "".join(json.dumps(o, sort_keys=True) + "\n" for o in saved_objects())


def import_saved_objects(settings: Settings) -> str:
    """POST the NDJSON to Kibana's saved objects import API (overwrite)."""
    if not settings.kibana_url:
        raise NewsflowError("NEWSFLOW_KIBANA_URL is not set")
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"newsflow.ndjson\"\r\nContent-Type: application/ndjson\r\n\r\n"
            f"{ndjson()}\r\n--{boundary}--\r\n").encode()
    headers = {"kbn-xsrf": "newsflow",
               "Content-Type": f"multipart/form-data; boundary={boundary}"}
    auth = settings.es_auth()
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    req = urllib.request.Request(
        f"{settings.kibana_url.rstrip('/')}/api/saved_objects/_import?overwrite=true",
        data=body, method="POST", headers=headers)
    with urllib.request.urlopen(req, timeout=60) as resp:
        result = json.load(resp)
    if not result.get("success"):
        raise NewsflowError(f"Kibana import failed: {json.dumps(result)[:500]}")
    return f"imported {result.get('successCount')} saved objects"


if __name__ == "__main__":
    sys.stdout.write(ndjson())

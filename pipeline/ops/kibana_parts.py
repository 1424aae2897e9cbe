"""The pieces every newsflow Kibana object is built from: references, search sources,
aggregations, aggregation-based visualisations (with complete XY parameters) and
dashboards. The objects themselves are in :mod:`pipeline.ops.kibana`,
:mod:`pipeline.ops.kibana_quotes` and :mod:`pipeline.ops.kibana_map`::

    >>> p = xy_params("horizontal_bar", legend=False)
    >>> p["categoryAxes"][0]["position"], p["seriesParams"][0]["mode"]
    ('left', 'normal')
"""

from __future__ import annotations

import json
from typing import Any

INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"
KIBANA_PANEL_VERSION = "9.2.8"


def ref(name: str, view: str, kind: str = "index-pattern") -> dict[str, str]:
    return {"name": name, "type": kind, "id": view}


def search_source(query: str = "") -> dict[str, str]:
    return {"searchSourceJSON": json.dumps({"query": {"query": query, "language": "kuery"},
                                            "filter": [], "indexRefName": INDEX_REF})}


def agg(aid: str, kind: str, schema: str, **params: Any) -> dict[str, Any]:
    return {"id": aid, "enabled": True, "type": kind, "schema": schema, "params": params}


def xy_params(vis_type: str, *, legend: bool, mode: str = "normal",
              axis_mode: str = "normal", label: str = "Count") -> dict[str, Any]:
    """The XY renderer's parameters: one category axis (left for a horizontal bar chart,
    which is how Kibana tells it from a vertical one), one value axis (``axis_mode``
    ``percentage`` draws shares) and one series (``mode`` ``normal`` or ``stacked``)."""
    horizontal = vis_type == "horizontal_bar"
    series_type = "histogram" if vis_type in ("histogram", "horizontal_bar") else vis_type
    return {
        "type": series_type, "addLegend": legend, "addTooltip": True,
        "legendPosition": "right", "times": [], "addTimeMarker": False,
        "grid": {"categoryLines": False},
        "categoryAxes": [{"id": "CategoryAxis-1", "type": "category",
                          "position": "left" if horizontal else "bottom", "show": True,
                          "scale": {"type": "linear"},
                          "labels": {"show": True, "filter": not horizontal,
                                     "truncate": 200}, "title": {}}],
        "valueAxes": [{"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value",
                       "position": "bottom" if horizontal else "left", "show": True,
                       "scale": {"type": "linear", "mode": axis_mode},
                       "labels": {"show": True, "rotate": 0, "filter": False,
                                  "truncate": 100}, "title": {"text": label}}],
        "seriesParams": [{"show": True, "type": series_type, "mode": mode,
                          "data": {"id": "1", "label": label}, "valueAxis": "ValueAxis-1",
                          "drawLinesBetweenPoints": True, "showCircles": True}],
    }


def vis(vid: str, title: str, vis_type: str, aggs: list[dict[str, Any]],
        params: dict[str, Any], *, view: str, query: str = "") -> dict[str, Any]:
    """An aggregation-based visualisation of the data view ``view``."""
    state = {"title": title, "type": vis_type, "aggs": aggs, "params": params}
    return {"id": vid, "type": "visualization", "attributes": {
        "title": title, "visState": json.dumps(state), "uiStateJSON": "{}",
        "description": "", "version": 1, "kibanaSavedObjectMeta": search_source(query)},
        "references": [ref(INDEX_REF, view)]}


def dashboard(did: str, title: str, description: str,
              panels_of: list[dict[str, Any]]) -> dict[str, Any]:
    """A dashboard of the given objects, two panels a row, each by reference."""
    panels, refs = [], []
    for i, obj in enumerate(panels_of):
        name = f"panel_{i}"
        panels.append({"panelIndex": str(i), "gridData": {"x": (i % 2) * 24,
                       "y": (i // 2) * 15, "w": 24, "h": 15, "i": str(i)},
                       "embeddableConfig": {}, "panelRefName": name,
                       "version": KIBANA_PANEL_VERSION})
        refs.append(ref(name, obj["id"], obj["type"]))
    return {"id": did, "type": "dashboard", "attributes": {
        "title": title, "description": description, "panelsJSON": json.dumps(panels),
        "optionsJSON": json.dumps({"useMargins": True}), "timeRestore": False,
        "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(
            {"query": {"query": "", "language": "kuery"}, "filter": []})}},
        "references": refs}


def data_view(vid: str, title: str, name: str) -> dict[str, Any]:
    return {"id": vid, "type": "index-pattern", "attributes": {
        "title": title, "timeFieldName": "published_at", "name": name}, "references": []}


def saved_search(sid: str, title: str, columns: list[str], sort: list[list[str]], *,
                 view: str) -> dict[str, Any]:
    return {"id": sid, "type": "search", "attributes": {
        "title": title, "columns": columns, "sort": sort, "description": "",
        "kibanaSavedObjectMeta": search_source()}, "references": [ref(INDEX_REF, view)]}

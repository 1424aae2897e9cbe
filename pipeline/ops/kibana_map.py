"""The "Where the news happens" map (Kibana's ``map`` saved-object type): articles
clustered by their main place, and countries shaded by how many articles are set there.

Layers are stored as Kibana stores them: ``layerListJSON`` with each data view named by
``indexPatternRefName`` (``layer_<i>_source_index_pattern``, ``layer_<i>_join_<j>_index_pattern``)
and listed in the object's references; layer types as renamed in 8.1 (``GEOJSON_VECTOR``,
``EMS_VECTOR_TILE``); the GeoNames credit as the layer's ``attribution`` (7.14 on)::

    >>> [m] = map_objects("newsflow-articles")
    >>> [r["name"] for r in m["references"]]
    ['layer_1_source_index_pattern', 'layer_2_join_0_index_pattern']
"""

from __future__ import annotations

import json
from typing import Any

MAP_ID = "newsflow-places-map"
MAIN_POINT = "main_place.location"
MAIN_COUNTRY = "main_place.country"
GEONAMES = {"label": "Places: GeoNames (CC BY 4.0)", "url": "https://www.geonames.org/"}


def _count_style(field: str) -> dict[str, Any]:
    return {"type": "VECTOR", "isTimeAware": True, "properties": {
        "fillColor": {"type": "DYNAMIC", "options": {
            "color": "Blues", "colorCategory": "palette_0", "type": "ORDINAL",
            "field": {"name": field, "origin": "join" if "__" in field else "source"},
            "fieldMetaOptions": {"isEnabled": True, "sigma": 3}}},
        "lineColor": {"type": "STATIC", "options": {"color": "#FFFFFF"}},
        "lineWidth": {"type": "STATIC", "options": {"size": 1}},
        "iconSize": {"type": "STATIC", "options": {"size": 6}}}}


def _layers() -> list[dict[str, Any]]:
    base = {"id": "newsflow-base", "type": "EMS_VECTOR_TILE", "label": None,
            "sourceDescriptor": {"type": "EMS_TMS", "isAutoSelect": True,
                                 "lightModeDefault": "road_map_desaturated"},
            "visible": True, "alpha": 1, "minZoom": 0, "maxZoom": 24,
            "style": {"type": "EMS_VECTOR_TILE", "color": ""},
            "includeInFitToBounds": True}
    by_place = {"id": "newsflow-main-places", "type": "GEOJSON_VECTOR",
                "label": "Articles by main place", "attribution": GEONAMES,
                "sourceDescriptor": {
                    "type": "ES_GEO_GRID", "id": "newsflow-main-places-source",
                    "geoField": MAIN_POINT, "requestType": "point", "resolution": "COARSE",
                    "indexPatternRefName": "layer_1_source_index_pattern",
                    "metrics": [{"type": "count", "label": "articles"}],
                    "applyGlobalQuery": True, "applyGlobalTime": True},
                "visible": True, "alpha": 0.85, "minZoom": 0, "maxZoom": 24,
                "style": _count_style("doc_count"), "includeInFitToBounds": True,
                "joins": []}
    by_country = {"id": "newsflow-countries", "type": "GEOJSON_VECTOR",
                  "label": "Articles by country", "attribution": GEONAMES,
                  "sourceDescriptor": {"type": "EMS_FILE", "id": "world_countries",
                                       "tooltipProperties": ["name", "iso2"]},
                  "joins": [{"leftField": "iso2", "right": {
                      "type": "ES_TERM_SOURCE", "id": "newsflow-countries-join",
                      "indexPatternRefName": "layer_2_join_0_index_pattern",
                      "term": MAIN_COUNTRY, "size": 250,
                      "metrics": [{"type": "count", "label": "articles"}],
                      "applyGlobalQuery": True, "applyGlobalTime": True}}],
                  "visible": True, "alpha": 0.6, "minZoom": 0, "maxZoom": 24,
                  "style": _count_style("__kbnjoin__count__newsflow-countries-join"),
                  "includeInFitToBounds": False}
    return [base, by_place, by_country]


def map_objects(view: str) -> list[dict[str, Any]]:
    """The map over the articles' data view ``view``."""
    state = {"zoom": 1.5, "center": {"lon": 20, "lat": 25}, "timeFilters":
             {"from": "now-30d", "to": "now"}, "refreshConfig": {"isPaused": True,
                                                                 "interval": 0},
             "query": {"query": "", "language": "kuery"}, "filters": [],
             "settings": {"autoFitToDataBounds": False}}
    return [{"id": MAP_ID, "type": "map", "attributes": {
        "title": "Where the news happens",
        "description": "Articles by main place (dateline, else the most-mentioned place) "
                       "and by its country. Places: GeoNames (CC BY 4.0).",
        "mapStateJSON": json.dumps(state), "layerListJSON": json.dumps(_layers()),
        "uiStateJSON": json.dumps({"isLayerTOCOpen": True, "openTOCDetails": []})},
        "references": [
            {"name": "layer_1_source_index_pattern", "type": "index-pattern", "id": view},
            {"name": "layer_2_join_0_index_pattern", "type": "index-pattern", "id": view}]}]

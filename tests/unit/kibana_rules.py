"""What Kibana 9.2 enforces on (or silently does with) newsflow's saved objects, read from
Kibana's source and checked here without a running Kibana (docs/kibana.md names the
files each rule comes from). ``check`` returns the problems, each under its rule's name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

# Saved-object attributes per type: (required, allowed). visualization: the 8.8.0 schema
# of visualization.ts; dashboard: schema v1-v3 (unknowns forbidden); search: the legacy
# attributes that the search migrations take in; map: StoredMapAttributes; index-pattern:
# the data view's saved attributes; lens and query: their types' attributes.
ATTRIBUTES: dict[str, tuple[set[str], set[str]]] = {
    "index-pattern": ({"title"}, {"title", "name", "timeFieldName", "fields", "fieldFormatMap",
                                  "fieldAttrs", "runtimeFieldMap", "sourceFilters", "type",
                                  "typeMeta", "allowNoIndex", "allowHidden", "intervalName"}),
    "visualization": ({"title"}, {"title", "description", "version", "kibanaSavedObjectMeta",
                                  "uiStateJSON", "visState", "savedSearchRefName"}),
    "dashboard": ({"title"}, {"title", "description", "kibanaSavedObjectMeta", "timeRestore",
                              "timeFrom", "timeTo", "refreshInterval", "controlGroupInput",
                              "panelsJSON", "optionsJSON", "hits", "version", "sections"}),
    "search": ({"title", "kibanaSavedObjectMeta"},
               {"title", "description", "columns", "sort", "grid", "hideChart", "hideTable",
                "isTextBasedQuery", "usesAdHocDataView", "kibanaSavedObjectMeta",
                "viewMode", "hideAggregatedPreview", "rowHeight", "headerRowHeight",
                "rowsPerPage", "sampleSize", "breakdownField", "density", "timeRestore",
                "timeRange", "refreshInterval", "tabs"}),
    "map": ({"title"}, {"title", "description", "mapStateJSON", "layerListJSON",
                        "uiStateJSON"}),
    "lens": ({"title", "visualizationType", "state"},
             {"title", "description", "visualizationType", "state", "version"}),
    "query": ({"title", "query"}, {"title", "description", "query", "filters", "timefilter"}),
}
XY_TYPES = {"histogram", "horizontal_bar", "line", "area"}
CHART_MODES = {"normal", "stacked"}  # xy ChartMode
AXIS_MODES = {"normal", "percentage", "wiggle", "silhouette"}  # xy AxisMode
SCALE_TYPES = {"linear", "log", "square root"}  # xy ScaleType
AGGREGATABLE = {"keyword", "long", "integer", "short", "byte", "double", "float",
                "half_float", "scaled_float", "unsigned_long", "date", "date_nanos",
                "boolean", "ip", "geo_point", "geo_shape", "version"}
NUMERIC = AGGREGATABLE - {"keyword", "date", "date_nanos", "boolean", "ip", "geo_point",
                          "geo_shape", "version"}
AGG_FIELD_TYPES = {"date_histogram": {"date", "date_nanos"}, "max": NUMERIC | {"date"},
                   "min": NUMERIC | {"date"}, "avg": NUMERIC, "sum": NUMERIC,
                   "geohash_grid": {"geo_point"}, "geotile_grid": {"geo_point"}}
MAP_LAYER_TYPES = {"RASTER_TILE", "EMS_VECTOR_TILE", "GEOJSON_VECTOR", "MVT_VECTOR",
                   "HEATMAP", "LAYER_GROUP"}
GEO_SOURCES = {"ES_GEO_GRID", "ES_SEARCH", "ES_PEW_PEW", "ES_GEO_LINE"}


@dataclass(frozen=True)
class Field:
    type: str
    nested: str | None  # the innermost nested path it lies under


@dataclass(frozen=True)
class Problem:
    rule: str
    where: str
    message: str


def fields_of(props: dict[str, Any], prefix: str = "", nested: str | None = None
              ) -> dict[str, Field]:
    """Every field of a mapping by path; object paths are no fields, nested ones are."""
    out: dict[str, Field] = {}
    for name, spec in props.items():
        path = f"{prefix}{name}"
        kind = spec.get("type", "object")
        if kind == "nested":
            out[path] = Field("nested", nested)
            out.update(fields_of(spec["properties"], f"{path}.", path))
            continue
        if "properties" in spec:
            out.update(fields_of(spec["properties"], f"{path}.", nested))
            continue
        out[path] = Field(kind, nested)
        for sub, sub_spec in spec.get("fields", {}).items():
            out[f"{path}.{sub}"] = Field(sub_spec["type"], nested)
    return out


FIELD_RE = re.compile(r"([A-Za-z_@][\w.]*)\s*:\s*(\{)?")


def kql_fields(query: str) -> Iterator[tuple[str, str | None]]:
    """Each field a KQL query names, as (full path, the nested block it is written in)."""
    stack: list[str] = []
    i = 0
    while i < len(query):
        ch = query[i]
        if ch == '"':
            end = query.find('"', i + 1)
            i = len(query) if end < 0 else end + 1
            continue
        if ch == "}":
            stack and stack.pop()
            i += 1
            continue
        m = FIELD_RE.match(query, i)
        if m and (i == 0 or not (query[i - 1].isalnum() or query[i - 1] in "_.")):
            path = ".".join([*stack, m.group(1)])
            yield path, ".".join(stack) or None
            if m.group(2):
                stack.append(path)
            i = m.end()
            continue
        i += 1


def kql_problems(query: str, fields: dict[str, Field], where: str) -> list[Problem]:
    out = []
    for path, block in kql_fields(query):
        field = fields.get(path)
        if field is None:
            out.append(Problem("kql_fields", where, f"KQL names {path!r}, not in the mapping"))
        elif field.type != "nested" and field.nested != block:
            out.append(Problem("nested_kql", where, (
                f"{path!r} lies under the nested field {field.nested!r}: write "
                f"{field.nested} : {{ ... }}") if field.nested else
                f"{block!r} is not a nested field: write {path} : ..."))
    return out


def _json(where: str, raw: str, out: list[Problem]) -> Any:
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        out.append(Problem("attributes", where, "a JSON attribute does not parse"))
        return {}


def _attributes(o: dict[str, Any], where: str) -> list[Problem]:
    required, allowed = ATTRIBUTES.get(o["type"], (set(), set()))
    if not allowed:
        return [Problem("attributes", where, f"unknown saved-object type {o['type']!r}")]
    keys = set(o["attributes"])
    out = [Problem("attributes", where, f"missing {sorted(required - keys)}")
           ] if required - keys else []
    if keys - allowed:
        out.append(Problem("attributes", where, f"not in the type's schema: "
                           f"{sorted(keys - allowed)}"))
    return out


def _used_ref_names(o: dict[str, Any], out: list[Problem], where: str) -> set[str]:
    attrs, names = o["attributes"], set()
    meta = attrs.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
    if meta:
        source = _json(where, meta, out)
        if source.get("indexRefName"):
            names.add(source["indexRefName"])
    if o["type"] == "dashboard":
        names |= {p["panelRefName"] for p in _json(where, attrs.get("panelsJSON", "[]"), out)}
    if o["type"] == "map":
        for layer in _json(where, attrs.get("layerListJSON", "[]"), out):
            for source in [layer.get("sourceDescriptor") or {},
                           *(j.get("right", {}) for j in layer.get("joins") or [])]:
                if "indexPatternId" in source:
                    out.append(Problem("references", where, "a layer names its data view by "
                                       "id: Kibana stores indexPatternRefName + a reference"))
                if source.get("indexPatternRefName"):
                    names.add(source["indexPatternRefName"])
    return names


def _references(o: dict[str, Any], ids: set[tuple[str, str]], where: str) -> list[Problem]:
    out: list[Problem] = []
    refs = {r["name"]: r for r in o["references"]}
    for name in _used_ref_names(o, out, where) - set(refs):
        out.append(Problem("references", where, f"{name!r} is used but not a reference"))
    for r in o["references"]:
        if (r["type"], r["id"]) not in ids:
            out.append(Problem("references", where, f"reference {r} resolves to no object"))
    return out


def vis_type_from_params(params: dict[str, Any]) -> str | None:
    """Kibana's getVisTypeFromParams."""
    kind = (params.get("seriesParams") or [{}])[0].get("type")
    position = (params.get("categoryAxes") or [{}])[0].get("position")
    return "horizontal_bar" if kind == "histogram" and position in ("left", "right") else kind


def _xy(state: dict[str, Any], where: str) -> list[Problem]:
    params, out = state.get("params", {}), []
    axes = {a.get("id") for a in params.get("valueAxes") or []}
    for s in params.get("seriesParams") or []:
        if s.get("mode") not in CHART_MODES:
            out.append(Problem("xy_series_mode", where, f"series mode {s.get('mode')!r}: the "
                               f"renderer knows {sorted(CHART_MODES)}"))
        if s.get("valueAxis") not in axes:
            out.append(Problem("xy_axis_mode", where, f"series on axis {s.get('valueAxis')!r},"
                               " which is not a value axis"))
    for a in params.get("valueAxes") or []:
        scale = a.get("scale") or {}
        if scale.get("mode", "normal") not in AXIS_MODES or \
                scale.get("type", "linear") not in SCALE_TYPES:
            out.append(Problem("xy_axis_mode", where, f"value axis scale {scale}"))
    if not params.get("categoryAxes") or not params.get("seriesParams") \
            or not params.get("valueAxes"):
        out.append(Problem("xy_vis_type", where, "XY params need categoryAxes, valueAxes "
                           "and seriesParams"))
    elif vis_type_from_params(params) != state["type"]:
        out.append(Problem("xy_vis_type", where, f"getVisTypeFromParams makes it "
                           f"{vis_type_from_params(params)!r}, not {state['type']!r}"))
    return out


def _agg_field(kind: str, name: str, fields: dict[str, Field], where: str, rule: str
               ) -> list[Problem]:
    field = fields.get(name)
    if field is None:
        return [Problem("aggregatable", where, f"{kind} on {name!r}, not in the mapping")]
    if field.type not in AGGREGATABLE:
        return [Problem("aggregatable", where, f"{kind} on {name!r} ({field.type}): not "
                        "aggregatable")]
    if field.nested:
        return [Problem("nested_terms", where, f"{kind} on {name!r} under the nested field "
                        f"{field.nested!r}: an aggregation-based panel has no nested agg")]
    allowed = AGG_FIELD_TYPES.get(kind)
    if allowed and field.type not in allowed:
        return [Problem(rule, where, f"{kind} needs {sorted(allowed)}, {name!r} is "
                        f"{field.type}")]
    return []


def _map(o: dict[str, Any], fields: dict[str, Field], where: str) -> list[Problem]:
    out: list[Problem] = []
    for layer in _json(where, o["attributes"].get("layerListJSON", "[]"), out):
        if layer.get("type") not in MAP_LAYER_TYPES:
            out.append(Problem("map_layers", where, f"layer type {layer.get('type')!r}"))
        source = layer.get("sourceDescriptor") or {}
        if source.get("type") in GEO_SOURCES:
            field = fields.get(source.get("geoField", ""))
            if not field or field.type not in ("geo_point", "geo_shape") or field.nested:
                out.append(Problem("map_layers", where, f"geoField {source.get('geoField')!r}"
                                   " is not a (non-nested) geo field"))
        for join in layer.get("joins") or []:
            right = join.get("right", {})
            if right.get("type") != "ES_TERM_SOURCE":
                out.append(Problem("map_layers", where, "a join's right side needs its type"))
            out += _agg_field("terms", right.get("term", ""), fields, where, "map_layers")
    return out


def check(objects: list[dict[str, Any]], *, views: dict[str, str],
          mappings: dict[str, dict[str, Any]], examples: Sequence[str] = ()) -> list[Problem]:
    """The problems of an export. ``views``: data view id -> the index title it must
    have; ``mappings``: index title -> mapping properties; ``examples``: KQL of the
    articles index (the README's)."""
    fields = {title: fields_of(props) for title, props in mappings.items()}
    ids = {(o["type"], o["id"]) for o in objects}
    titles = {o["id"]: o["attributes"].get("title") for o in objects
              if o["type"] == "index-pattern"}
    out: list[Problem] = []
    for o in objects:
        where = f"{o['type']}:{o['id']}"
        out += _attributes(o, where) + _references(o, ids, where)
        view_ids = [r["id"] for r in o["references"] if r["type"] == "index-pattern"]
        if o["type"] == "index-pattern" and titles[o["id"]] != views.get(o["id"]):
            out.append(Problem("index_title", where, f"title {titles[o['id']]!r}, settings "
                               f"say {views.get(o['id'])!r}"))
        view = titles.get(view_ids[0]) if view_ids else None
        f = fields.get(view or "", {})
        meta = o["attributes"].get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
        query = _json(where, meta, out).get("query", {}) if meta else {}
        if query.get("query") and view:
            out += kql_problems(query["query"], f, where)
        if o["type"] == "query":
            out += kql_problems(o["attributes"]["query"].get("query", ""), f, where)
        if o["type"] == "map":
            out += _map(o, f, where)
        if o["type"] != "visualization":
            continue
        state = _json(where, o["attributes"].get("visState", "{}"), out)
        if state.get("type") in XY_TYPES:
            out += _xy(state, where)
        for a in state.get("aggs", []):
            if "field" in a.get("params", {}):
                out += _agg_field(a["type"], a["params"]["field"], f, where, "aggregatable")
        if state.get("type") == "vega":
            index = json.loads(state["params"]["spec"])["data"]["url"]["index"]
            if index not in mappings:
                out.append(Problem("index_title", where, f"Vega queries {index!r}, not an "
                                   "index of these settings"))
    for q in examples:
        out += kql_problems(q, next(iter(fields.values())), f"example {q!r}")
    return out

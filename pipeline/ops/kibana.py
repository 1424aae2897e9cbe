"""Kibana saved objects: data views, saved searches, panels, a map and dashboards
(articles; quote groups), generated for the current settings.

The data views are titled with ``NEWSFLOW_INDEX`` and the quotes alias, and the Vega
panel queries the same index, so the objects follow the settings they are made for.
``newsflow setup`` imports them through the saved objects API; ``newsflow kibana export``
writes them as NDJSON for a manual import (Kibana → Stack Management → Saved objects).
``deploy/kibana/newsflow.ndjson`` is the export for the default settings; a test keeps
it equal to the code, and ``tests/unit/test_kibana_rules.py`` checks every object
against the rules Kibana itself enforces (docs/kibana.md)::

    newsflow kibana export --output deploy/kibana/newsflow.ndjson     # regenerate

    >>> from pipeline.core.settings import Settings
    >>> saved_objects(Settings(index_alias="t1-articles"))[0]["attributes"]["title"]
    't1-articles'
"""

from __future__ import annotations

import base64
import json
import sys
import urllib.error
import urllib.request
import uuid
from typing import Any

from pipeline.core.errors import NewsflowError
from pipeline.core.settings import Settings
from pipeline.ops.kibana_map import map_objects
from pipeline.ops.kibana_parts import (
    agg,
    dashboard,
    data_view,
    saved_search,
    vis,
    xy_params,
)
from pipeline.ops.kibana_quotes import quotes_objects

DATA_VIEW_ID = "newsflow-articles"
TERMS_PANELS = [
    ("persons", "Top people"), ("organizations", "Top organisations"),
    ("places", "Top places"), ("countries", "Top countries"),
    ("attributed_sources", "Top attributed sources"),
    ("provenance.publisher", "Publishers"), ("outlets", "News outlets mentioned"),
    ("access", "Access (free, paywalled, registration)"),
]


def _terms(field: str, title: str) -> dict[str, Any]:
    aggs = [agg("1", "count", "metric"),
            agg("2", "terms", "segment", field=field, size=15, order="desc", orderBy="1")]
    return vis(f"newsflow-top-{field.replace('.', '-')}", title, "horizontal_bar", aggs,
               xy_params("horizontal_bar", legend=False), view=DATA_VIEW_ID)


def story_panels() -> list[dict[str, Any]]:
    """Copies and wires: per publisher, its articles against the distinct stories they
    tell, and the share of each wire agency in what it publishes (a percentage value
    axis over stacked series: each bar is one publisher's 100 %)."""
    stories = vis("newsflow-stories-per-publisher", "Unique stories vs copies per publisher",
                  "horizontal_bar", [
                      agg("1", "count", "metric", customLabel="articles"),
                      agg("2", "cardinality", "metric", field="story",
                          customLabel="unique stories"),
                      agg("3", "terms", "segment", field="provenance.publisher", size=15,
                          order="desc", orderBy="1")],
                  xy_params("horizontal_bar", legend=True), view=DATA_VIEW_ID)
    wires = vis("newsflow-wire-share-per-outlet", "Wire share per outlet", "horizontal_bar", [
        agg("1", "count", "metric"),
        agg("2", "terms", "segment", field="provenance.publisher", size=15, order="desc",
            orderBy="1"),
        agg("3", "terms", "group", field="wire", size=10, order="desc", orderBy="1",
            missingBucket=True, missingBucketLabel="own reporting")],
        xy_params("horizontal_bar", legend=True, mode="stacked", axis_mode="percentage",
                  label="share of articles"), view=DATA_VIEW_ID)
    return [stories, wires]


ANONYMOUS_FIELDS = ("provenance.publisher", "attributions.source.anonymous",
                    "attributions.source.start")


def _anonymous_share(index: str) -> dict[str, Any]:
    """Share of anonymous sourcing per publisher: of the attributions with a source, those
    whose source is anonymous. Attributions are nested, which the aggregation-based panels
    cannot count; a Vega-Lite panel runs the nested aggregation itself on ``index`` (and
    follows the dashboard's time range and filters through %context%)."""
    publisher, anonymous, sourced = ANONYMOUS_FIELDS
    body = {"size": 0, "aggs": {"publishers": {
        "terms": {"field": publisher, "size": 20},
        "aggs": {"atts": {"nested": {"path": "attributions"}, "aggs": {
            "sourced": {"filter": {"exists": {"field": sourced}}},
            "anonymous": {"filter": {"term": {anonymous: True}}}}}}}}}
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": "Share of anonymous sourcing per publisher",
        "data": {"url": {"index": index, "%context%": True,
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
    return vis("newsflow-anonymous-sourcing", "Share of anonymous sourcing per publisher",
               "vega", [], {"spec": json.dumps(spec, indent=2)}, view=DATA_VIEW_ID)


def article_objects(settings: Settings) -> list[dict[str, Any]]:
    """The articles' data view, search, panels, map and dashboard for ``settings``."""
    view = DATA_VIEW_ID
    dv = data_view(view, settings.index_alias, "News articles")
    search = saved_search("newsflow-who-said-what", "newsflow: who said what",
                          ["title", "attributed_sources", "persons", "provenance.publisher",
                           "language"], [["published_at", "desc"]], view=view)
    over_time = vis("newsflow-articles-over-time", "Articles over time", "histogram", [
        agg("1", "count", "metric"),
        agg("2", "date_histogram", "segment", field="published_at", interval="auto",
            min_doc_count=1)], xy_params("histogram", legend=False), view=view)
    table = vis("newsflow-sources-table", "Who said what: sources by article", "table", [
        agg("1", "count", "metric"),
        agg("2", "terms", "bucket", field="attributed_sources", size=50, order="desc",
            orderBy="1"),
        agg("3", "terms", "bucket", field="title.raw", size=5, order="desc", orderBy="1")],
        {"perPage": 20}, view=view)
    maps = map_objects(view)
    visuals = [over_time, *(_terms(f, t) for f, t in TERMS_PANELS), table,
               _anonymous_share(settings.index_alias), *story_panels()]
    board = dashboard(
        "newsflow-dashboard", "newsflow: news, entities and sources",
        "Articles over time, where the news happens (map), top people, organisations, "
        "places, countries, attributed sources and publishers, and who said what.",
        [*visuals, *maps])
    return [dv, search, *visuals, *maps, board]


def saved_objects(settings: Settings | None = None) -> list[dict[str, Any]]:
    """Every newsflow saved object for ``settings`` (default: the environment's)."""
    settings = settings or Settings.from_env()
    return [*article_objects(settings), *quotes_objects(settings)]


def ndjson(settings: Settings | None = None) -> str:
    return "".join(json.dumps(o, sort_keys=True) + "\n" for o in saved_objects(settings))


def _http_problem(exc: urllib.error.HTTPError, url: str) -> NewsflowError:
    detail = exc.read()[:300].decode("utf-8", "replace") if exc.fp else ""
    if exc.code in (401, 403):
        return NewsflowError(
            f"Kibana refused the import ({exc.code} {exc.reason}) at {url}: set "
            "NEWSFLOW_ES_USERNAME/NEWSFLOW_ES_PASSWORD to a user allowed to manage saved "
            f"objects, or run with --no-kibana. {detail}".strip())
    return NewsflowError(f"Kibana import failed ({exc.code} {exc.reason}) at {url}: {detail}")


def import_saved_objects(settings: Settings) -> str:
    """POST the NDJSON to Kibana's saved objects import API (overwrite). An HTTP error or
    an unreachable Kibana is a :class:`NewsflowError` saying what to do."""
    if not settings.kibana_url:
        raise NewsflowError("NEWSFLOW_KIBANA_URL is not set")
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"newsflow.ndjson\"\r\nContent-Type: application/ndjson\r\n\r\n"
            f"{ndjson(settings)}\r\n--{boundary}--\r\n").encode()
    headers = {"kbn-xsrf": "newsflow",
               "Content-Type": f"multipart/form-data; boundary={boundary}"}
    auth = settings.es_auth()
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    url = f"{settings.kibana_url.rstrip('/')}/api/saved_objects/_import?overwrite=true"
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            result = json.load(resp)
    except urllib.error.HTTPError as exc:
        raise _http_problem(exc, url) from None
    except (urllib.error.URLError, OSError) as exc:
        raise NewsflowError(f"Kibana is not reachable at {settings.kibana_url} ({exc}); "
                            "is it up, or run with --no-kibana") from None
    if not result.get("success"):
        raise NewsflowError(f"Kibana import failed: {json.dumps(result)[:500]}")
    return f"imported {result.get('successCount')} saved objects"


if __name__ == "__main__":
    sys.stdout.write(ndjson())

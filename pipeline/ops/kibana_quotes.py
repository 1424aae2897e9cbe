"""The quote groups' Kibana objects: their data view (titled with the quotes alias,
one document per quote group, time = its first report), a saved search, five panels and
the "who said what, across the news" dashboard::

    >>> from pipeline.core.settings import Settings
    >>> quotes_objects(Settings(index_alias="t1-articles"))[0]["attributes"]["title"]
    't1-quotes'
"""

from __future__ import annotations

from typing import Any

from pipeline.core.settings import Settings
from pipeline.ops.kibana_parts import agg, dashboard, data_view, saved_search, vis, xy_params

QUOTES_VIEW_ID = "newsflow-quotes"


def _tables(view: str) -> list[dict[str, Any]]:
    count = agg("1", "count", "metric")
    carried = vis("newsflow-quotes-most-carried", "Most carried quotes", "table", [
        agg("1", "max", "metric", field="reports"),
        agg("2", "terms", "bucket", field="content.raw", size=20, order="desc", orderBy="1"),
        agg("3", "terms", "bucket", field="speaker.canonical", size=1, order="desc",
            orderBy="1"),
        agg("4", "terms", "bucket", field="first_seen.publisher", size=1, order="desc",
            orderBy="1")], {"perPage": 20}, view=view)
    contested = vis("newsflow-quotes-contested", "Contested quotes (one text, incompatible "
                    "speakers)", "table", [
                        count, agg("2", "terms", "bucket", field="content.raw", size=20,
                                   order="desc", orderBy="1"),
                        agg("3", "terms", "bucket", field="speakers", size=5, order="desc",
                            orderBy="1")], {"perPage": 20}, view=view,
                    query="contested : true")
    citing = vis("newsflow-quotes-citing-edges", "Citing edges: source, citing whom",
                 "table", [
                     count, agg("2", "terms", "bucket", field="speakers", size=30,
                                order="desc", orderBy="1"),
                     agg("3", "terms", "bucket", field="cited_via", size=10, order="desc",
                         orderBy="1")], {"perPage": 20}, view=view,
                 query="cited_via : *")
    return [carried, contested, citing]


def quotes_objects(settings: Settings) -> list[dict[str, Any]]:
    """The quotes data view, search, panels and dashboard for ``settings``."""
    view = QUOTES_VIEW_ID
    dv = data_view(view, settings.quotes_index_alias, "Quote groups")
    search = saved_search("newsflow-quotes-search", "newsflow: quotes across outlets",
                          ["content", "speaker.canonical", "reports", "publishers",
                           "first_seen.publisher", "contested"], [["reports", "desc"]],
                          view=view)
    count = agg("1", "count", "metric")
    speakers = vis("newsflow-quotes-speakers-over-time", "Top speakers over time",
                   "histogram", [
                       count, agg("2", "date_histogram", "segment", field="published_at",
                                  interval="auto", min_doc_count=1),
                       agg("3", "terms", "group", field="speakers", size=8, order="desc",
                           orderBy="1")],
                   xy_params("histogram", legend=True, mode="stacked"), view=view)
    first = vis("newsflow-quotes-first-reports", "First reports by publisher",
                "horizontal_bar", [
                    count, agg("2", "terms", "segment", field="first_seen.publisher",
                               size=15, order="desc", orderBy="1")],
                xy_params("horizontal_bar", legend=False), view=view)
    carried, contested, citing = _tables(view)
    visuals = [speakers, carried, contested, citing, first]
    board = dashboard(
        "newsflow-quotes-dashboard", "newsflow: who said what, across the news",
        "Quote groups: top speakers over time, the quotes carried by the most outlets, "
        "contested quotes, citing edges and who reported first.", [*visuals, search])
    return [dv, search, *visuals, board]

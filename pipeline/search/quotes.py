"""Search the quote groups: who said what, who carried it, and who reported it first.

User input only enters the query as values (``simple_query_string``, ``term``,
``match_phrase``, ``range``), never as query DSL::

    >>> q = build_query(QuotesRequest(said_by="Kremlin", contested=True))
    >>> [list(f) for f in q["query"]["bool"]["filter"]]
    [['bool'], ['term']]
    >>> q["sort"][0]
    {'reports': 'desc'}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape

from pipeline.core.settings import Settings
from pipeline.index.mapping import client

SOURCE_FIELDS = ["group", "content", "kind", "speaker", "speakers", "reports", "publishers",
                 "first_seen", "contested", "merged"]


@dataclass
class QuotesRequest:
    text: str | None = None
    said_by: str | None = None
    publisher: str | None = None
    since: str | None = None
    until: str | None = None
    contested: bool = False
    limit: int = 10
    place: str | None = None  # what was said about this place (pipeline.search.quote_places)


def build_query(req: QuotesRequest, place: dict[str, Any] | None = None) -> dict[str, Any]:
    """The quote groups' query; ``place``: the filter of :func:`quote_filter`."""
    must: list[dict[str, Any]] = []
    filters: list[dict[str, Any]] = [place] if place else []
    if req.text:
        must.append({"simple_query_string": {"query": req.text, "fields": [
            "content^2", "texts", "speaker.text"], "default_operator": "and"}})
    if req.said_by:
        filters.append({"bool": {"should": [
            {"term": {"speakers": req.said_by}}, {"term": {"speaker.canonical": req.said_by}},
            {"match_phrase": {"speakers.text": req.said_by}},
            {"match_phrase": {"speaker.text": req.said_by}}], "minimum_should_match": 1}})
    if req.publisher:
        filters.append({"term": {"publishers": req.publisher}})
    if req.since or req.until:
        rng = {k: v for k, v in (("gte", req.since), ("lte", req.until)) if v}
        filters.append({"range": {"published_at": rng}})
    if req.contested:
        filters.append({"term": {"contested": True}})
    sort: list[Any] = [{"reports": "desc"}, {"publisher_count": "desc"},
                       {"published_at": {"order": "asc", "missing": "_last"}}, {"group": "asc"}]
    if req.text:
        sort.insert(0, "_score")
    return {"query": {"bool": {"must": must or [{"match_all": {}}], "filter": filters}},
            "size": max(0, min(req.limit, 1000)), "sort": sort,
            "track_total_hits": True, "_source": SOURCE_FIELDS}


def _hit(src: dict[str, Any]) -> dict[str, Any]:
    speaker = src.get("speaker") or {}
    first = src.get("first_seen") or {}
    return {
        "group": src["group"], "content": src.get("content"), "kind": src.get("kind"),
        "speaker": {k: speaker.get(k) for k in ("text", "canonical", "type")},
        "reports": src.get("reports", 0), "publishers": src.get("publishers", []),
        "first_seen": {k: first.get(k) for k in ("article_id", "url", "publisher",
                                                 "published_at")},
        "speakers": src.get("speakers", []), "contested": bool(src.get("contested")),
        "merged": src.get("merged", []),
    }


def search_quotes(settings: Settings, req: QuotesRequest) -> dict[str, Any]:
    """Run the query; return ``{"total": n, "quotes": [...]}`` (the ``--json`` shape),
    with ``place`` (the place the quotes are about) when ``req.place`` is given."""
    place_filter, about = None, None
    if req.place:
        from pipeline.search.quote_places import articles_about, place_query, quote_filter

        about = place_query(req.place)
        place_filter = quote_filter(about, articles_about(settings, about))
    es = client(settings)
    try:
        resp = es.search(index=settings.quotes_index_alias,
                         body=build_query(req, place_filter))
    finally:
        es.close()
    out: dict[str, Any] = {"total": resp["hits"]["total"]["value"],
                           "quotes": [_hit(h["_source"]) for h in resp["hits"]["hits"]]}
    if about is not None:
        out["place"] = about.place.model_dump()
    return out


def _t(value: Any, limit: int | None = None) -> str:
    text = str(value or "")
    if limit and len(text) > limit:
        text = text[:limit - 1] + "…"
    return escape(text)


def render_quotes(result: dict[str, Any], console: Console) -> None:
    """One line per group: the words, the speaker, the first report, how many carried it."""
    about = result.get("place")
    console.print(f"[bold]{result['total']}[/bold] quote group(s)" + (
        f" about [blue]{_t(about['name'])}[/blue]" if about else ""))
    for i, q in enumerate(result["quotes"], 1):
        sp = q["speaker"]
        who = sp.get("canonical") or sp.get("text") or "unnamed"
        first = q["first_seen"]
        outlets = len(q["publishers"])
        flag = " [red]contested: " + _t(" / ".join(q["speakers"])) + "[/red]" \
            if q["contested"] else ""
        console.print(f"{i}. [italic]{_t(q['content'], 160)}[/italic] — [green]{_t(who)}[/green]"
                      f"  [dim]first: {_t(first.get('publisher') or '?')} "
                      f"{_t(first.get('published_at') or '')} {_t(first.get('url') or '')}"
                      f"[/dim]  [bold]{outlets} outlet(s)[/bold], {q['reports']} report(s)"
                      f"{flag}", emoji=False, soft_wrap=True)

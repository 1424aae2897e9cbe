"""Rendering of ``newsflow search`` results for people (tables) and programs (--json).

Article text is data, not markup: every piece of it is escaped, so a title such as
``[/bold]`` or ``[citation needed]`` prints as written.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

_EM = re.compile(r"(</?em>)")


def _text(value: Any, limit: int | None = None) -> str:
    """``value`` as markup-safe text, cut to ``limit`` characters before escaping."""
    return escape(str(value or "")[:limit])


def _highlight(fragment: str) -> str:
    """An Elasticsearch highlight fragment, its ``<em>`` hits in bold yellow."""
    tags = {"<em>": "[bold yellow]", "</em>": "[/bold yellow]"}
    return "".join(tags.get(part) or escape(part) for part in _EM.split(fragment))


def _copies_line(hit: dict[str, Any]) -> str | None:
    """'+ 3 copies in 4 outlets: A, B, C, D (wire: AFP)' for a story shown once.

        >>> _copies_line({"copies": 1, "outlets": ["A", "B"], "wire": "AFP"})
        '   [magenta]+ 1 copy in 2 outlets[/magenta]: A, B  [dim](wire: AFP)[/dim]'
    """
    n = hit.get("copies")
    if not n:
        return None
    outlets = hit.get("outlets") or []
    names = ", ".join(_text(o) for o in outlets[:6]) + (", …" if len(outlets) > 6 else "")
    line = (f"   [magenta]+ {n} cop{'y' if n == 1 else 'ies'} in {len(outlets)} "
            f"outlet{'' if len(outlets) == 1 else 's'}[/magenta]")
    if names:
        line += f": {names}"
    if hit.get("wire"):
        line += f"  [dim](wire: {_text(hit['wire'])})[/dim]"
    return line


def _where(console: Console, hit: dict[str, Any]) -> None:
    """'where: Damascus (SY)  places in SY, TR' for an article with a main place."""
    where = hit.get("main_place") or {}
    if not where.get("name"):
        return
    country = f" ({_text(where['country'])})" if where.get("country") else ""
    countries = ", ".join(_text(c) for c in hit.get("countries") or [])
    more = f"  [dim]places in {countries}[/dim]" if countries else ""
    console.print(f"   [blue]where: {_text(where['name'])}{country}[/blue]{more}", emoji=False)


def _hit(console: Console, i: int, hit: dict[str, Any]) -> None:
    console.print(f"\n[bold cyan]{i}. {_text(hit.get('title') or '(untitled)')}[/bold cyan]"
                  f"  [dim]{_text(hit.get('publisher'))} {_text(hit.get('published_at'))}"
                  f"[/dim]", emoji=False)
    access = hit.get("access")
    mark = f"  [yellow]({_text(access)})[/yellow]" if access in ("paywalled",
                                                                "registration") else ""
    console.print(f"   [dim]{_text(hit.get('url'))}[/dim]{mark}", emoji=False)
    images = hit.get("images") or []
    if images:
        lead = next((i for i in images if i.get("lead")), images[0])
        about = " — ".join(_text(x, 100) for x in (lead.get("caption"), lead.get("credit")) if x)
        more = f" (+{len(images) - 1})" if len(images) > 1 else ""
        console.print(f"   [dim]image: {_text(lead.get('url'))}{more}"
                      f"{'  ' + about if about else ''}[/dim]", emoji=False)
    line = _copies_line(hit)
    if line:
        console.print(line, emoji=False)
    _where(console, hit)
    for frag in hit["highlights"][:2]:
        console.print(f"   … {_highlight(frag)} …", emoji=False)
    for w in hit["who_said_what"][:3]:
        console.print(f"   [green]{_text(w['source'] or 'unnamed')}[/green] "
                      f"{_text(w['cue'])}: [italic]{_text(w['content'], 120)}[/italic]",
                      emoji=False)


def render(result: dict[str, Any], console: Console) -> None:
    """Print the hits (title, highlights, who said what) and a table of facets."""
    stories = result.get("stories")
    console.print(f"[bold]{result['total']}[/bold] matching article(s)"
                  + (f" in [bold]{stories}[/bold] stor{'y' if stories == 1 else 'ies'}"
                     if stories is not None else ""))
    for i, hit in enumerate(result["hits"], 1):
        _hit(console, i, hit)
    facets = {k: v for k, v in result["facets"].items() if v}
    if facets:
        table = Table(title="facets", show_lines=False)
        table.add_column("facet")
        table.add_column("top values")
        for name, buckets in facets.items():
            table.add_row(_text(name), ", ".join(f"{_text(k)} ({n})" for k, n in buckets[:6]))
        console.print(table)

"""Rendering of ``newsflow search`` results for people (tables) and programs (--json)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def render(result: dict[str, Any], console: Console) -> None:
    console.print(f"[bold]{result['total']}[/bold] matching article(s)")
    for i, hit in enumerate(result["hits"], 1):
        console.print(f"\n[bold cyan]{i}. {hit.get('title') or '(untitled)'}[/bold cyan]"
                      f"  [dim]{hit.get('publisher') or ''} {hit.get('published_at') or ''}"
                      f"[/dim]")
        console.print(f"   [dim]{hit.get('url') or ''}[/dim]")
        for frag in hit["highlights"][:2]:
            console.print("   … " + frag.replace("<em>", "[bold yellow]")
                          .replace("</em>", "[/bold yellow]") + " …")
        for w in hit["who_said_what"][:3]:
            console.print(f"   [green]{w['source'] or 'unnamed'}[/green] "
                          f"{w['cue'] or ''}: [italic]{w['content'][:120]}[/italic]")
    facets = {k: v for k, v in result["facets"].items() if v}
    if facets:
        table = Table(title="facets", show_lines=False)
        table.add_column("facet")
        table.add_column("top values")
        for name, buckets in facets.items():
            table.add_row(name, ", ".join(f"{k} ({n})" for k, n in buckets[:6]))
        console.print(table)

"""Find connectors by entry point (group ``newsflow.connectors``), versioned names.

    >>> sorted(available())
    ['jsonapi.v1', 'jsonl.v1', 'rss.v1', 'sitemap.v1', 'warc.v1', 'web.v1']
    >>> load("rss.v1").__name__
    'RSSConnector'
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.metadata import entry_points

from connectors.base import Connector
from connectors.errors import SourceConfigError

GROUP = "newsflow.connectors"
NAME = re.compile(r"^[a-z][a-z0-9_-]*\.v\d+$")


@lru_cache(maxsize=1)
def available() -> dict[str, str]:
    """Registered connector names -> 'module:Class'."""
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def load(name: str, *, source: str = "?") -> type[Connector]:
    eps = {ep.name: ep for ep in entry_points(group=GROUP)}
    if name not in eps:
        known = ", ".join(sorted(eps)) or "none"
        raise SourceConfigError(f"unknown connector type '{name}' (registered: {known})",
                                source=source)
    if not NAME.match(name):
        raise SourceConfigError(f"connector name '{name}' is not of the form 'kind.vN'",
                                source=source)
    cls = eps[name].load()
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise SourceConfigError(f"entry point '{name}' is not a Connector subclass",
                                source=source)
    if cls.name != name:
        raise SourceConfigError(f"entry point '{name}' loads a connector named '{cls.name}'",
                                source=source)
    return cls

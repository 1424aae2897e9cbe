"""Index replicas as configured (``NEWSFLOW_INDEX_REPLICAS``) on every newsflow index, and
the searchable indices' refresh interval (``NEWSFLOW_REFRESH_INTERVAL``).

The articles' and quote groups' templates carry the setting themselves. The story
assignment's state index is created by the worker: a template matching its name gives it
the same ``auto_expand_replicas`` (which wins over the replicas named at creation), and
:func:`ensure_replicas` also applies the setting to indices that exist already (an upgrade
of a single-node index to a cluster)::

    ensure_replicas(settings, es)   # -> ['news-articles-v3', 'news-quotes-v1', ...]

The refresh interval is how long a written article or quote group takes to show in
search at most; the articles' and quote groups' templates carry it, and
:func:`ensure_replicas` applies it to their existing indices too.
"""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

from pipeline.core.replication import index_replica_settings
from pipeline.core.settings import Settings


def refresh_settings(settings: Settings) -> dict[str, str]:
    """The searchable indices' refresh interval, in Elasticsearch's form (0: its default).

    >>> refresh_settings(Settings()), refresh_settings(Settings(refresh_interval=2))
    ({'refresh_interval': '500ms'}, {'refresh_interval': '2000ms'})
    >>> refresh_settings(Settings(refresh_interval=0))
    {'refresh_interval': '1s'}
    """
    ms = round(settings.refresh_interval * 1000)
    return {"refresh_interval": f"{ms}ms" if ms > 0 else "1s"}


def story_state_template(settings: Settings) -> dict[str, Any]:
    """The template giving the story state index its replicas (nothing else).

    >>> story_state_template(Settings())["index_patterns"]
    ['news-articles-stories', 'news-articles-stories-v*']
    """
    return {"index_patterns": [settings.story_state_index, f"{settings.story_state_index}-v*"],
            "priority": 200,
            "template": {"settings": index_replica_settings(settings.index_replicas)},
            "_meta": {"managed_by": "newsflow"}}


def ensure_replicas(settings: Settings, es: Elasticsearch) -> list[str]:
    """Install the story state template; set the replicas on the existing newsflow indices
    (the two aliases' indices and the story state) and the refresh interval on the two
    aliases' indices. Returns the indices updated."""
    es.indices.put_index_template(name=f"{settings.story_state_index}-template",
                                  **story_state_template(settings))
    searchable = {settings.index_alias, settings.quotes_index_alias}
    got = es.indices.get(index=",".join([*searchable, settings.story_state_index]),
                         ignore_unavailable=True, allow_no_indices=True,
                         expand_wildcards="open")
    found = list(got)
    if found:
        es.indices.put_settings(index=",".join(found),
                                settings=index_replica_settings(settings.index_replicas))
    shown = [name for name, body in got.items()  # by name or through an alias
             if searchable & {name, *body.get("aliases", {})}]
    if shown:
        es.indices.put_settings(index=",".join(shown), settings=refresh_settings(settings))
    return sorted(found)


def es_health(es: Elasticsearch) -> dict[str, Any]:
    """The cluster's status, node counts and unassigned shards."""
    body = es.cluster.health()
    keys = ("status", "number_of_nodes", "number_of_data_nodes", "active_shards",
            "unassigned_shards", "cluster_name")
    return {k: body.get(k) for k in keys}

"""Elasticsearch users and roles of the secure compose profile, created once by the superuser.

``newsflow setup --security-only`` is the only newsflow command that runs with the ``elastic``
credentials. It sets the password Kibana's built-in ``kibana_system`` user connects with, and
creates the roles below and the user ``newsflow`` that ``setup`` and ``worker`` run as.
Connectors never talk to Elasticsearch and get no Elasticsearch user at all.

``newsflow_writer`` may do what ``setup``, the indexer, the quote grouping, ``search`` and
``reindex`` do, and only on the two aliases (articles, quote groups), their versioned
indices and the story assignment's state::

    >>> from pipeline.core.settings import Settings
    >>> writer_role(Settings())["indices"][0]["names"]  # doctest: +NORMALIZE_WHITESPACE
    ['news-articles', 'news-articles-v*', 'news-quotes', 'news-quotes-v*',
     'news-articles-stories', 'news-articles-stories-v*']

``newsflow_dashboards`` lets ``setup`` import the Kibana saved objects (data view, saved search,
visualisations, dashboard) into the default space, and nothing else in Kibana.

``python -m pipeline.ops.security`` prints the role definitions (``deploy/security/roles.json``).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pipeline.core.errors import ConfigError, NewsflowError
from pipeline.core.settings import Settings
from pipeline.index.mapping import client

WRITER_USER = "newsflow"
WRITER_ROLE = "newsflow_writer"
DASHBOARDS_ROLE = "newsflow_dashboards"
KIBANA_SYSTEM_USER = "kibana_system"


def writer_role(settings: Settings) -> dict[str, Any]:
    alias, quotes = settings.index_alias, settings.quotes_index_alias
    return {
        "description": "newsflow setup, indexer and search: the index templates, the "
                       f"{alias} and {quotes} aliases and their versioned indices",
        "cluster": ["monitor", "manage_index_templates"],
        "indices": [{
            "names": [alias, f"{alias}-v*", quotes, f"{quotes}-v*",
                      settings.story_state_index,  # the story assignment's state
                      f"{settings.story_state_index}-v*"],
            "privileges": ["create_index", "manage", "write", "read", "view_index_metadata"],
            "allow_restricted_indices": False,
        }],
    }


def dashboards_role() -> dict[str, Any]:
    return {
        "description": "newsflow setup: import the newsflow Kibana saved objects",
        "applications": [{
            "application": "kibana-.kibana",
            # index-pattern, search, visualization, dashboard and map saved objects, default space
            "privileges": ["feature_indexPatterns.all", "feature_discover_v2.all",
                           "feature_visualize_v2.all", "feature_dashboard_v2.all",
                           "feature_maps_v2.all"],
            "resources": ["space:default"],
        }],
    }


def roles(settings: Settings) -> dict[str, dict[str, Any]]:
    return {WRITER_ROLE: writer_role(settings), DASHBOARDS_ROLE: dashboards_role()}


def setup_security(settings: Settings) -> str:
    """As the superuser: kibana_system's password, the newsflow roles and the newsflow user."""
    if not (settings.es_auth() and settings.kibana_system_password
            and settings.es_writer_password):
        raise ConfigError("set NEWSFLOW_ES_USERNAME and NEWSFLOW_ES_PASSWORD (the superuser), "
                          "NEWSFLOW_KIBANA_SYSTEM_PASSWORD and NEWSFLOW_ES_WRITER_PASSWORD "
                          "for --security-only")
    es = client(settings)
    try:
        health = es.options(ignore_status=408).cluster.health(wait_for_status="yellow",
                                                              timeout="120s")
        if health.get("timed_out"):
            raise NewsflowError(f"Elasticsearch is not ready: cluster status {health['status']}")
        es.security.change_password(username=KIBANA_SYSTEM_USER,
                                    password=settings.kibana_system_password)
        for name, body in roles(settings).items():
            es.security.put_role(name=name, **body)
        es.security.put_user(username=WRITER_USER, password=settings.es_writer_password,
                             roles=list(roles(settings)), full_name="newsflow setup and worker")
    finally:
        es.close()
    return (f"{KIBANA_SYSTEM_USER} password set; roles {', '.join(roles(settings))} and "
            f"user {WRITER_USER} created")


if __name__ == "__main__":
    sys.stdout.write(json.dumps(roles(Settings()), indent=2, sort_keys=True) + "\n")

"""Elasticsearch users and roles of the secure compose profile, created once by the superuser.

``newsflow setup --security-only`` is the only newsflow command that runs with the ``elastic``
credentials. It sets the password Kibana's built-in ``kibana_system`` user connects with, and
creates the roles below and two users: ``newsflow_setup`` (the one-shot ``setup``: roles
``newsflow_setup`` and ``newsflow_dashboards``) and ``newsflow_worker`` (the long-running
worker, ``search`` and ``status``: role ``newsflow_worker``). Connectors never talk to
Elasticsearch and get no Elasticsearch user at all.

Both index roles cover the same names, which follow ``NEWSFLOW_INDEX`` (and
``NEWSFLOW_QUOTES_INDEX``): the two aliases (articles, quote groups), the story assignment's
state alias, and the versioned indices behind each::

    >>> from pipeline.core.settings import Settings
    >>> index_names(Settings.from_env({"NEWSFLOW_INDEX": "t1-articles"}))
    ... # doctest: +NORMALIZE_WHITESPACE
    ['t1-articles', 't1-articles-v*', 't1-quotes', 't1-quotes-v*',
     't1-articles-stories', 't1-articles-stories-v*']

``newsflow_setup`` administers them (index templates, creating indices and aliases,
mappings, settings, deleting an old index after ``reindex``); ``newsflow_worker`` writes and
reads documents and refreshes, and may neither create nor delete an index, nor change a
setting, an alias or a template (Elasticsearch 9 still lets the ``index`` privilege add
mapping fields, deprecated; no document privilege lacks it)::

    >>> sorted(worker_role(Settings())["indices"][0]["privileges"])
    ['delete', 'index', 'maintenance', 'read', 'view_index_metadata']

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

SETUP_USER = SETUP_ROLE = "newsflow_setup"
WORKER_USER = WORKER_ROLE = "newsflow_worker"
DASHBOARDS_ROLE = "newsflow_dashboards"
KIBANA_SYSTEM_USER = "kibana_system"
# index privileges (Elasticsearch's names): setup administers, the worker writes documents
SETUP_INDEX_PRIVILEGES = ["create_index", "manage", "write", "read", "view_index_metadata"]
WORKER_INDEX_PRIVILEGES = [
    "index",                # index, create and update documents (bulk), external versions
    "delete",               # delete documents: quote groups merged away, story retention
    "read",                 # search, get, count, scroll: story and quote group lookups
    "view_index_metadata",  # the worker's checks: alias exists, its mapping
    "maintenance",          # refresh before a lookup of what was just written
]


def index_names(settings: Settings) -> list[str]:
    """Every index and alias name newsflow uses under the configured aliases."""
    alias, quotes, state = (settings.index_alias, settings.quotes_index_alias,
                            settings.story_state_index)
    return [alias, f"{alias}-v*", quotes, f"{quotes}-v*", state, f"{state}-v*"]


def _index_role(settings: Settings, description: str, cluster: list[str],
                privileges: list[str]) -> dict[str, Any]:
    return {
        "description": description,
        "cluster": cluster,
        "indices": [{"names": index_names(settings), "privileges": privileges,
                     "allow_restricted_indices": False}],
    }


def setup_role(settings: Settings) -> dict[str, Any]:
    """``newsflow setup`` and ``reindex``: templates, indices, aliases, mappings, replicas."""
    return _index_role(
        settings, "newsflow setup and reindex: the index templates, the "
        f"{settings.index_alias} and {settings.quotes_index_alias} aliases, the story state "
        "and their versioned indices", ["monitor", "manage_index_templates"],
        SETUP_INDEX_PRIVILEGES)


def worker_role(settings: Settings) -> dict[str, Any]:
    """The worker (and ``search``, ``status``): documents only, no index administration."""
    return _index_role(
        settings, "newsflow worker, search and status: write and read the documents of "
        f"the {settings.index_alias} and {settings.quotes_index_alias} aliases and the "
        "story state; no index creation or deletion, no setting, alias or template change",
        ["monitor"], WORKER_INDEX_PRIVILEGES)


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
    return {SETUP_ROLE: setup_role(settings), WORKER_ROLE: worker_role(settings),
            DASHBOARDS_ROLE: dashboards_role()}


def users() -> dict[str, tuple[list[str], str]]:
    """Each user ``setup_security`` creates: its roles and what it runs."""
    return {SETUP_USER: ([SETUP_ROLE, DASHBOARDS_ROLE], "newsflow setup"),
            WORKER_USER: ([WORKER_ROLE], "newsflow worker")}


def setup_security(settings: Settings) -> str:
    """As the superuser: kibana_system's password, the newsflow roles and users."""
    passwords = {SETUP_USER: settings.es_setup_password, WORKER_USER: settings.es_worker_password}
    if not (settings.es_auth() and settings.kibana_system_password and all(passwords.values())):
        raise ConfigError("set NEWSFLOW_ES_USERNAME and NEWSFLOW_ES_PASSWORD (the superuser), "
                          "NEWSFLOW_KIBANA_SYSTEM_PASSWORD, NEWSFLOW_ES_SETUP_PASSWORD and "
                          "NEWSFLOW_ES_WORKER_PASSWORD (or their *_FILE) for --security-only")
    if len(set(passwords.values())) < len(passwords):
        raise ConfigError("NEWSFLOW_ES_SETUP_PASSWORD and NEWSFLOW_ES_WORKER_PASSWORD are the "
                          "same: give each user its own password")
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
        for user, (user_roles, full_name) in users().items():
            es.security.put_user(username=user, password=passwords[user], roles=user_roles,
                                 full_name=full_name)
    finally:
        es.close()
    return (f"{KIBANA_SYSTEM_USER} password set; roles {', '.join(roles(settings))} and "
            f"users {', '.join(users())} created")


if __name__ == "__main__":
    sys.stdout.write(json.dumps(roles(Settings()), indent=2, sort_keys=True) + "\n")

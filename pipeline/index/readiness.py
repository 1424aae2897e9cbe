"""What the worker checks in Elasticsearch before it writes, so that it needs only a writer's
privileges: ``newsflow setup`` (the admin role) creates templates, indices and aliases; the
worker reads them and, when all are there, sends nothing that changes them.

    missing = index_missing(es, alias="news-articles", template="news-articles-template",
                            properties=mappings()["properties"])   # [] once set up
    ready_or_setup("articles index", missing, create=lambda: ensure_index(settings, es))

When something is missing the worker says to run ``newsflow setup`` and creates it itself
(a cluster without security, such as the local stack, lets it); a cluster that refuses it
(403: the worker's role has no such privilege) makes it a :class:`ConfigError` saying which
command fixes it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from elasticsearch import AuthorizationException, Elasticsearch

from pipeline.core.errors import ConfigError
from pipeline.core.settings import Settings
from pipeline.index.replicas import ensure_replicas

log = logging.getLogger("newsflow.index")
SETUP = "run `newsflow setup` (as the setup user) to create them"


def missing_fields(es: Elasticsearch, index: str, properties: Mapping[str, Any]) -> list[str]:
    """Top-level fields of ``properties`` that some index behind ``index`` does not map."""
    found = es.indices.get_mapping(index=index)
    missing: set[str] = set()
    for body in found.values():
        have = body.get("mappings", {}).get("properties", {})
        missing |= set(properties) - set(have)
    return sorted(missing)


def index_missing(es: Elasticsearch, *, alias: str, template: str | None,
                  properties: Mapping[str, Any]) -> list[str]:
    """What of an index that setup makes is not there (empty: all of it is)."""
    missing = []
    if template and not es.indices.exists_index_template(name=template):
        missing.append(f"index template {template}")
    if not es.indices.exists_alias(name=alias):
        missing.append(f"alias {alias}")
        return missing
    fields = missing_fields(es, alias, properties)
    if fields:
        missing.append(f"fields {', '.join(fields)} in the mapping of {alias}")
    return missing


def ready_or_setup(what: str, missing: list[str], *, create: Callable[[], object]) -> bool:
    """Nothing missing: True, nothing sent. Otherwise say so, then ``create`` (False); a
    refusal for lack of privileges becomes a :class:`ConfigError` naming ``newsflow setup``.

    >>> ready_or_setup("articles index", [], create=lambda: 1 / 0)
    True
    """
    if not missing:
        return True
    log.warning("%s is not set up (%s missing): %s; the worker creates them now",
                what, "; ".join(missing), SETUP)
    try:
        create()
    except AuthorizationException as exc:
        raise ConfigError(f"{what} is not set up ({'; '.join(missing)} missing) and the "
                          f"worker may not create it ({exc.message}): {SETUP}") from exc
    return False


def articles_ready(settings: Settings) -> bool:
    """The worker's check of the articles alias and its mapping (created if missing)."""
    from pipeline.index.mapping import client, ensure_index, mappings

    es = client(settings)
    try:
        missing = index_missing(es, alias=settings.index_alias, template=None,
                                properties=mappings()["properties"])

        def create() -> None:
            ensure_index(settings, es)
            ensure_replicas(settings, es)
        return ready_or_setup(f"the articles index {settings.index_alias}", missing,
                              create=create)
    finally:
        es.close()


def quotes_ready(settings: Settings) -> bool:
    """The worker's check of the quote groups' alias and its mapping (created if missing)."""
    from pipeline.index.mapping import client
    from pipeline.index.quotes_mapping import ensure_quotes_index, quotes_mappings

    es = client(settings)
    try:
        missing = index_missing(es, alias=settings.quotes_index_alias, template=None,
                                properties=quotes_mappings()["properties"])
        return ready_or_setup(f"the quote groups' index {settings.quotes_index_alias}",
                              missing, create=lambda: ensure_quotes_index(settings, es))
    finally:
        es.close()

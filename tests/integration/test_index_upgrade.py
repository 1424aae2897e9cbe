"""An index made by an earlier version takes this version's documents after setup."""

from __future__ import annotations

import copy

import pytest
from elasticsearch import BadRequestError

from pipeline.core.contracts import Attribution, EnrichedArticle, Source, Span
from pipeline.core.settings import Settings
from pipeline.index.mapping import (
    client,
    document,
    ensure_index,
    index_name,
    mappings,
    template_body,
)

pytestmark = pytest.mark.integration


def _article() -> EnrichedArticle:
    text = "Officials said the bridge would reopen."
    att = Attribution(kind="indirect", rule="speech_clause", stance="neutral",
                      source=Source(text="Officials", start=0, end=9, type="group"),
                      cue=Span(text="said", start=10, end=14),
                      content=Span(text=text[15:-1], start=15, end=len(text) - 1))
    return EnrichedArticle(id="u1", text=text, attributions=[att])


def test_setup_adds_the_fields_of_a_newer_version(isolated: Settings) -> None:
    es = client(isolated)
    old = copy.deepcopy(mappings())
    for name in ("rule", "stance"):  # an index made before attributions had these fields
        old["properties"]["attributions"]["properties"].pop(name)
    name = index_name(isolated, 1)
    settings = template_body(isolated, english=False)["template"]["settings"]
    es.indices.create(index=name, mappings=old, settings=settings,
                      aliases={isolated.index_alias: {"is_write_index": True}})
    try:
        with pytest.raises(BadRequestError, match="strict"):
            es.index(index=isolated.index_alias, id="u1", document=document(_article()))
        ensure_index(isolated, es)
        es.index(index=isolated.index_alias, id="u1", document=document(_article()),
                 refresh=True)
        assert es.count(index=isolated.index_alias)["count"] == 1
    finally:
        es.indices.delete(index=name)
        es.close()


def test_setup_sets_the_refresh_interval_on_the_searchable_indices_only(
        isolated: Settings) -> None:
    """An articles index made with another refresh interval takes the configured one; the
    story state index keeps Elasticsearch's own."""
    import dataclasses

    from pipeline.index.replicas import ensure_replicas

    es = client(isolated)
    name = index_name(isolated, 1)
    settings = {**template_body(isolated, english=False)["template"]["settings"],
                "refresh_interval": "1s"}
    es.indices.create(index=name, mappings=mappings(), settings=settings,
                      aliases={isolated.index_alias: {"is_write_index": True}})
    es.indices.create(index=isolated.story_state_index)
    try:
        updated = ensure_replicas(dataclasses.replace(isolated, refresh_interval=2.0), es)
        assert set(updated) == {name, isolated.story_state_index}

        def refresh(index: str) -> str | None:
            got = es.indices.get_settings(index=index, name="index.refresh_interval")
            body = got.get(index, {})  # an index without the setting is left out
            return body.get("settings", {}).get("index", {}).get("refresh_interval")

        assert refresh(name) == "2000ms"
        assert refresh(isolated.story_state_index) is None
    finally:
        es.indices.delete(index=f"{name},{isolated.story_state_index}")
        es.indices.delete_index_template(name=f"{isolated.story_state_index}-template")
        es.close()

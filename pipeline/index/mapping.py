"""The Elasticsearch index: template, versioned index behind an alias, documents.

``news-articles`` (alias) -> ``news-articles-v1`` (index). Text analysis uses
the ``english`` analyzer where the server has the analysis-common module (the
official images) and ``standard`` with English stop words where it has not
(the integ-test-zip of the local stack)::

    >>> analyzer_settings(has_analysis_common=False)["analyzer"]["nf_text"]["type"]
    'standard'
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.core.contracts import EnrichedArticle
from pipeline.core.errors import ConfigError
from pipeline.core.replication import index_replica_settings
from pipeline.core.settings import Settings
from pipeline.core.vocabulary import INDEX_FIELDS
from pipeline.index.replicas import refresh_settings

INDEX_VERSION = 1
# Lucene refuses a term over 32,766 bytes, and the whole document with it: longer values
# (a 40 KB URL) are stored, not indexed. 2,048 characters fit even at 4 bytes each.
IGNORE_ABOVE = 2048
KW = {"type": "keyword", "ignore_above": IGNORE_ABOVE}
INT = {"type": "integer"}
DATE = {"type": "date"}
SPAN = {"properties": {"text": {"type": "text", "analyzer": "nf_text"}, "start": INT, "end": INT}}
FLOAT = {"type": "float"}
GEO = {"type": "geo_point"}
PLACE = {"properties": {"geonames_id": {"type": "long"}, "name": KW, "kind": KW,
                        "country": KW, "lat": FLOAT, "lon": FLOAT}}


def analyzer_settings(*, has_analysis_common: bool) -> dict[str, Any]:
    if has_analysis_common:
        return {"analyzer": {"nf_text": {"type": "english"}}}
    return {"analyzer": {"nf_text": {"type": "standard", "stopwords": "_english_"}}}


def mappings() -> dict[str, Any]:
    text = {"type": "text", "analyzer": "nf_text"}
    return {
        "dynamic": "strict",
        "properties": {
            "schema_version": INT, "id": KW, "url": KW, "canonical_url": KW,
            "title": {**text, "fields": {"raw": {"type": "keyword", "ignore_above": 512}}},
            "text": text, "summary": text, "authors": KW, "published_at": DATE, "tags": KW,
            "version": INT, "language": KW, "language_confidence": {"type": "float"},
            "provenance": {"properties": {
                "connector": KW, "connector_version": INT, "source": KW, "publisher": KW,
                "feed_url": KW, "fetched_at": DATE, "http_status": INT,
                "etag": {"type": "keyword", "index": False},
                "last_modified": {"type": "keyword", "index": False}}},
            "entities": {"type": "nested", "properties": {
                "text": KW, "label": KW, "start": INT, "end": INT, "canonical": KW, "key": KW,
                "place": PLACE}},
            "entity_summary": {"type": "nested", "properties": {
                "canonical": KW, "label": KW, "key": KW, "mentions": INT, "first_offset": INT,
                "salience": {"type": "float"}, "outlet": {"type": "boolean"}}},
            "persons": KW, "organizations": KW, "outlets": KW, "places": KW, "groups": KW,
            "events": KW, "entity_keys": KW,
            "attributions": {"type": "nested", "properties": {
                "kind": KW,
                "source": {"properties": {"text": {**text, "fields": {"raw": KW}}, "start": INT,
                                          "end": INT, "canonical": KW, "type": KW,
                                          "anonymous": {"type": "boolean"},
                                          "anonymity_reason": text}},
                "cue": {"properties": {"text": KW, "start": INT, "end": INT}},
                "content": SPAN, "cited_via": KW, "rule": KW, "stance": KW}},
            "attributed_sources": KW, "attribution_kinds": KW,
            "enrichment_version": KW, "enriched_at": DATE, "indexed_at": DATE,
            "story": KW, "copy_of": KW, "similarity": {"type": "float"}, "wire": KW,
            # places: the main place with its point, every linked place's point and country
            "main_place": {"properties": {**PLACE["properties"], "location": GEO}},
            "place_locations": GEO, "countries": KW, "place_ids": {"type": "long"},
            "access": KW,
            "images": {"properties": {
                "url": {"type": "keyword", "ignore_above": 2048}, "caption": text,
                "credit": {"type": "keyword", "ignore_above": 512},
                "lead": {"type": "boolean"}}},
        },
    }


def index_name(settings: Settings, version: int = INDEX_VERSION) -> str:
    return f"{settings.index_alias}-v{version}"


def tls_options(settings: Settings) -> dict[str, Any]:
    """Client options for an https Elasticsearch: the CA to trust (``NEWSFLOW_ES_CA_CERTS``)."""
    return {"ca_certs": settings.es_ca_certs} if settings.es_ca_certs else {}


def client(settings: Settings) -> Elasticsearch:
    return Elasticsearch(settings.es_hosts, basic_auth=settings.es_auth(), request_timeout=30,
                         **tls_options(settings))


def has_analysis_common(es: Elasticsearch) -> bool:
    info = es.nodes.info(metric="plugins")
    for node in info["nodes"].values():
        if any(m.get("name") == "analysis-common" for m in node.get("modules", [])):
            return True
    return False


def template_body(settings: Settings, *, english: bool) -> dict[str, Any]:
    return {
        "index_patterns": [f"{settings.index_alias}-v*"],
        "priority": 200,
        "template": {
            "settings": {"number_of_shards": 1, **index_replica_settings(settings.index_replicas),
                         **refresh_settings(settings),
                         "analysis": analyzer_settings(has_analysis_common=english)},
            "mappings": mappings(),
        },
        "_meta": {"managed_by": "newsflow", "index_version": INDEX_VERSION},
    }


def ensure_index(settings: Settings, es: Elasticsearch | None = None,
                 *, version: int = INDEX_VERSION, repair: bool = False) -> str:
    """Install the template; create the versioned index and alias when missing (see
    :func:`claim_alias` for ``repair``)."""
    es = es or client(settings)
    english = has_analysis_common(es)
    es.indices.put_index_template(name=f"{settings.index_alias}-template",
                                  **template_body(settings, english=english))
    name = index_name(settings, version)
    claim_alias(es, settings.index_alias, name, repair=repair)
    if not es.indices.exists_alias(name=settings.index_alias):
        if not es.indices.exists(index=name):
            es.indices.create(index=name)
        es.indices.put_alias(index=name, name=settings.index_alias, is_write_index=True)
        return name
    _add_new_fields(settings, es)
    return name


def claim_alias(es: Elasticsearch, alias: str, name: str, *, repair: bool = False) -> None:
    """Refuse, clearly, a plain index that holds the alias's name.

    Every write goes through the alias with ``require_alias``, but a write without it (an
    older worker, a hand-made request) after the index behind the alias was deleted makes
    Elasticsearch auto-create a plain index of that name, and the alias can then never be
    put back (``invalid_alias_name_exception``). Raises :class:`ConfigError` saying so;
    with ``repair`` (``newsflow setup --repair``) the squatter's documents are copied into
    ``name`` (their external versions kept) and the squatter deleted, so the alias can be
    created again.
    """
    if es.indices.exists_alias(name=alias) or not es.indices.exists(index=alias):
        return
    count = es.count(index=alias)["count"]
    if not repair:
        raise ConfigError(
            f"{alias} is a plain index ({count:,} documents), not the alias newsflow writes "
            f"through: something wrote to it after the index behind the alias was deleted. "
            f"Run `newsflow setup --repair` to move its documents into {name} and make "
            f"{alias} an alias again (or delete it: DELETE /{alias}).")
    if not es.indices.exists(index=name):
        es.indices.create(index=name)
    from elasticsearch import helpers  # the local stack's Elasticsearch has no reindex module

    moves = ({"_op_type": "index", "_index": name, "_id": hit["_id"], "_source": hit["_source"],
              "version": hit.get("_version", 1), "version_type": "external"}
             for hit in helpers.scan(es, index=alias, version=True))
    helpers.bulk(es, moves, raise_on_error=False, refresh=True)  # 409: a newer one stays
    es.indices.delete(index=alias)


def _add_new_fields(settings: Settings, es: Elasticsearch) -> None:
    """Give the indices behind the alias the fields this version added (an upgrade must
    not turn every new document into a strict-mapping rejection). A changed field type
    cannot be applied in place: that needs ``newsflow reindex``."""
    from elasticsearch import BadRequestError

    try:
        es.indices.put_mapping(index=settings.index_alias, **mappings())
    except BadRequestError as exc:
        raise ConfigError(f"the index behind {settings.index_alias} has a mapping this "
                          f"version cannot extend ({exc.message}); run `newsflow reindex`"
                          ) from exc


def document(article: EnrichedArticle) -> dict[str, Any]:
    """The indexed document: the article plus flattened arrays for aggregations."""
    doc = article.model_dump(mode="json")
    doc["story"] = article.story or article.id  # an article no one grouped is its own story
    flat: dict[str, set[str]] = {v: set() for v in INDEX_FIELDS.values()}
    for ent in article.entity_summary:
        field = INDEX_FIELDS.get(ent.label)
        if field:
            flat[field].add(ent.canonical)
    for field, values in flat.items():
        doc[field] = sorted(values)
    doc["entity_keys"] = sorted({e.key for e in article.entity_summary})
    doc["attribution_kinds"] = sorted({a.kind for a in article.attributions})
    doc.update(place_fields(article))
    for att in doc["attributions"]:  # parts of split quotes are kept in Kafka, not indexed
        for key in ("content", "cue", "source"):
            if att.get(key):
                att[key].pop("spans", None)
    doc["indexed_at"] = datetime.now(UTC).isoformat()
    return doc


def place_fields(article: EnrichedArticle) -> dict[str, Any]:
    """The places' search fields: the main place's point, every linked place's point
    (the main place's included), their countries and GeoNames ids."""
    places = [e.place for e in article.entities if e.place and e.place.geonames_id]
    main = article.main_place
    if main and main.geonames_id:
        places.append(main)
    points = {(p.lat, p.lon) for p in places if p.lat is not None and p.lon is not None}
    out: dict[str, Any] = {
        "place_locations": [{"lat": lat, "lon": lon} for lat, lon in sorted(points)],
        "countries": sorted({p.country for p in places if p.country}),
        "place_ids": sorted({p.geonames_id for p in places if p.geonames_id})}
    if main is not None:
        out["main_place"] = {**main.model_dump(), **(
            {"location": {"lat": main.lat, "lon": main.lon}}
            if main.lat is not None and main.lon is not None else {})}
    return out


def current_version(settings: Settings, es: Elasticsearch) -> int:
    names = list(es.indices.get_alias(name=settings.index_alias))
    versions = [int(n.rsplit("-v", 1)[1]) for n in names if n.rsplit("-v", 1)[-1].isdigit()]
    if not versions:
        raise ConfigError(f"alias {settings.index_alias} points at no versioned index")
    return max(versions)


def reindex(settings: Settings, es: Elasticsearch | None = None, *, copy: bool = True
            ) -> tuple[str, str, int]:
    """Build ``<alias>-v(N+1)`` from the current template, copy the documents (client side:
    scan + bulk, so no reindex module is needed), then move the alias in one atomic call.

    Writes to the old index are blocked (``index.blocks.write``) from before the copy until
    the alias has moved, so none is lost: the indexer treats the block as transient and
    retries into the new index. The copy keeps each article's ``version`` as its external
    version. The block is lifted at the end, also when the copy fails.
    Returns (old index, new index, documents copied)."""
    from elasticsearch import helpers

    es = es or client(settings)
    old_version = current_version(settings, es)
    old, new = index_name(settings, old_version), index_name(settings, old_version + 1)
    ensure_index(settings, es, version=old_version)  # refresh the template
    if es.indices.exists(index=new):
        es.indices.delete(index=new)
    es.indices.create(index=new)
    copied = 0
    es.indices.add_block(index=old, block="write")  # waits for writes in flight
    try:
        if copy:
            es.indices.refresh(index=old)  # the scan sees every write made before the block
            actions = ({"_index": new, "_id": hit["_id"], "_source": hit["_source"],
                        "version": max(int(hit["_source"].get("version") or 1), 0),
                        "version_type": "external_gte"}
                       for hit in helpers.scan(es, index=old, size=500))
            copied, _ = helpers.bulk(es, actions, chunk_size=500)
            es.indices.refresh(index=new)
        es.indices.update_aliases(actions=[
            {"remove": {"index": old, "alias": settings.index_alias}},
            {"add": {"index": new, "alias": settings.index_alias, "is_write_index": True}}])
    finally:
        es.indices.put_settings(index=old, settings={"index.blocks.write": None})
    return old, new, copied

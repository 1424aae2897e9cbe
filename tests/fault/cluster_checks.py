"""What the cluster fault test checks after its faults, on the topics and indices the
pipeline wrote: every article searchable once, one story per article (replays included), a
copy in its original's story, each quote counted once, and each copy's quotes in the
groups of its original's quotes with the same words::

    check(settings, stream)   # raises AssertionError naming what is wrong

:func:`copies_apart` is the last one, on plain data: a copy's quote is compared with its
original's quotes, not the group count with the originals' (an original can have more
than one quote: its generated body can read as reported speech).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from elasticsearch import Elasticsearch
from kafka import KafkaConsumer

from pipeline.core.contracts import AssignedArticle, Quote
from pipeline.core.settings import Settings
from pipeline.group.text import words


def read_topic(settings: Settings, topic: str) -> list[bytes]:
    """Every message of ``topic``, from the start."""
    consumer = KafkaConsumer(topic, **settings.kafka_client_config(),
                             auto_offset_reset="earliest", consumer_timeout_ms=5000,
                             max_partition_fetch_bytes=32 * 1024 * 1024)
    try:
        return [m.value for m in consumer]
    finally:
        consumer.close()


def group_of_quotes(groups: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Quote id -> the id of the group holding it, from the groups' documents."""
    out: dict[str, str] = {}
    for doc in groups:
        state = doc.get("state") or {}
        for member in [*state.get("members", []), *state.get("tail", [])]:
            out[member["quote"]] = doc["group"]
    return out


def copies_apart(quotes: Iterable[Quote], groups: Iterable[Mapping[str, Any]],
                 copies: Mapping[str, str]) -> list[str]:
    """The quotes of copies (``copies``: copy id -> original id) that are not in the
    group of their original's quote with the same words, and the copies without a quote;
    empty when every copy's quote joined its original's.

    >>> from pipeline.core.contracts import QuoteArticle
    >>> def q(qid, art, text):
    ...     return Quote(id=qid, index=0, kind="direct", content=text,
    ...                  article=QuoteArticle(id=art))
    >>> def g(gid, *members):
    ...     return {"group": gid, "state": {"members": [{"quote": m} for m in members]}}
    >>> qs = [q("o1", "a", "“We are ready,”"), q("o2", "a", "talks"), q("c1", "b", "We are ready")]
    >>> copies_apart(qs, [g("o1", "o1", "c1"), g("o2", "o2")], {"b": "a"})
    []
    >>> copies_apart(qs, [g("o1", "o1"), g("o2", "o2"), g("c1", "c1")], {"b": "a"})
    ['copy b: quote c1 in group c1, its original a has it in o1']
    """
    by_article: dict[str, list[Quote]] = defaultdict(list)
    for quote in quotes:
        by_article[quote.article.id].append(quote)
    where = group_of_quotes(groups)
    out = []
    for copy, original in copies.items():
        if not by_article[copy]:
            out.append(f"copy {copy}: no quote")
        theirs = {tuple(words(q.content)): where.get(q.id) for q in by_article[original]}
        for quote in by_article[copy]:
            want, got = theirs.get(tuple(words(quote.content))), where.get(quote.id)
            if want is None or got != want:
                out.append(f"copy {copy}: quote {quote.id} in group {got}, its original "
                           f"{original} has it in {want}")
    return sorted(set(out))


def check(settings: Settings, stream: Any) -> dict[str, int]:
    """All the checks (see the module); a few counts for the report."""
    ids = {s.article.id for s in stream.sent}
    es = Elasticsearch(settings.es_hosts, request_timeout=30)
    try:
        es.indices.refresh(index=f"{settings.index_alias},{settings.quotes_index_alias}")
        assert es.count(index=settings.index_alias)["count"] == len(ids)
        docs = {h["_id"]: h["_source"] for h in es.search(
            index=settings.index_alias, query={"ids": {"values": sorted(ids)}}, size=len(ids),
            source_includes=["story", "copy_of"])["hits"]["hits"]}
        groups = [h["_source"] for h in es.search(
            index=settings.quotes_index_alias, size=10_000,
            source_includes=["group", "mentions", "state.members.quote", "state.tail.quote"]
        )["hits"]["hits"]]
    finally:
        es.close()
    assert set(docs) == ids
    # one story per article, in every assignment made (replays included)
    stories: dict[str, set[str]] = defaultdict(set)
    for value in read_topic(settings, settings.assigned_topic):
        assigned = AssignedArticle.from_bytes(value)
        stories[assigned.id].add(assigned.story)
    assert set(stories) == ids
    assert {k: v for k, v in stories.items() if len(v) != 1} == {}
    copies = {s.article.id: s.copy_of for s in stream.sent if s.copy_of}
    assert copies
    assert [c for c, o in copies.items() if docs[c]["story"] != docs[o]["story"]] == []
    # each quote once in the quote groups, each copy's quotes in its original's groups
    quotes = {q.id: q for q in map(Quote.model_validate_json,
                                   read_topic(settings, settings.quotes_topic))}
    assert quotes, "no quote was extracted: the group stage was not exercised"
    assert sum(g["mentions"] for g in groups) == len(quotes)
    assert set(group_of_quotes(groups)) == set(quotes)
    apart = copies_apart(quotes.values(), groups, copies)
    assert apart == [], f"{len(apart)} of {len(copies)} copies' quotes apart: {apart[:10]}"
    assert read_topic(settings, settings.dead_letter_topic) == []
    return {"quotes": len(quotes), "quote_groups": len(groups),
            "originals": len(ids) - len(copies)}

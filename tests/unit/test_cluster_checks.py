"""The cluster fault test's quote check, against the cluster test's own stream run offline
through the agents' code (spaCy enrichment, copies derived from their originals, quote
records, quote groups): every copy's quote joins its original's group, while the group
count is not the originals' count (a generated body can read as reported speech, so an
original can have two quotes)."""

from __future__ import annotations

import random

from pipeline.core.contracts import AssignedArticle, Quote
from pipeline.core.settings import Settings
from pipeline.enrich.article import Enricher
from pipeline.enrich.reuse import ReusingEnricher
from pipeline.group.quotes import QuoteGroups
from pipeline.group.records import quotes_of
from tests.fault.cluster_checks import copies_apart
from tests.fault.cluster_kit import Sent, Stream


def _stream(n: int) -> list[Sent]:
    stream = Stream(Settings())
    rng = random.Random(19)  # the stream's own seed
    for i in range(n):
        article, copy_of = stream.article(i, rng)
        stream.sent.append(Sent(article, 0.0, copy_of))
    return stream.sent


def _grouped(sent: list[Sent]) -> tuple[list[Quote], list[dict[str, object]]]:
    enricher = ReusingEnricher(Enricher())
    items = [AssignedArticle(article=s.article, story=s.copy_of or s.article.id,
                             copy_of=s.copy_of) for s in sent]
    quotes = [q for art in enricher.enrich(items) for q in quotes_of(art)]  # type: ignore[arg-type]
    groups = QuoteGroups()
    for quote in quotes:
        groups.add(quote)
    assert enricher.derived == sum(1 for s in sent if s.copy_of)  # no copy went to spaCy
    return quotes, [g.to_doc() for g in groups.store.groups()]


def test_every_copy_quote_joins_its_original_though_groups_outnumber_originals() -> None:
    sent = _stream(40)
    quotes, groups = _grouped(sent)
    copies = {s.article.id: s.copy_of or "" for s in sent if s.copy_of}
    originals = [s.article.id for s in sent if not s.copy_of]
    assert copies_apart(quotes, groups, copies) == []
    per_article = {a: sum(1 for q in quotes if q.article.id == a) for a in originals}
    assert min(per_article.values()) >= 1
    assert max(per_article.values()) >= 2  # a body sentence read as reported speech
    assert len(groups) == sum(per_article.values()) > len(originals)  # the old check's error


def test_a_copy_quote_in_a_group_of_its_own_is_reported() -> None:
    sent = _stream(8)
    quotes, groups = _grouped(sent)
    copy, original = next((s.article.id, s.copy_of or "") for s in sent if s.copy_of)
    moved = next(q for q in quotes if q.article.id == copy)
    apart: list[dict[str, object]] = [
        {"group": g["group"], "state": {"members": [
            m for m in g["state"]["members"] if m["quote"] != moved.id]}}  # type: ignore[index]
        for g in groups]
    apart.append({"group": moved.id, "state": {"members": [{"quote": moved.id}]}})
    assert copies_apart(quotes, groups, {copy: original}) == []
    [found] = copies_apart(quotes, apart, {copy: original})
    assert found.startswith(f"copy {copy}: quote {moved.id} in group {moved.id}, "
                            f"its original {original} has it in ")

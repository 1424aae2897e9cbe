"""What one article may cost a stage and what its output may weigh: text budgets for a
spaCy batch (:func:`by_chars`) and an enriched message cut to the bounds of
:class:`~pipeline.core.settings.Settings` (:func:`bounded`).

    >>> SAFE_PAYLOAD < MAX_MESSAGE_BYTES - HEADROOM
    True
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from faust.types import EventT
from prometheus_client import Counter

from pipeline.core.contracts import AssignedArticle, EnrichedArticle, RawArticle
from pipeline.core.errors import EnrichmentError
from pipeline.core.settings import MAX_MESSAGE_BYTES, Settings
from pipeline.stream.failures import TooLarge

HEADROOM = 64 * 1024  # record overhead, key and metadata beside a message's value
SAFE_PAYLOAD = (MAX_MESSAGE_BYTES - HEADROOM) * 3 // 4  # base64 of it still fits a message
CUT = Counter("newsflow_cut_total", "Articles whose enrichment output was cut to the bounds",
              ["what"])

Incoming = RawArticle | AssignedArticle  # what the enrich agent reads (a raw article with
# its story assignment; both have ``id`` and ``text``)


class Enriches(Protocol):
    """An enricher of batches: ``pipeline.enrich.article.Enricher``, or
    ``pipeline.enrich.reuse.ReusingEnricher``, which derives copies from their original."""

    def enrich(self, items: Sequence[Any]) -> list[EnrichedArticle | EnrichmentError]: ...


def by_chars(items: Sequence[tuple[EventT, Incoming]], budget: int
             ) -> Iterator[list[tuple[EventT, Incoming]]]:
    """Consecutive groups of at most ``budget`` characters of text (one article at least)."""
    group: list[tuple[EventT, Incoming]] = []
    size = 0
    for item in items:
        n = len(item[1].text)
        if group and size + n > budget:
            yield group
            group, size = [], 0
        group.append(item)
        size += n
    if group:
        yield group


def bounded(article: EnrichedArticle, settings: Settings) -> tuple[bytes, list[str]]:
    """The enriched message within the bounds, and what was cut to get there.

    Entities and attributions are capped; a message still over ``max_output_bytes`` loses
    entity mentions from the end (the summary keeps their counts) until it fits. Raises
    :class:`TooLarge` when even that is not enough.
    """
    cut: list[str] = []
    limit = min(settings.max_output_bytes, MAX_MESSAGE_BYTES - HEADROOM)
    update: dict[str, Any] = {}
    for name, cap in (("entities", settings.max_entities),
                      ("entity_summary", settings.max_entities),
                      ("attributions", settings.max_attributions)):
        items = getattr(article, name)
        if len(items) > cap:
            update[name] = items[:cap]
            cut.append(f"{name} {len(items)} -> {cap} (cap)")
    if update:
        article = article.model_copy(update=update)
    data = article.to_bytes()
    if len(data) > limit and article.entities:
        before = len(article.entities)
        keep = before
        while len(data) > limit and keep:
            keep //= 2
            data = article.model_copy(update={"entities": article.entities[:keep]}).to_bytes()
        cut.append(f"entities {before} -> {keep} (message over {limit:,} bytes)")
    if len(data) > limit:
        raise TooLarge(f"article {article.id}: enriched message is {len(data):,} bytes, over "
                       f"NEWSFLOW_MAX_OUTPUT_BYTES ({limit:,}) without entity mentions")
    return data, cut

"""Quote records: one :class:`~pipeline.core.contracts.Quote` per attribution of an article.

    >>> from pipeline.core.contracts import Attribution, EnrichedArticle, Source, Span
    >>> text = "Talks began. “We are ready,” Putin said. Nothing else."
    >>> att = Attribution(kind="direct", source=Source(text="Putin", start=29, end=34,
    ...                   canonical="Vladimir Putin", type="person"),
    ...                   cue=Span(text="said", start=35, end=39),
    ...                   content=Span(text="“We are ready,”", start=13, end=28))
    >>> [q] = quotes_of(EnrichedArticle(id="a1", text=text, attributions=[att]))
    >>> q.index, q.content, q.speaker.canonical, q.sentence
    (0, '“We are ready,”', 'Vladimir Putin', '“We are ready,” Putin said.')
"""

from __future__ import annotations

import re

from pipeline.core.contracts import (
    Attribution,
    EnrichedArticle,
    Quote,
    QuoteArticle,
    QuoteSpeaker,
    Span,
    quote_id,
)
from pipeline.group.text import words

SENTENCE_END = re.compile(r"[.!?][”\"’')\]]*\s+|\n\s*\n")
MAX_SENTENCE = 1000


def content_text(article: EnrichedArticle, content: Span) -> str:
    """The reported words; the parts of a split quote joined by " … " (the words between
    them are the attribution, not the quote)."""
    if not content.spans:
        return content.text
    parts = [article.text[s:e].strip() for s, e in content.spans]
    return " … ".join(p for p in parts if p) or content.text


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence(s) of ``text`` that hold ``text[start:end]`` (at most 1,000 chars)."""
    begin = 0
    for m in SENTENCE_END.finditer(text, 0, max(start, 0)):
        begin = m.end()
    stop = len(text)
    after = SENTENCE_END.search(text, max(end - 1, begin))
    if after:
        stop = after.start() + len(after.group().rstrip())
    sentence = text[begin:stop].strip()
    return sentence if len(sentence) <= MAX_SENTENCE else text[start:end][:MAX_SENTENCE]


def _key(article: EnrichedArticle, canonical: str | None) -> str | None:
    if not canonical:
        return None
    for ent in article.entity_summary:
        if ent.canonical == canonical:
            return ent.key
    return None


def quote_of(article: EnrichedArticle, index: int, att: Attribution, occurrence: int = 0
             ) -> Quote:
    """The record of ``article.attributions[index]`` (``occurrence``: how many earlier
    attributions of the article credit the same words to the same speaker)."""
    prov = article.provenance
    src = att.source
    content = content_text(article, att.content)
    speaker = QuoteSpeaker()
    if src is not None:
        speaker = QuoteSpeaker(text=src.text, canonical=src.canonical,
                               key=_key(article, src.canonical), type=src.type,
                               anonymous=src.anonymous)
    return Quote(
        id=quote_id(article.id, *_identity(content, att), occurrence), index=index,
        article=QuoteArticle(id=article.id, url=article.url, title=article.title,
                             publisher=(prov.publisher or prov.source) if prov else None,
                             published_at=article.published_at, language=article.language),
        speaker=speaker, cue=att.cue.text if att.cue else None, kind=att.kind,
        content=content, cited_via=list(att.cited_via),
        sentence=sentence_around(article.text, att.content.start, att.content.end),
        enrichment_version=article.enrichment_version)


def _identity(content: str, att: Attribution) -> tuple[str, str | None]:
    """What a quote's id is made of besides its article: its words, its speaker."""
    src = att.source
    return " ".join(words(content)), (src.canonical or src.text) if src else None


def quotes_of(article: EnrichedArticle) -> list[Quote]:
    """One Quote per attribution, in the article's order (``index`` = position). The ids
    follow the words and speakers, not the positions: a corrected version of the article
    gives its unchanged quotes the same ids and its changed words new ones.

    >>> from pipeline.core.contracts import Attribution, EnrichedArticle, Span
    >>> def version(*said):
    ...     text = " ".join(said)
    ...     atts = [Attribution(kind="direct", source=None, cue=None, content=Span(
    ...                         text=s, start=text.index(s),
    ...                         end=text.index(s) + len(s))) for s in said]
    ...     return [q.id for q in quotes_of(EnrichedArticle(id="a1", text=text,
    ...                                                      attributions=atts))]
    >>> v1, v2 = version("“We are ready.”", "“Talks start.”"), version("“Talks start.”",
    ...     "“We are ready.”", "“We are not ready.”")
    >>> v2[:2] == v1[::-1], v2[2] in v1
    (True, False)
    """
    seen: dict[tuple[str, str | None], int] = {}
    out = []
    for i, att in enumerate(article.attributions):
        key = _identity(content_text(article, att.content), att)
        out.append(quote_of(article, i, att, seen.get(key, 0)))
        seen[key] = seen.get(key, 0) + 1
    return out

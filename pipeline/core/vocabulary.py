"""Vocabularies more than one stage uses, each defined once.

Entity labels: one row per label says where its names are indexed (the facet field),
the prefix of its entity keys, and what kind of source an attribution to it is::

    >>> ENTITY_CATEGORIES["FAC"]
    EntityCategory(field='places', key='facility', source_type='organization')
    >>> INDEX_FIELDS["PERSON"], KEY_PREFIXES["OUTLET"], SOURCE_TYPES["NORP"]
    ('persons', 'outlet', 'group')

Quote marks: the pairs a quotation can open and close with, and the characters that
open or close one::

    >>> QUOTE_PAIRS["«"], "„" in QUOTE_OPEN, "”" in QUOTE_CLOSE
    ('»', True, True)
"""

from __future__ import annotations

from typing import Literal, NamedTuple

SourceType = Literal["person", "organization", "outlet", "document", "group", "unnamed"]


class EntityCategory(NamedTuple):
    field: str | None  # the index field its canonical names are aggregated in (facets)
    key: str  # the prefix of its entity keys ("person:vladimir putin")
    source_type: SourceType  # what a source with this label is


ENTITY_CATEGORIES: dict[str, EntityCategory] = {
    "PERSON": EntityCategory("persons", "person", "person"),
    "ORG": EntityCategory("organizations", "org", "organization"),
    "OUTLET": EntityCategory("outlets", "outlet", "outlet"),
    "GPE": EntityCategory("places", "place", "organization"),  # "Russia said ..."
    "LOC": EntityCategory("places", "place", "organization"),
    "FAC": EntityCategory("places", "facility", "organization"),  # "the White House said"
    "NORP": EntityCategory("groups", "group", "group"),
    "EVENT": EntityCategory("events", "event", "organization"),
}
INDEX_FIELDS = {label: c.field for label, c in ENTITY_CATEGORIES.items() if c.field}
KEY_PREFIXES = {label: c.key for label, c in ENTITY_CATEGORIES.items()}
SOURCE_TYPES = {label: c.source_type for label, c in ENTITY_CATEGORIES.items()}

# Double quotation marks: straight, curly, guillemets, low-9 („…“) and single guillemets.
QUOTE_PAIRS = {"“": "”", "«": "»", "„": "“", "‹": "›", '"': '"'}
# Single curly quotes open and close quotations too (not paired: they double as apostrophes).
SINGLE_QUOTES = ("‘", "’")
QUOTE_OPEN = "".join(QUOTE_PAIRS) + SINGLE_QUOTES[0]
QUOTE_CLOSE = "".join(dict.fromkeys(QUOTE_PAIRS.values())) + SINGLE_QUOTES[1] + "‹"

"""Named entities, canonicalised inside one article.

spaCy finds the mentions; this module joins the short forms to the full name
("Mr Assad", "Assad’s", "President Putin" -> "Bashar al-Assad", "Vladimir Putin"),
recognises news outlets ("Al-Watan newspaper", "citing Vendamasti") and
institutions named by a nationality ("the Syrian presidency"), and gives each
canonical entity a stable cross-article key::

    >>> entity_key("Bashar al-Assad", "PERSON")
    'person:bashar al-assad'
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

from spacy.tokens import Doc, Span

from pipeline.core.vocabulary import KEY_PREFIXES

KEEP_LABELS = {"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC", "EVENT", "PRODUCT", "WORK_OF_ART",
               "LAW"}
TITLES = {
    "mr", "mrs", "ms", "miss", "dr", "prof", "sir", "dame", "lord", "lady", "president",
    "prime", "minister", "pm", "chancellor", "king", "queen", "prince", "princess", "pope",
    "sen", "senator", "rep", "representative", "gov", "governor", "gen", "general", "col",
    "colonel", "capt", "captain", "judge", "justice", "mayor", "secretary", "ambassador",
    "chairman", "chairwoman", "ceo", "leader", "sheikh", "rev", "father", "vice", "deputy",
    "foreign", "defense", "defence", "state", "supreme", "former", "the", "late",
}
OUTLET_NOUNS = {"newspaper", "daily", "agency", "broadcaster", "tv", "television", "radio",
                "channel", "magazine", "weekly", "outlet", "website", "tabloid", "network",
                "wire", "paper", "gazette", "journal", "times", "post", "tribune"}
KNOWN_OUTLETS = {
    "reuters", "associated press", "ap", "afp", "agence france-presse", "bbc", "cnn", "fox news",
    "al jazeera", "tass", "ria novosti", "interfax", "xinhua", "sana", "bloomberg", "politico",
    "the new york times", "new york times", "the washington post", "washington post",
    "the guardian", "the wall street journal", "wall street journal", "nbc", "abc", "cbs",
    "npr", "msnbc", "the times", "financial times", "the economist", "axios", "breitbart",
    "the hill", "usa today", "dpa", "efe", "ansa", "kyodo", "yonhap", "anadolu", "irna",
}
INSTITUTION_NOUNS = {"presidency", "government", "ministry", "foreign ministry", "army",
                     "military", "parliament", "police", "embassy", "cabinet", "navy",
                     "defense ministry", "defence ministry", "interior ministry", "senate",
                     "administration", "authorities", "judiciary", "central bank", "prosecutor"}
POSSESSIVE = re.compile(r"(?:['’]s|['’])$")


def normalize_name(text: str) -> str:
    """Strip titles, possessives and a leading article; fold whitespace."""
    text = unicodedata.normalize("NFC", text).strip()
    text = POSSESSIVE.sub("", text).strip()
    words = text.split()
    while len(words) > 1 and words[0].lower().rstrip(".") in TITLES:
        words = words[1:]
    return " ".join(words).strip(" ,.;:\"“”'")


def entity_key(canonical: str, label: str) -> str:
    kind = KEY_PREFIXES.get(label, label.lower())
    return f"{kind}:{canonical.lower()}"


@dataclass
class Mention:
    text: str
    label: str
    start: int
    end: int
    canonical: str = ""


@dataclass
class EntityIndex:
    """The article's mentions and their canonical names."""

    mentions: list[Mention] = field(default_factory=list)

    def at(self, start: int, end: int) -> list[Mention]:
        return [m for m in self.mentions if m.start < end and m.end > start]


def _is_outlet(span: Span, doc: Doc, publishers: set[str]) -> bool:
    name = normalize_name(span.text).lower()
    if name in KNOWN_OUTLETS or name in publishers:
        return True
    if span.root.dep_ == "poss" or (span.end < len(doc) and doc[span.end].tag_ == "POS"):
        return False  # "Syria’s Al-Watan newspaper": Syria owns the outlet
    nxt = doc[span.end].lower_ if span.end < len(doc) else ""
    if nxt in OUTLET_NOUNS:
        return True
    prev = [t.lower_ for t in doc[max(0, span.start - 4):span.start]]
    if "citing" in prev and span.label_ not in {"PERSON", "NORP"}:
        return True
    if span.root.head.lower_ in {"newspaper", "daily", "agency"}:
        return True
    return bool(prev and prev[-1] in {"newspaper", "daily", "outlet", "broadcaster"})


def _institutions(doc: Doc) -> list[Mention]:
    """'the Syrian presidency' -> ORG 'Syrian presidency' (NORP + institution noun)."""
    found = []
    for ent in doc.ents:
        if ent.label_ not in {"NORP", "GPE"} or ent.end >= len(doc):
            continue
        for width in (2, 1):
            tail = doc[ent.end:ent.end + width]
            if tail.text.lower() in INSTITUTION_NOUNS:
                found.append(Mention(f"{ent.text} {tail.text}", "ORG", ent.start_char,
                                     tail.end_char))
                break
    return found


def _surname_keys(name: str) -> set[str]:
    words = [w for w in re.split(r"[\s]+", name) if w]
    keys = set()
    if words:
        last = words[-1]
        keys.add(last.lower())
        if "-" in last:  # al-Assad -> Assad
            keys.add(last.split("-")[-1].lower())
    return keys


def canonicalise(doc: Doc, *, publishers: set[str] | None = None) -> EntityIndex:
    """Find the entity mentions of ``doc`` and resolve each to a canonical name."""
    pubs = {p.lower() for p in (publishers or set())}
    index = EntityIndex()
    institution = _institutions(doc)
    taken = [(m.start, m.end) for m in institution]
    for ent in doc.ents:
        if ent.label_ not in KEEP_LABELS:
            continue
        if any(s < ent.end_char and e > ent.start_char for s, e in taken):
            continue
        label = ent.label_
        outlet_able = label in {"ORG", "GPE", "LOC", "PERSON", "FAC", "WORK_OF_ART"}
        if outlet_able and _is_outlet(ent, doc, pubs):
            label = "OUTLET"
        text = ent.text
        start = ent.start_char
        if text.lower().startswith("the "):
            text, start = text[4:], start + 4
        index.mentions.append(Mention(text, label, start, start + len(text)))
    index.mentions.extend(institution)
    index.mentions.sort(key=lambda m: m.start)
    _resolve(index)
    return index


def _resolve(index: EntityIndex) -> None:
    # Outlet status and labels are decided per name: one outlet mention makes them all outlets.
    by_name: dict[str, set[str]] = defaultdict(set)
    for m in index.mentions:
        by_name[normalize_name(m.text).lower()].add(m.label)
    persons = sorted({normalize_name(m.text) for m in index.mentions if m.label == "PERSON"},
                     key=lambda n: -len(n.split()))
    full_by_surname: dict[str, str] = {}
    for name in persons:
        if len(name.split()) >= 2:
            for key in _surname_keys(name):
                full_by_surname.setdefault(key, name)
    for m in index.mentions:
        name = normalize_name(m.text)
        labels = by_name[name.lower()]
        if "OUTLET" in labels:
            m.label = "OUTLET"
        if m.label == "PERSON" or (len(name.split()) == 1 and name.lower() in full_by_surname):
            full = full_by_surname.get(name.split()[-1].lower()) if name else None
            if full and m.label in {"PERSON", "ORG", "NORP"}:
                m.label = "PERSON"
                name = full
        m.canonical = name or m.text

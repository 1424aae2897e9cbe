"""Places of an article linked to the gazetteer (:mod:`pipeline.enrich.gazetteer`).

Every ``GPE``/``LOC`` entity gets a ``place`` (linked, or unlinked: kind ``other``, null
id), a ``NORP`` entity one when it is a country's demonym ("Syrian" -> Syria). A name
with several entries ("Paris", "Georgia", "Washington") is decided by the article:

* the **dateline** ("PARIS, Texas (AP) —", "DAMASCUS —"): its country and US state;
* a **qualifier** right after the name ("Paris, Texas", "Tripoli, Lebanon");
* the **countries named** in the article (names with one meaning, and demonyms);
* the **population prior** (log10 of the population; a national capital +1, a country
  +0.5, an alternate name -1.5).

The article's ``main_place`` is its dateline's place, else its most-mentioned linked
place::

    >>> d = dateline("PARIS, Texas (AP) — The mayor said ...")
    >>> d.name, d.qualifier
    ('Paris', 'Texas')
    >>> link("Paris", Context(dateline_country="US", dateline_state="TX")).country
    'US'
    >>> link("Paris", Context()).country
    'FR'
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from pipeline.core.contracts import Entity, Place
from pipeline.enrich.gazetteer import Candidate, Gazetteer, gazetteer, name_key

PLACE_LABELS = {"GPE", "LOC"}
DATELINE = re.compile(
    r"^\s*(?P<name>[A-Z][A-Z'.\- ]{1,40}?[A-Z.])"  # PARIS / SAN FRANCISCO / ST. LOUIS
    r"(?:,\s*(?P<qualifier>[A-Z][\w.'\- ]{1,30}?))?"  # , Texas / , Syria / , Tex.
    r"(?:,\s*[A-Z][a-z]{2,8}\.?\s+\d{1,2})?"  # , March 3
    r"\s*(?:\([^)]{1,40}\))?\s*(?:—|–|--|-)\s")  # (Reuters) —
QUALIFIER = re.compile(r"^,\s*([A-Z][\w.'\-]*(?:\s[A-Z][\w.'\-]*){0,2})")


@dataclass(frozen=True)
class Dateline:
    name: str
    qualifier: str | None


@dataclass
class Context:
    """What the article says about where it is: its dateline's country and US state, and
    the countries (ISO codes) and US states it names."""

    dateline_country: str | None = None
    dateline_state: str | None = None
    countries: Counter[str] = field(default_factory=Counter)
    states: set[str] = field(default_factory=set)


def dateline(text: str) -> Dateline | None:
    """The dateline opening ``text``, if any: an upper-case place, then an optional
    qualifier and agency, then a dash."""
    m = DATELINE.match(text[:160])
    if not m:
        return None
    name = " ".join(w.capitalize() if not w.endswith(".") else w.title()
                    for w in m.group("name").split())
    return Dateline(name, (m.group("qualifier") or "").strip() or None)


def _qualifier(name: str | None, g: Gazetteer, of: str | None = None) -> Candidate | None:
    """The country or US state a qualifier names ("Texas", "Tex.", "Syria"): of several
    ("Georgia"), the one holding a place named ``of`` ("TBILISI, Georgia")."""
    if not name:
        return None
    found = [c for c in g.candidates(name) if c.kind in ("country", "admin")]
    if not found and name_key(name) in g.qualifiers:
        found = [g.qualifiers[name_key(name)]]
    if of and len(found) > 1:
        holding = [q for q in found if _within(g.candidates(of), q)]
        found = holding or found
    return found[0] if found else None


def _within(found: list[Candidate], q: Candidate) -> list[Candidate]:
    return [c for c in found if c.country == q.country and c is not q
            and (q.kind == "country" or c.admin1 == q.admin1)]


def score(c: Candidate, ctx: Context, g: Gazetteer) -> float:
    """How likely ``c`` is meant, in this article."""
    s = math.log10(c.population + 10)
    if c.kind == "country":
        s += 0.5
    elif c.kind == "city" and c.country and g.countries.get(c.country) and \
            g.capital_of(c.country) == c.geonames_id:
        s += 1.0
    if not c.primary:
        s -= 1.5
    if ctx.dateline_country and c.country == ctx.dateline_country:
        s += 3.0
        if ctx.dateline_state and c.admin1 == ctx.dateline_state:
            s += 2.0
    if c.kind != "country" and c.country and ctx.countries.get(c.country):
        s += 2.5
    if c.admin1 and c.admin1 in ctx.states and c.kind == "city":
        s += 3.0
    return s


def link(name: str, ctx: Context, *, qualifier: str | None = None,
         g: Gazetteer | None = None) -> Place | None:
    """The place ``name`` means in ``ctx``: the best candidate, or None if the gazetteer
    has none. A qualifier keeps only the candidates in its country or US state."""
    g = g or gazetteer()
    found = g.candidates(name)
    q = _qualifier(qualifier, g, of=name)
    if q is not None:
        found = _within(found, q) or found
    if not found:
        return None
    return max(found, key=lambda c: score(c, ctx, g)).place()


def _context(text: str, entities: list[Entity], g: Gazetteer
             ) -> tuple[Context, Dateline | None]:
    ctx = Context()
    line = dateline(text)
    if line:
        q = _qualifier(line.qualifier, g, of=line.name)
        place = link(line.name, Context(), qualifier=line.qualifier, g=g) if q else None
        if place is None:
            place = link(line.name, Context(), g=g)
        ctx.dateline_country = (q.country if q else None) or (place.country if place else None)
        ctx.dateline_state = q.admin1 if q and q.kind == "admin" else None
    for e in entities:
        if e.label == "NORP":
            d = _nation(e.canonical, g)
            if d and d.country:
                ctx.countries[d.country] += 1
            continue
        if e.label not in PLACE_LABELS:
            continue
        sure = _unambiguous(g.candidates(e.canonical))
        if sure and sure.kind == "country":
            ctx.countries[sure.country or ""] += 1
        elif sure and sure.kind == "admin" and sure.admin1:
            ctx.states.add(sure.admin1)
            ctx.countries["US"] += 1
    return ctx, line


def _unambiguous(found: list[Candidate]) -> Candidate | None:
    """The country or US state a name surely means: its only meaning of that kind, ten
    times as populous as any other ("Lebanon", not Lebanon, Tennessee; not "Georgia")."""
    top = [c for c in found if c.kind in ("country", "admin")]
    if len(top) != 1:
        return None
    rest = [c.population for c in found if c is not top[0]]
    return top[0] if all(top[0].population > 10 * p for p in rest) else None


def link_entities(text: str, entities: list[Entity], *, g: Gazetteer | None = None
                  ) -> tuple[list[Entity], Place | None]:
    """The entities with their places, and the article's main place."""
    g = g or gazetteer()
    ctx, line = _context(text, entities, g)
    decided: dict[tuple[str, str], Place | None] = {}
    out = []
    for e in entities:
        key = (e.label, e.canonical)
        if key not in decided:
            decided[key] = _place_of(e, text, ctx, g)
        out.append(e.model_copy(update={"place": decided[key]}) if decided[key] else e)
    return out, _main_place(out, line, ctx, g)


def _nation(name: str, g: Gazetteer) -> Candidate | None:
    """The country a NORP mention names: a demonym ("Syrians"), or the country's own name
    tagged as a nationality ("Niger")."""
    found = [c for c in g.candidates(name) if c.kind == "country"]
    return g.demonym(name) or (found[0] if found else None)


def _place_of(e: Entity, text: str, ctx: Context, g: Gazetteer) -> Place | None:
    if e.label == "NORP":
        d = _nation(e.canonical, g)
        return d.place() if d else None
    if e.label not in PLACE_LABELS:
        return None
    after = QUALIFIER.match(text[e.end:e.end + 40])
    place = link(e.canonical, ctx, qualifier=after.group(1) if after else None, g=g)
    return place or Place(name=e.canonical)


def _main_place(entities: list[Entity], line: Dateline | None, ctx: Context,
                g: Gazetteer) -> Place | None:
    if line:
        place = link(line.name, ctx, qualifier=line.qualifier, g=g)
        if place and place.geonames_id is not None:
            return place
    counts: Counter[int] = Counter()
    first: dict[int, tuple[int, Place]] = {}
    for e in entities:
        if e.label in PLACE_LABELS and e.place and e.place.geonames_id is not None:
            counts[e.place.geonames_id] += 1
            first.setdefault(e.place.geonames_id, (e.start, e.place))
    if not counts:
        return None
    best = max(counts, key=lambda gid: (counts[gid], -first[gid][0]))
    return first[best][1]

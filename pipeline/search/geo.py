"""Where-filters of ``newsflow search``: ``--country SY`` (any linked place of the article
in that country) and ``--near PLACE --km N`` (any linked place, the main place included,
within N km of a gazetteer place or of ``lat,lon``)::

    >>> near_point("33.5,36.3")
    (33.5, 36.3)
    >>> near_point("Damascus")
    (33.5102, 36.29128)
    >>> place_filters(country="sy", near=(33.5, 36.3), km=100)[0]
    {'term': {'countries': 'SY'}}
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.core.errors import ConfigError

LAT_LON = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$")


def near_point(place: str) -> tuple[float, float]:
    """``lat,lon`` or a place name the gazetteer knows (its most likely meaning)."""
    m = LAT_LON.match(place)
    if m:
        lat, lon = float(m.group(1)), float(m.group(2))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ConfigError(f"--near {place!r}: latitude or longitude out of range")
        return lat, lon
    from pipeline.enrich.places import Context, link

    found = link(place, Context())
    if found is None or found.lat is None or found.lon is None:
        raise ConfigError(f"--near {place!r}: no such place in the gazetteer; give a city, "
                          "country or US state name, or lat,lon")
    return found.lat, found.lon


def place_filters(*, country: str | None = None, near: tuple[float, float] | None = None,
                  km: float = 50.0) -> list[dict[str, Any]]:
    """Elasticsearch filters for a country (ISO 3166-1 alpha-2) and a circle."""
    out: list[dict[str, Any]] = []
    if country:
        out.append({"term": {"countries": country.upper()}})
    if near is not None:
        out.append({"geo_distance": {"distance": f"{km}km", "place_locations": {
            "lat": near[0], "lon": near[1]}}})
    return out

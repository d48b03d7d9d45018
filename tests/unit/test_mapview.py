"""The world map's projection and colour bins, its page model (from a fake web context),
and the documented fresh= parameter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.web.app import create_app
from services.web.mapview import HEIGHT, WIDTH, bin_of, map_page, project
from services.web.openapi import build_openapi
from shared.contract.methodology import Methodology
from shared.domain import readmodel
from shared.domain.records import IndexMeta
from shared.platform.settings import Settings
from shared.queries.errors import BadQuery
from shared.queries.params import Point
from tests.support.fakes import FakeRankingView


def test_the_projection_is_equirectangular_over_the_shown_latitudes() -> None:
    assert project(85.0, -180.0) == (0.0, 0.0)
    assert project(-60.0, 180.0) == (WIDTH, HEIGHT)
    x, y = project(0.0, 0.0)
    assert x == WIDTH / 2 and y == round(85 * WIDTH / 360, 2)


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), (0.0, 0), (19.99, 0), (20.0, 1), (59.9, 2), (80.0, 4), (100.0, 4),
])
def test_scores_fall_in_five_twenty_point_bins(value: float | None, expected: int | None) -> None:
    assert bin_of(value) == expected


def test_openapi_documents_fresh_and_the_freshness_fields(methodology: Methodology) -> None:
    spec = build_openapi(methodology)
    params = {q["name"]: q for q in spec["paths"]["/api/v1/rankings"]["get"]["parameters"]}
    assert params["fresh"]["schema"] == {"type": "boolean"}
    row = spec["components"]["schemas"]["RankingRow"]["properties"]
    assert {"last_data_at", "stale", "lat", "lon"} <= set(row)


# ------------------------------------------------------------------ the page model


class FakeWebContext(FakeRankingView):
    """The web context's read side, from memory; no since= or as_of= given."""

    def since(self) -> Point:
        return Point("time", 0, "today")

    def moment(self, name: str) -> Point | None:
        return None


def _card(city_id: str, score: float | None, lat: float | None, lon: float | None,
          talent: float | None) -> dict[str, Any]:
    doc = readmodel.card(city_id, {"name": city_id.title(), "region": "Asia", "lat": lat,
                                   "lon": lon}, score, 1.0, None,
                         {"talent": talent, "research": 50.0}, None, False)
    return doc


@pytest.fixture
def site(methodology: Methodology) -> Iterator[FakeWebContext]:
    """The web app in a request context, its context a fake with three ranked cities; one
    card was stored before cards carried coordinates (its profile has them)."""
    app = create_app(Settings.from_env(redis_url="redis://127.0.0.1:9/0"))
    fake = FakeWebContext(methodology, cards=[
        _card("north", 85.0, 60.0, 10.0, 10.0), _card("old", 45.0, None, None, 95.0),
        _card("nowhere", 20.0, None, None, None)],
        results={"old": {"profile": {"lat": 0.0, "lon": 0.0}}, "nowhere": {"profile": {}}},
        meta=IndexMeta("2025-07-01", 3, methodology.version, None))
    app.extensions["aicity"] = fake
    with app.test_request_context():
        yield fake


def test_the_map_places_and_colours_a_marker_per_ranked_city(site: FakeWebContext) -> None:
    page = map_page(None)
    assert page["colour"] == "overall" and page["names"]["overall"] == "Overall score"
    by_id = {m["city_id"]: m for m in page["markers"]}
    assert list(by_id) == ["north", "old", "nowhere"]
    assert (by_id["north"]["x"], by_id["north"]["y"]) == project(60.0, 10.0)
    assert (by_id["north"]["value"], by_id["north"]["bin"]) == (85.0, 4)
    assert (by_id["old"]["lat"], by_id["old"]["lon"]) == (0.0, 0.0)  # from its profile
    assert (by_id["old"]["x"], by_id["old"]["y"]) == project(0.0, 0.0)
    assert by_id["nowhere"]["x"] is None and page["placed"] == 2
    assert [(b["lo"], b["hi"]) for b in page["legend"]] == [(0, 20), (20, 40), (40, 60),
                                                            (60, 80), (80, 100)]
    assert page["projection"] == {"north": 85.0, "scale": WIDTH / 360, "width": WIDTH,
                                  "height": HEIGHT, "bins": 5}


def test_a_pillar_colours_the_markers_by_its_score(site: FakeWebContext) -> None:
    page = map_page("talent")
    values = {m["city_id"]: (m["value"], m["bin"]) for m in page["markers"]}
    assert values == {"north": (10.0, 0), "old": (95.0, 4), "nowhere": (None, None)}
    assert page["doc"]["sort"] == "overall"  # the ranking's order, only the colour changes


def test_an_unknown_colour_is_a_bad_query_naming_colour(site: FakeWebContext) -> None:
    with pytest.raises(BadQuery) as caught:
        map_page("purple")
    assert caught.value.parameter == "colour"

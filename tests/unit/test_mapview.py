"""The world map's projection and colour bins, and the documented fresh= parameter."""

from __future__ import annotations

import pytest

from services.web.mapview import HEIGHT, WIDTH, bin_of, project
from services.web.openapi import build_openapi
from shared.methodology import Methodology


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

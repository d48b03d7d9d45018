"""Freshness through the real pipeline: cards carry last_data_at and stale; ?fresh=true filters."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Pipeline
from tests.integration.test_pipeline import full_city, ranking
from tests.support.events import event
from tests.support.procs import wait_for

pytestmark = pytest.mark.integration


def _items(p: Pipeline, query: str = "") -> dict[str, dict[str, Any]]:
    return {i["city_id"]: i for i in p.web.get(f"/api/v1/rankings{query}").get_json()["items"]}


def test_a_tick_makes_old_data_stale_and_fresh_true_leaves_it_out(pipeline: Pipeline) -> None:
    p = pipeline
    assert p.ingest.post("/v1/events", json=full_city("kappa") + full_city("lambda", 0.7),
                         headers=p.auth()).status_code == 202
    p.stack.wait_idle(30)
    items = _items(p)
    # full_city's newest records are dated 2025-05-01; the index date is 2025-06-30.
    assert {c: (i["last_data_at"], i["stale"]) for c, i in items.items()} == {
        c: ("2025-05-01T00:00:00+00:00", False) for c in ("kappa", "lambda")}
    assert set(_items(p, "?fresh=true")) == {"kappa", "lambda"}
    doc = p.web.get("/api/v1/cities/kappa").get_json()
    assert doc["last_data_at"] == "2025-05-01T00:00:00+00:00" and doc["stale"] is False

    # A year and a day later nothing new arrived: both are stale, by the index date alone.
    tick = event("index.ticked", None, {"date": "2026-05-02"}, at="2026-05-02T00:00:00Z")
    assert p.ingest.post("/v1/events", json=tick, headers=p.auth()).status_code == 202
    wait_for(lambda: ranking(p)["as_of"] == "2026-05-02", 10)
    wait_for(lambda: all(i["stale"] for i in _items(p).values()), 30)
    assert _items(p, "?fresh=true") == {} and _items(p, "?fresh=false").keys() == items.keys()
    assert p.web.get("/api/v1/cities/kappa").get_json()["stale"] is True

    # One new observation makes lambda fresh again.
    new = event("indicator.observed", "lambda", {"indicator": "infra.broadband_mbps",
                                                  "value": 200}, at="2026-04-30T00:00:00Z")
    assert p.ingest.post("/v1/events", json=new, headers=p.auth()).status_code == 202
    wait_for(lambda: set(_items(p, "?fresh=1")) == {"lambda"}, 30)
    assert _items(p)["lambda"]["last_data_at"] == "2026-04-30T00:00:00+00:00"


@pytest.mark.parametrize("value", ["maybe", "yes", "2", "TRUEE"])
def test_a_bad_fresh_value_is_a_400_naming_it(pipeline: Pipeline, value: str) -> None:
    resp = pipeline.web.get(f"/api/v1/rankings?fresh={value}")
    assert resp.status_code == 400 and resp.get_json()["error"].startswith("fresh:")
    assert pipeline.web.get(f"/api/v1/rankings.csv?fresh={value}").status_code == 400

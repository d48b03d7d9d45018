"""A city named like a spreadsheet formula comes out of every CSV download neutralised."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from shared.contract.methodology import load_methodology
from tests.integration.conftest import Pipeline
from tests.support.events import city, event, indicator
from tests.support.procs import wait_for

pytestmark = pytest.mark.integration
M = load_methodology()
FORMULA = '=HYPERLINK("http://x")'
REGION = "@SUM(1+1)"


def formula_city(city_id: str) -> list[dict[str, Any]]:
    """Events that rank a city whose name and region a spreadsheet would evaluate."""
    events = [city(city_id, name=FORMULA, region=REGION)]
    for code in M.observed_indicator_codes():
        ind = M.indicator(code)
        events.append(indicator(city_id, code, ind.lo + (ind.hi - ind.lo) * 0.5))
    for k in range(6):
        events.append(event("project.upserted", city_id, {
            "project_id": f"{city_id}-p{k}", "name": f"-Project {k}", "organization": "+Org",
            "sector": M.projects.sectors[k], "owner": ("public", "private")[k % 2],
            "stage": ("deployed", "scaled")[k % 2], "started_at": "2024-09-01",
            "deployed_at": "2025-02-01"}))
    return events


def rows(text: str) -> list[dict[str, str]]:
    """Parse a CSV download."""
    return list(csv.DictReader(io.StringIO(text)))


def test_formula_city_name_is_neutralised_in_every_csv(pipeline: Pipeline) -> None:
    p = pipeline
    resp = p.ingest.post("/v1/events", json=formula_city("formulaville"), headers=p.auth())
    assert resp.status_code == 202, resp.get_json()
    wait_for(lambda: p.web.get("/api/v1/rankings").get_json()["items"], 20, what="ranked")
    item = p.web.get("/api/v1/rankings").get_json()["items"][0]
    assert item["name"] == FORMULA  # the JSON API carries the name as sent

    ranking = p.web.get("/api/v1/rankings.csv")
    assert ranking.status_code == 200 and ranking.mimetype == "text/csv"
    (row,) = rows(ranking.get_data(as_text=True))
    assert row["name"] == "'" + FORMULA and row["region"] == "'" + REGION
    assert float(row["score"]) == item["score"]  # numbers stay numbers, at full precision
    assert float(row["coverage"]) == item["coverage"]

    detail = p.web.get("/api/v1/cities/formulaville").get_json()
    city_csv = p.web.get("/cities/formulaville.csv")
    assert city_csv.status_code == 200 and city_csv.mimetype == "text/csv"
    lines = rows(city_csv.get_data(as_text=True))
    overall = next(r for r in lines if r["level"] == "overall")
    assert overall["name"] == "'" + FORMULA
    assert float(overall["score"]) == detail["score"] and int(overall["rank"]) == 1
    # no cell of either download starts with a formula trigger
    for text in (ranking.get_data(as_text=True), city_csv.get_data(as_text=True)):
        for cells in csv.reader(io.StringIO(text)):
            for cell in cells:
                assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
                if cell.startswith("-"):
                    float(cell)  # only a negative number may start with a minus

"""The pure parts of the page models (services/web/pages.py): compare ids, sort order,
since links, the methodology page and a city's CSV, from plain data (no Redis)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest

from services.web.app import create_app
from services.web.pages import (
    CITY_CSV_HEADER,
    CITY_SINCE,
    city_csv,
    methodology_page,
    parse_compare,
    pillar_list,
    since_links,
    sort_key,
)
from shared.contract.methodology import load_methodology
from shared.platform.settings import Settings

M = load_methodology()


@pytest.fixture
def request_context() -> Iterator[None]:
    """The web app's request context (its routes, its methodology; no Redis)."""
    app = create_app(Settings.from_env(redis_url="redis://127.0.0.1:9/0"))
    with app.test_request_context():
        yield


@pytest.mark.parametrize(("values", "ids"), [
    ([], []), (["a,b"], ["a", "b"]), (["a", "b", "a"], ["a", "b"]),
    ([" a , ,b,", "c,a"], ["a", "b", "c"]), ([""], []),
])
def test_compare_reads_distinct_ids_from_commas_and_repeats(values: list[str],
                                                            ids: list[str]) -> None:
    assert parse_compare(values) == ids


def test_sorting_puts_higher_scores_first_ties_by_id_and_unscored_last() -> None:
    items = [{"city_id": "b", "score": 50.0, "pillars": {"talent": 10.0}},
             {"city_id": "a", "score": 50.0, "pillars": {"talent": None}},
             {"city_id": "c", "score": None, "pillars": {"talent": 90.0}},
             {"city_id": "d", "score": 70.0, "pillars": {}}]
    assert [i["city_id"] for i in sorted(items, key=sort_key("overall"))] == ["d", "a", "b", "c"]
    assert [i["city_id"] for i in sorted(items, key=sort_key("talent"))] == ["c", "b", "a", "d"]


def test_pillars_are_listed_in_the_methodologys_order_with_their_index() -> None:
    listed = pillar_list(M)
    assert [p["code"] for p in listed] == [p.code for p in M.pillars]
    assert [p["index"] for p in listed] == list(range(len(M.pillars)))
    assert {p["code"]: p["weight"] for p in listed} == {p.code: p.weight for p in M.pillars}


def test_since_links_keep_the_other_parameters_and_mark_the_current_one(
        request_context: None) -> None:
    links = since_links("views.city", {"since": "7d", "as_of": "12", "q": ""}, CITY_SINCE,
                        city_id="seoul")
    assert [(link["value"], link["current"]) for link in links] == [
        ("", False), ("7d", True), ("30d", False)]
    assert links[0]["href"] == "/cities/seoul?as_of=12"  # today: no since=, empty q= dropped
    assert links[2]["href"] == "/cities/seoul?as_of=12&since=30d"


def test_the_methodology_page_gives_each_indicator_its_share_of_its_pillar(
        request_context: None) -> None:
    page = methodology_page()
    assert page["m"] is not None and page["weight_total"] == pytest.approx(1.0)
    for pillar in page["pillars"]:
        assert pillar["indicators"], pillar["code"]
        assert sum(i["share"] for i in pillar["indicators"]) == pytest.approx(1.0), pillar["code"]


def test_a_city_csv_has_the_overall_pillar_and_indicator_rows_at_full_precision() -> None:
    code = M.observed_indicator_codes()[0]
    doc = {"name": "=HYPERLINK(1)", "score": 71.23456789012345, "rank": 3, "coverage": 0.875,
           "pillars": {M.pillars[0].code: {"score": 80.5, "rank": 2, "coverage": 1.0}},
           "indicators": {code: {"name": "GPUs", "pillar": M.pillars[0].code, "unit": "PF",
                                 "raw": 12.5, "normalised": 33.3, "observed_at": "2025-06-01",
                                 "event_id": "e-1"},
                          "retired.code": {"raw": 1.0, "normalised": None}}}
    rows = list(csv.reader(io.StringIO(city_csv(doc, M.pillars))))
    assert float(rows[1][6]) == doc["score"]  # full precision
    assert rows[0] == CITY_CSV_HEADER
    assert rows[1] == ["overall", "", "'=HYPERLINK(1)", "", "score 0-100", "",
                       repr(doc["score"]), "3", "0.875", "", ""]  # a formula is neutralised
    assert [r[0] for r in rows[2:]] == ["pillar"] * len(M.pillars) + ["indicator"] * 2
    assert rows[2][1:8] == [M.pillars[0].code, M.pillars[0].name, M.pillars[0].code,
                            "score 0-100", "", "80.5", "2"]
    assert rows[3][6:9] == ["", "", ""]  # a pillar the city has no score in
    assert rows[-2][1:] == [code, "GPUs", M.pillars[0].code, "PF", "12.5", "33.3", "", "",
                            "2025-06-01", "e-1"]
    assert rows[-1][1:3] == ["retired.code", "retired.code"]  # no name: its code

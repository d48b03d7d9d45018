"""What it takes (issue 21): levers checked against hand-computed cases, and every lever
checked by scoring the state it describes with score_city (the dry run's function)."""

from __future__ import annotations

import math
from datetime import date

import pytest

from shared.contract.events import Event, EventCodec
from shared.contract.methodology import Methodology, parse_methodology
from shared.domain.index import IndexSnapshot
from shared.domain.scoring.aggregate import score_city
from shared.domain.scoring.gap import _double, _ordinal, first_passing, what_it_takes
from shared.domain.scoring.ranking import rank_results
from shared.domain.state import CityState, build_states
from shared.queries.errors import BadQuery, NotFound
from shared.queries.gap import gap_answer, pick_target
from tests.unit.conftest import EventBuilder

DAY = date(2025, 6, 30)


def _indicator(code: str, pillar: str, lo: float, hi: float, direction: str = "higher",
               transform: str = "none") -> str:
    return f"""
[[indicators]]
code = "{code}"
pillar = "{pillar}"
direction = "{direction}"
transform = "{transform}"
lo = {lo}
hi = {hi}
plausible_min = 0
plausible_max = 100000
weight = 0.25
"""


def small_methodology(aggregation: str) -> Methodology:
    """Two pillars of equal weight, four indicators of equal weight each."""
    text = f"""
version = "t"
title = "test"
coverage_threshold = 0.65
aggregation = "{aggregation}"
base_date = "2025-06-30"
speed_window_days = 365
[[pillars]]
code = "a"
weight = 0.5
[[pillars]]
code = "b"
weight = 0.5
[projects]
sectors = ["health"]
owners = ["public", "private", "partnership"]
stages = ["deployed", "scaled", "retired"]
deployed_stages = ["deployed", "scaled"]
""" + "".join([
        _indicator("a.log", "a", 0, 999, transform="log"),  # log10(v + 1) / 3
        _indicator("a.lower", "a", 10, 110, direction="lower"),  # (110 - v) / 100
        _indicator("a.lin", "a", 0, 100),
        _indicator("a.clamped", "a", 0, 10),
        *(_indicator(f"b.{n}", "b", 0, 100) for n in range(4))])
    return parse_methodology(text)


VALUES = {"a.log": 9.0,  # log10(10) = 1 of 3: 33.33
          "a.lower": 60.0,  # 50
          "a.lin": 50.0,  # 50
          "a.clamped": 10.0,  # at its goalpost: 100, nothing left to gain
          **{f"b.{n}": 50.0 for n in range(4)}}  # pillar b: 50


def city_state(m: Methodology, values: dict[str, float], city: str = "testville") -> CityState:
    build = EventBuilder(EventCodec(m))
    events = [build.city(city)] + [build.observed(c, v, city_id=city) for c, v in values.items()]
    return build.state(events, city)


def by_code(doc: dict) -> dict[str, dict]:
    return {lever["indicator"]: lever for lever in doc["levers"] if lever["kind"] == "indicator"}


def check_exact(state: CityState, methodology: Methodology, lever: dict, target: float) -> None:
    """The lever's value passes the target under score_city; the double before it does not."""
    def score(value: float) -> float:
        trial = CityState.from_dict(state.to_dict())
        trial.indicators = {**trial.indicators, lever["indicator"]: {
            **trial.indicators[lever["indicator"]], "value": value}}
        result = score_city(trial, methodology, DAY)
        assert result.score is not None
        return result.score
    required = lever["required"]
    assert score(required) > target
    back = _double(_ordinal(required) + (-1 if lever["change"] > 0 else 1))
    assert score(back) <= target
    most = lever["current"] + 0.99 * lever["change"]
    if most != required:  # a change of a few ulps has no double at 99% of it
        assert score(most) <= target


def test_doubles_map_to_ordered_integers() -> None:
    for x in (-5.0, -1e-300, 0.0, 1e-300, 3.5, 1e300):
        assert _double(_ordinal(x)) == x
        assert _double(_ordinal(x) + 1) > x
    assert first_passing(lambda v: v, 0.0, 10.0, 2.5) == math.nextafter(2.5, math.inf)


def test_arithmetic_levers_by_hand() -> None:
    """Pillar a = (33.33 + 50 + 50 + 100) / 4 = 58.33, b = 50, score 54.17; to pass 60 pillar
    a needs 70, so one indicator needs 46.67 more normalised points."""
    m = small_methodology("arithmetic")
    state = city_state(m, VALUES)
    doc = what_it_takes(state, m, DAY, 60.0)
    assert doc is not None
    assert doc["score"] == pytest.approx((700 / 12 + 50) / 2)
    assert doc["points_needed"] == pytest.approx(60 - (700 / 12 + 50) / 2)
    levers = by_code(doc)
    # linear: 50 -> 96.67
    assert levers["a.lin"]["required"] == pytest.approx(50 + 140 / 3, abs=1e-9)
    assert levers["b.0"]["required"] == pytest.approx(50 + 140 / 3, abs=1e-9)
    # log: normalised 33.33 -> 80, log10(v + 1) = 2.4
    assert levers["a.log"]["required"] == pytest.approx(10 ** 2.4 - 1, rel=1e-12)
    assert levers["a.log"]["change_pct"] == pytest.approx((10 ** 2.4 - 10) / 9 * 100)
    # lower is better: normalised 50 -> 96.67 means 110 - v = 96.67
    assert levers["a.lower"]["required"] == pytest.approx(10 + 10 / 3, abs=1e-9)
    assert levers["a.lower"]["change"] < 0
    # clamped at its goalpost already: cannot help
    assert levers["a.clamped"]["sufficient"] is False
    assert levers["a.clamped"]["best_points"] == 0
    for code in ("a.lin", "a.log", "a.lower", "b.0"):
        assert levers[code]["sufficient"] is True
        check_exact(state, m, levers[code], 60.0)
    assert doc["pillars"]["a"]["required"] == pytest.approx(70.0, abs=1e-9)
    assert doc["pillars"]["b"]["required"] == pytest.approx(50 + 35 / 3, abs=1e-9)
    # sufficient first, by relative change: a.lower (60 -> 13.33, -78%) before a.lin (+93%)
    order = [lever.get("indicator") for lever in doc["levers"]]
    assert order[:2] == ["a.lower", "a.lin"] and order[-1] == "a.clamped"


def test_geometric_levers_by_hand() -> None:
    """sqrt(a * b) > 60 needs a > 72 (b = 50): a sum of normalised values above 288, 54.67
    more than now; a linear indicator at 50 cannot (it stops at 100), the log one can."""
    m = small_methodology("geometric")
    state = city_state(m, VALUES)
    doc = what_it_takes(state, m, DAY, 60.0)
    assert doc is not None
    assert doc["score"] == pytest.approx(math.sqrt(700 / 12 * 50))
    levers = by_code(doc)
    lin = levers["a.lin"]
    assert lin["sufficient"] is False and lin["required"] == 100.0
    assert lin["best_points"] == pytest.approx(math.sqrt((850 / 12) * 50) - doc["score"])
    assert levers["a.log"]["required"] == pytest.approx(10 ** 2.64 - 1, rel=1e-12)
    check_exact(state, m, levers["a.log"], 60.0)
    assert levers["a.lower"]["sufficient"] is False  # 50 -> 104.67 would be needed
    assert doc["pillars"]["a"]["required"] == pytest.approx(72.0, abs=1e-9)


def test_clamped_to_a_goalpost_reports_the_most_it_can_add() -> None:
    m = small_methodology("arithmetic")
    state = city_state(m, VALUES)
    doc = what_it_takes(state, m, DAY, 99.0)  # out of reach of any one indicator
    assert doc is not None
    assert not any(lever["sufficient"] for lever in doc["levers"])
    lin = by_code(doc)["a.lin"]
    assert lin["required"] == 100.0  # the goalpost, inside the plausible range
    assert lin["best_points"] == pytest.approx(50 / 4 / 2)
    assert doc["pillars"]["a"]["sufficient"] is False


def test_ties_need_strictly_more() -> None:
    """Equal scores share a rank: passing a tied city needs the smallest step above it."""
    m = small_methodology("arithmetic")
    state = city_state(m, VALUES)
    score = score_city(state, m, DAY).score
    assert score is not None
    doc = what_it_takes(state, m, DAY, score)
    assert doc is not None and doc["points_needed"] == 0
    lin = by_code(doc)["a.lin"]
    assert lin["sufficient"] and 0 < lin["change"] < 1e-9
    check_exact(state, m, lin, score)
    ahead = what_it_takes(state, m, DAY, score - 1)
    assert ahead is not None and ahead["levers"] == [] and ahead["points_needed"] == -1


ROWS = [{"city_id": "a", "score": 90.0, "rank": 1}, {"city_id": "b", "score": 80.0, "rank": 2},
        {"city_id": "c", "score": 80.0, "rank": 2}, {"city_id": "d", "score": 70.0, "rank": 4}]


def test_target_defaults_to_the_city_ranked_above() -> None:
    assert pick_target(ROWS, "d", None, None)["city_id"] == "c"
    assert pick_target(ROWS, "c", None, None)["city_id"] == "a"  # b is tied, not above
    assert pick_target(ROWS, "a", None, None)["city_id"] == "b"  # the first: the second
    assert pick_target(ROWS, "d", "a", None)["city_id"] == "a"
    assert pick_target(ROWS, "d", None, 3)["city_id"] == "c"


@pytest.mark.parametrize(("to", "rank", "field", "error"), [
    ("d", None, "to", BadQuery), ("zz", None, "to", NotFound), (None, 9, "rank", BadQuery),
    (None, 4, "rank", BadQuery), ("a", 1, "rank", BadQuery)])
def test_bad_targets_name_the_parameter(to, rank, field, error) -> None:
    with pytest.raises(error) as caught:
        pick_target(ROWS, "d", to, rank)
    assert caught.value.parameter == field


def _reference(reference_events: list[Event]) -> dict[str, CityState]:
    states, _, _ = build_states(reference_events)
    return states


def _apply_projects(state: CityState, lever: dict, count: int) -> CityState:
    trial = CityState.from_dict(state.to_dict())
    projects = dict(trial.projects)
    for n in range(count):
        projects[f"gap-{n}"] = {"at": "2025-06-01T00:00:00+00:00", "event_id": f"gap-{n}",
                                "removed": False, "name": "n", "organization": "o",
                                "deployed_at": None, **lever["project"]}
    trial.projects = projects
    return trial


@pytest.mark.parametrize("aggregation", ["arithmetic", "geometric"])
@pytest.mark.parametrize(("city", "to"), [("seoul", "singapore"), ("beijing", "seoul"),
                                          ("bengaluru", None), ("tokyo", "dubai")])
def test_every_lever_is_exact_on_the_reference_data(
        reference_events: list[Event], reference_snapshot: IndexSnapshot, methodology: Methodology,
        aggregation: str, city: str, to: str | None) -> None:
    """Each sufficient lever, applied alone, passes the target under score_city; 99% of it
    (one project fewer) does not; an insufficient one never passes."""
    m = methodology.with_aggregation(aggregation)
    states = _reference(reference_events)
    results = {c: score_city(s, m, DAY) for c, s in states.items()}
    rows = [{"city_id": i.city_id, "score": i.score, "rank": i.rank}
            for i in rank_results(results.values())]
    doc = gap_answer(rows, city, states[city], m, DAY, 1, to=to)
    assert doc is not None and doc["points_needed"] > 0
    target = doc["target"]["score"]
    kinds = {lever["kind"] for lever in doc["levers"]}
    assert kinds == {"indicator", "projects"}
    for lever in doc["levers"]:
        if lever["kind"] == "indicator":
            if lever["sufficient"]:
                check_exact(states[city], m, lever, target)
            continue
        after = score_city(_apply_projects(states[city], lever, lever["count"]), m, DAY).score
        assert after is not None
        assert (after > target) is lever["sufficient"]
        if lever["sufficient"]:
            assert after == lever["score_after"]
            fewer = score_city(_apply_projects(states[city], lever, lever["count"] - 1), m, DAY)
            assert fewer.score is not None and fewer.score <= target


def test_quoted_numbers_still_close_the_gap() -> None:
    """A requirement is rounded in the good direction, so the number said is enough."""
    from shared.queries.gap_text import ordinal, quote
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]
    assert quote(7209.2, up=True) == "7,210"
    assert quote(28.71, up=False) == "28.7"
    assert quote(28.79, up=False) == "28.7"
    assert quote(2.6801, up=True) == "2.69"
    assert quote(63.9, up=True) == "63.9"  # exact at the precision: unchanged


def test_the_headline_offers_levers_only_when_one_suffices() -> None:
    from shared.queries.gap_text import headline
    doc = {"name": "A", "target": {"name": "B", "rank": 1}, "ahead": False,
           "points_needed": 30.0, "levers": [{"sufficient": False}]}
    assert headline(doc) == "A is 30.00 points behind B (1st)."
    doc["levers"] = [{"sufficient": True}]
    assert headline(doc).endswith("Any one of these alone would close it:")

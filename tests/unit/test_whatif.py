"""What-if weights: parsing, renormalising and re-ranking against hand-computed cases."""

from __future__ import annotations

import math

import pytest

from shared.scoring.whatif import (
    WeightsError,
    WhatIf,
    parse_aggregation,
    parse_weights,
    whatif_rank,
    whatif_score,
)

CODES = ("infrastructure", "research", "talent", "adoption", "governance")


def test_weights_are_renormalised_and_unnamed_pillars_weigh_nothing() -> None:
    w = parse_weights("infrastructure:20,research:15,talent:15,adoption:35,governance:15", CODES)
    assert w == pytest.approx({"infrastructure": 0.2, "research": 0.15, "talent": 0.15,
                               "adoption": 0.35, "governance": 0.15})
    w = parse_weights("research:1, talent:3", CODES)
    assert w == {"infrastructure": 0.0, "research": 0.25, "talent": 0.75, "adoption": 0.0,
                 "governance": 0.0}


@pytest.mark.parametrize("raw", ["cooking:10", "research:-1", "research:x", "research",
                                 "research:0,talent:0", "", "research:nan", "research:inf",
                                 "research:1,research:2"])
def test_bad_weights_are_refused_naming_the_parameter(raw: str) -> None:
    with pytest.raises(WeightsError, match=r"^weights: "):
        parse_weights(raw, CODES)


def test_bad_aggregation_is_refused_naming_the_parameter() -> None:
    assert parse_aggregation("geometric") == "geometric"
    with pytest.raises(WeightsError, match=r"^aggregation: "):
        parse_aggregation("median")


def test_scores_by_hand() -> None:
    pillars = {"a": 80.0, "b": 20.0}
    assert whatif_score(pillars, {"a": 0.5, "b": 0.5}, "arithmetic") == pytest.approx(50.0)
    assert whatif_score(pillars, {"a": 0.75, "b": 0.25}, "arithmetic") == pytest.approx(65.0)
    assert whatif_score(pillars, {"a": 0.5, "b": 0.5}, "geometric") == pytest.approx(40.0)
    assert whatif_score(pillars, {"a": 1.0, "b": 0.0}, "geometric") == pytest.approx(80.0)
    # a zero-weight pillar is left out, even at 0 under the geometric mean
    assert whatif_score({"a": 50.0, "b": 0.0}, {"a": 1.0, "b": 0.0}, "geometric") == pytest.approx(50.0)
    assert whatif_score({"a": 50.0, "b": 0.0}, {"a": 0.5, "b": 0.5}, "geometric") == 0.0
    assert math.isclose(whatif_score({"a": 10.0, "b": 90.0}, {"a": 0.25, "b": 0.75},
                                     "geometric") or 0, 10 ** 0.25 * 90 ** 0.75)


def test_reweighting_reorders_the_ranking_with_competition_ranks() -> None:
    rows = [{"city_id": "x", "pillars": {"a": 90.0, "b": 10.0}},
            {"city_id": "y", "pillars": {"a": 10.0, "b": 90.0}},
            {"city_id": "z", "pillars": {"a": 50.0, "b": 50.0}}]
    ranked, _ = whatif_rank(rows, WhatIf({"a": 0.5, "b": 0.5}, "arithmetic"))
    assert [(i.rank, i.city_id) for i in ranked] == [(1, "x"), (1, "y"), (1, "z")]
    ranked, _ = whatif_rank(rows, WhatIf({"a": 0.8, "b": 0.2}, "arithmetic"))
    assert [(i.rank, i.city_id, round(i.score, 9)) for i in ranked] == [
        (1, "x", 74.0), (2, "z", 50.0), (3, "y", 26.0)]
    ranked, _ = whatif_rank(rows, WhatIf({"a": 0.5, "b": 0.5}, "geometric"))
    assert [(i.rank, i.city_id) for i in ranked] == [(1, "z"), (2, "x"), (2, "y")]

"""What-if weights: re-ranking against hand-computed cases (parsing: test_query_params.py)."""

from __future__ import annotations

import math

import pytest

from shared.domain.scoring.whatif import WhatIf, whatif_rank, whatif_score


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

"""Competition ranking at full precision with a deterministic tie order."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import pytest

from shared.domain.index import compute_index
from shared.domain.scoring.ranking import RankedItem, rank_results, rank_scores


@dataclass(frozen=True)
class Scored:
    city_id: str
    score: float | None


def ranks(items: list[RankedItem]) -> list[tuple[int, str]]:
    """Return (rank, city_id) pairs."""
    return [(i.rank, i.city_id) for i in items]


def test_equal_scores_share_a_rank_and_the_next_rank_skips() -> None:
    items = rank_scores([("a", 90.0), ("b", 80.0), ("c", 80.0), ("d", 70.0)])
    assert [i.rank for i in items] == [1, 2, 2, 4]


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([50.0, 50.0, 50.0, 10.0], [1, 1, 1, 4]),
        ([90.0, 80.0, 80.0, 80.0, 70.0, 70.0, 60.0], [1, 2, 2, 2, 5, 5, 7]),
        ([1.0], [1]),
        ([0.0, 0.0], [1, 1]),
    ],
)
def test_competition_ranks(scores: list[float], expected: list[int]) -> None:
    pairs = [(f"city-{n:02d}", s) for n, s in enumerate(scores)]
    assert [i.rank for i in rank_scores(pairs)] == expected


def test_ties_are_listed_by_city_id_whatever_the_input_order() -> None:
    pairs = [("seoul", 80.0), ("beijing", 80.0), ("singapore", 84.0), ("dubai", 80.0)]
    expected = [(1, "singapore"), (2, "beijing"), (2, "dubai"), (2, "seoul")]
    for order in itertools.permutations(pairs):
        assert ranks(rank_scores(order)) == expected


def test_full_precision_decides() -> None:
    items = rank_scores([("a", 84.0), ("b", 84.0000001)])
    assert ranks(items) == [(1, "b"), (2, "a")]
    next_up = math.nextafter(84.0, math.inf)
    items = rank_scores([("a", 84.0), ("z", next_up)])
    assert ranks(items) == [(1, "z"), (2, "a")]
    assert items[0].score == next_up  # the score is kept, not rounded


def test_empty_input_gives_an_empty_ranking() -> None:
    assert rank_scores([]) == []
    assert rank_results([]) == []


def test_rank_results_leaves_out_unscored_cities() -> None:
    results = [Scored("a", 10.0), Scored("b", None), Scored("c", 30.0), Scored("d", 10.0)]
    assert rank_results(results) == [
        RankedItem(1, "c", 30.0), RankedItem(2, "a", 10.0), RankedItem(2, "d", 10.0),
    ]


def test_rank_results_keeps_a_zero_score() -> None:
    assert rank_results([Scored("zero", 0.0)]) == [RankedItem(1, "zero", 0.0)]


def test_compute_index_ranks_scored_cities_and_lists_the_rest(build, methodology) -> None:
    events = []
    for city, value in (("alpha", 100.0), ("bravo", 50.0), ("charlie", 100.0)):
        events.append(build.city(city))
        for ind in methodology.indicators:
            if ind.derived is None:
                events.append(build.observed(ind.code, ind.lo + (ind.hi - ind.lo) * value / 100,
                                             city_id=city))
        events.append(build.project("p1", city_id=city))
    events.append(build.city("delta"))  # no data at all
    snapshot = compute_index(events, methodology)
    assert ranks(snapshot.ranking) == [(1, "alpha"), (1, "charlie"), (3, "bravo")]
    assert snapshot.ranking[0].score == snapshot.results["alpha"].score
    unranked = snapshot.unranked()
    assert [c for c, _ in unranked] == ["delta"]
    assert "infrastructure" in unranked[0][1]
    assert snapshot.index_date == methodology.base_date


def test_compute_index_uses_the_latest_tick_as_index_date(build, methodology) -> None:
    events = [
        build.tick("2025-09-01", at="2025-09-01T00:00:00Z"),
        build.tick("2025-12-31", at="2025-12-31T00:00:00Z"),
        build.tick("2025-10-01", at="2025-10-01T00:00:00Z"),
        build.city("alpha"),
    ]
    for order in (events, events[::-1]):
        snapshot = compute_index(order, methodology)
        assert snapshot.index_date.isoformat() == "2025-12-31"
        assert snapshot.results["alpha"].index_date == "2025-12-31"

"""One rank-change convention: rank_before, rank_after, places_gained (positive = rose),
with the old names (rank_delta positive = fell, move, rank_then, as_of) kept as aliases."""

from __future__ import annotations

import json
from typing import Any

from services.web.fanout import change_text
from shared.domain.scoring.explain import places_gained, rank_change, rank_move
from shared.queries.timeline import since_changes


def test_places_gained_is_positive_when_a_city_rises() -> None:
    assert places_gained(5, 2) == 3
    assert places_gained(2, 5) == -3
    assert places_gained(4, 4) == 0
    assert places_gained(None, 2) is None and places_gained(2, None) is None
    assert rank_change(5, 2) == {"rank_before": 5, "rank_after": 2, "places_gained": 3}


def test_a_rank_move_reports_places_gained_as_minus_rank_delta() -> None:
    before = {"a": 80.0, "b": 70.0, "c": 60.0, "d": 50.0}
    after = {"a": 80.0, "b": 90.0, "c": 75.0, "d": 50.0}
    move = rank_move("c", before, after)
    assert (move.places_gained, move.places_gained_own, move.places_gained_others) == (0, 1, -1)
    assert move.places_gained_own == -move.own  # type: ignore[operator]
    rose = rank_move("c", before, {**before, "c": 85.0})
    assert rose.places_gained == 2 and rose.rank_delta == -2
    assert rank_move("new", before, {**after, "new": 99.0}).places_gained is None


def test_the_stream_change_carries_both_conventions() -> None:
    stored = ('{"ranking_version":9,"t":5,"rank":2,"old_rank":5,"rank_delta":-3,'
              '"city_id":"seoul","score":71.23456789012345,"drivers":{"pillars":[]}}')
    sent = json.loads(change_text(stored))
    assert (sent["rank_before"], sent["rank_after"], sent["places_gained"]) == (5, 2, 3)
    assert (sent["old_rank"], sent["rank"], sent["rank_delta"]) == (5, 2, -3)  # the aliases
    assert sent["score"] == 71.23456789012345  # full precision through the re-encoding
    assert json.loads(stored).items() <= sent.items()
    entered = json.loads(change_text(stored.replace('"old_rank":5', '"old_rank":null')
                                     .replace('"rank_delta":-3', '"rank_delta":null')))
    assert entered["rank_before"] is None and entered["places_gained"] is None
    assert change_text("not json") == "not json"


class FakeTimeline:
    """The part of Timeline that since_changes reads: the scores at a moment."""

    def __init__(self, scores: dict[str, float]) -> None:
        self._scores = scores

    def scores(self, moment: Any) -> dict[str, float]:
        return dict(self._scores)


def test_a_rows_change_since_says_places_gained_beside_move_and_rank_then() -> None:
    timeline = FakeTimeline({"a": 80.0, "b": 70.0, "c": 60.0})
    rows: list[dict[str, Any]] = [
        {"city_id": "c", "rank": 1, "score": 85.0}, {"city_id": "a", "rank": 2, "score": 80.0},
        {"city_id": "b", "rank": 3, "score": 70.0}, {"city_id": "new", "rank": 4, "score": 1.0}]
    since_changes(timeline, None, rows)  # type: ignore[arg-type]  # no moment: the fake ignores it
    change = {r["city_id"]: r["change"] for r in rows}
    assert change["c"]["rank_before"] == 3 and change["c"]["rank_after"] == 1
    assert change["c"]["places_gained"] == 2 and change["a"]["places_gained"] == -1
    for c in change.values():  # the deprecated aliases keep their values and signs
        assert c["move"] == c["places_gained"] and c["rank_then"] == c["rank_before"]
    assert change["new"]["places_gained"] is None and change["new"]["rank_before"] is None

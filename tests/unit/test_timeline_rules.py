"""The read side's rules for past moments that need no stored history
(shared/queries/timeline.py): how a moment is reported, and each row's change since one."""

from __future__ import annotations

from typing import Any

from shared.domain.records import Moment
from shared.queries.params import Point
from shared.queries.timeline import iso, moment_block, since_changes

THEN = Moment(version=7, version_t=1_751_328_000_000, resolved_ms=1_751_328_005_000)


class ScoresThen:
    """The two reads since_changes makes of a timeline: every score then, or a pillar's
    ranked rows then."""

    def __init__(self, scores: dict[str, float], pillar_rows: list[dict[str, Any]]) -> None:
        self._scores, self._rows = scores, pillar_rows
        self.asked: list[tuple[Moment, str | None]] = []

    def scores(self, moment: Moment) -> dict[str, float]:
        self.asked.append((moment, None))
        return self._scores

    def rows(self, moment: Moment, pillar: str | None = None) -> list[dict[str, Any]]:
        self.asked.append((moment, pillar))
        return self._rows


def test_times_are_rfc_3339_utc_with_milliseconds() -> None:
    assert iso(1_751_328_000_123) == "2025-07-01T00:00:00.123+00:00"
    assert iso(None) is None


def test_a_moment_block_says_what_was_asked_and_what_it_resolved_to() -> None:
    assert moment_block("as_of", Point("time", 1_751_328_009_999, "2025-07-01T00:00:09.999Z"),
                        THEN) == {
        "requested": "2025-07-01T00:00:09.999Z", "resolved_at": "2025-07-01T00:00:05.000+00:00",
        "ranking_version": 7, "committed_at": "2025-07-01T00:00:00.000+00:00"}


def test_each_row_gets_its_rank_and_score_then_and_how_far_it_moved() -> None:
    timeline = ScoresThen({"a": 50.0, "b": 60.0, "c": 60.0}, [])
    rows: list[dict[str, Any]] = [{"city_id": "a", "rank": 1, "score": 70.0},  # rose from 3rd
            {"city_id": "b", "rank": 2, "score": 60.0},  # fell from a tie for 1st
            {"city_id": "new", "rank": 3, "score": 40.0},  # not ranked then
            {"city_id": "c", "rank": None, "score": None}]  # not ranked now
    since_changes(timeline, THEN, rows)
    assert [r["change"] for r in rows] == [
        {"rank_before": 3, "rank_after": 1, "places_gained": 2,
         "rank_then": 3, "score_then": 50.0, "move": 2, "score_change": 20.0},
        {"rank_before": 1, "rank_after": 2, "places_gained": -1,
         "rank_then": 1, "score_then": 60.0, "move": -1, "score_change": 0.0},
        {"rank_before": None, "rank_after": 3, "places_gained": None,
         "rank_then": None, "score_then": None, "move": None, "score_change": None},
        {"rank_before": 1, "rank_after": None, "places_gained": None,
         "rank_then": 1, "score_then": 60.0, "move": None, "score_change": None}]
    assert timeline.asked == [(THEN, None)]  # overall: the scores alone, the light read


def test_by_a_pillar_the_rows_then_are_read_ranked_by_it() -> None:
    timeline = ScoresThen({}, [{"city_id": "a", "rank": 2, "score": 55.0}])
    rows = [{"city_id": "a", "rank": 1, "score": 58.0}]
    since_changes(timeline, THEN, rows, "talent")
    assert rows[0]["change"] == {"rank_before": 2, "rank_after": 1, "places_gained": 1,
                                 "rank_then": 2, "score_then": 55.0, "move": 1,
                                 "score_change": 3.0}
    assert timeline.asked == [(THEN, "talent")]

"""Freshness: last_data_at is the newest record behind the score; stale is judged at the index date."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from shared.commands.recompute import card_of
from shared.contract.methodology import METHODOLOGY_DIR, Methodology, MethodologyError, parse_methodology
from shared.domain.readmodel import RANKING_ROW
from shared.domain.records import IndexMeta
from shared.domain.scoring import CityResult, score_city
from shared.domain.scoring.freshness import is_stale, last_data_at
from shared.domain.state import events_of
from shared.queries.documents import RankingQuery, rankings_document
from shared.queries.params import Point
from tests.unit.conftest import EventBuilder

INFRA = "infra.broadband_mbps"


def test_the_newest_scored_observation_or_project_record_wins(
        build: EventBuilder, methodology: Methodology) -> None:
    state = build.state([
        build.city(at="2026-01-01T00:00:00+00:00"),  # a profile is not data behind the score
        build.observed(INFRA, 100, at="2024-03-01T00:00:00+00:00"),
        build.observed("gov.open_data_score", 50, at="2024-05-01T10:00:00+02:00"),
        build.project("p1", at="2024-04-01T00:00:00+00:00"),
    ])
    assert last_data_at(state.indicators, state.projects, methodology) == \
        "2024-05-01T08:00:00+00:00"  # reported in UTC
    later = build.removed("p1", at="2024-06-01T00:00:00+00:00")  # a removal is a record too
    state2 = build.state([*events_of(state), later])
    assert last_data_at(state2.indicators, state2.projects, methodology) == \
        "2024-06-01T00:00:00+00:00"


def test_instants_not_strings_decide_the_newest(build: EventBuilder,
                                                methodology: Methodology) -> None:
    state = build.state([
        build.observed(INFRA, 1, at="2024-05-01T23:00:00-05:00"),  # 04:00Z on 2 May: newest
        build.observed("gov.open_data_score", 2, at="2024-05-02T01:00:00+00:00"),
    ])
    assert last_data_at(state.indicators, state.projects, methodology) == \
        "2024-05-02T04:00:00+00:00"


def test_observations_of_unscored_indicators_are_ignored(methodology: Methodology) -> None:
    indicators = {"not.in.the.methodology": {"v": ["x", "y"], "at": "2025-01-01T00:00:00+00:00",
                                             "value": 1.0}}
    assert last_data_at(indicators, {}, methodology) is None


@pytest.mark.parametrize(("last", "index_date", "stale"), [
    ("2024-06-30T23:59:59+00:00", date(2025, 6, 30), False),  # exactly 365 days
    ("2024-06-29T23:59:59+00:00", date(2025, 6, 30), True),  # 366 days
    ("2024-06-30T01:00:00+02:00", date(2025, 6, 30), True),  # 29 Jun in UTC
    ("2025-07-10T00:00:00+00:00", date(2025, 6, 30), False),  # after the index date
    (None, date(2025, 6, 30), True),  # no dated data at all
])
def test_stale_is_measured_in_days_before_the_index_date(
        last: str | None, index_date: date, stale: bool) -> None:
    assert is_stale(last, index_date, 365) is stale


def test_score_city_carries_freshness_into_the_result_and_the_card(
        build: EventBuilder, methodology: Methodology) -> None:
    state = build.state([build.city(), build.observed(INFRA, 100,
                                                      at="2024-01-15T00:00:00+00:00")])
    early = score_city(state, methodology, date(2024, 12, 31))
    late = score_city(state, methodology, date(2025, 6, 30))
    assert early.last_data_at == late.last_data_at == "2024-01-15T00:00:00+00:00"
    assert early.stale is False and late.stale is True  # the index date, never the clock
    card = card_of(late)
    assert card["last_data_at"] == "2024-01-15T00:00:00+00:00" and card["stale"] is True
    assert RANKING_ROW.validate(card) == {}
    assert CityResult.from_dict(late.to_dict()) == late


def test_a_stored_result_from_before_freshness_still_loads(
        build: EventBuilder, methodology: Methodology) -> None:
    result = score_city(build.state([build.city()]), methodology, date(2025, 6, 30)).to_dict()
    del result["last_data_at"], result["stale"]
    old = CityResult.from_dict(result)
    assert old.last_data_at is None and old.stale is True


def test_the_setting_is_read_from_the_methodology_with_a_default(
        methodology: Methodology) -> None:
    assert methodology.stale_after_days == 365
    assert methodology.to_dict()["stale_after_days"] == 365
    text = (_methodology_text(methodology).replace("stale_after_days = 365", "")
            .replace("version = \"", "version = \"x", 1))
    assert parse_methodology(text).stale_after_days == 365  # absent: the default
    with pytest.raises(MethodologyError, match="stale_after_days"):
        parse_methodology(_methodology_text(methodology).replace(
            "stale_after_days = 365", "stale_after_days = 0"))


def _methodology_text(methodology: Methodology) -> str:
    return (METHODOLOGY_DIR / f"{methodology.version}.toml").read_text(encoding="utf-8")


TODAY = Point("time", 0, "today")  # the default since (no history: rows carry no change)


class _NoHistory:
    """A timeline with no history kept yet (rows then carry no change since)."""

    def now_ms(self) -> int:
        return 0

    def latest(self) -> None:
        return None


class _View:
    """A RankingView over fixed rows."""

    def __init__(self, methodology: Methodology, rows: list[dict[str, Any]]) -> None:
        self.methodology = methodology
        self.rows = rows
        self.reader = self
        self.timeline = _NoHistory()

    def unranked(self) -> list[dict[str, Any]]:
        return []

    def stamp(self) -> IndexMeta:
        return IndexMeta(index_date="2025-06-30", ranking_version=3, methodology=None,
                         updated_ms=None)

    def ranked(self, pillar: str | None) -> tuple[int, list[dict[str, Any]]]:
        return 3, self.rows

    def ranks(self, pillar: str | None) -> dict[str, int]:
        return {r["city_id"]: r["rank"] for r in self.rows}

    def bands(self) -> dict[str, Any] | None:
        return None


def test_fresh_leaves_out_stale_rows(methodology: Methodology) -> None:
    rows = [{"city_id": "a", "rank": 1, "stale": False}, {"city_id": "b", "rank": 2, "stale": True},
            {"city_id": "c", "rank": 3}]  # a card stored before freshness: not known fresh
    view = _View(methodology, rows)
    doc = rankings_document(view, RankingQuery(since=TODAY, fresh=True))  # type: ignore[arg-type]
    assert [i["city_id"] for i in doc["items"]] == ["a"] and doc["total"] == 1
    assert doc["fresh"] is True
    everything = rankings_document(view, RankingQuery(since=TODAY))  # type: ignore[arg-type]
    assert [i["city_id"] for i in everything["items"]] == ["a", "b", "c"]

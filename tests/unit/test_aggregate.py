"""Pillar and overall scores, coverage rules and the adoption measures derived from projects."""

from __future__ import annotations

import json
import math
from datetime import date

import pytest

from shared.contract.events import Event
from shared.contract.methodology import Methodology, load_methodology
from shared.domain.scoring.aggregate import CityResult, aggregate, score_city
from shared.domain.scoring.measures import adoption_measures, project_summary
from shared.domain.state import CityState

INDEX_DATE = date(2025, 6, 30)

# Raw values chosen so that each normalises to a round number (see the comments).
FULL_OBSERVATIONS = {
    "infra.datacenter_mw": 2000,  # log 0..2000 -> 100
    "infra.gpu_pflops": 50000,  # log 0..50000 -> 100
    "infra.broadband_mbps": 175,  # 0..350 -> 50
    "infra.5g_coverage_pct": 80,  # 0..100 -> 80
    "infra.latency_ms": 24,  # lower is better, 10..80 -> 80
    "research.ai_papers": 20000,  # -> 100
    "research.citation_impact": 1.5,  # 0..3 -> 50
    "research.ai_patents": 0,  # -> 0
    "research.top_institutes": 5,  # 0..10 -> 50
    "talent.ai_workforce_per_100k": 750,  # 0..1500 -> 50
    "talent.ai_graduates": 20000,  # -> 100
    "talent.net_migration_pct": 0,  # -5..5 -> 50
    "talent.ai_job_postings_per_100k": 300,  # -> 100
    "gov.ai_strategy_score": 90,  # -> 90
    "gov.public_ai_services": 500,  # -> 100
    "gov.open_data_score": 60,  # -> 60
    "gov.public_ai_spend_usd_pc": 0,  # -> 0
}
PILLARS_BY_HAND = {
    "infrastructure": 0.25 * 100 + 0.25 * 100 + 0.2 * 50 + 0.15 * 80 + 0.15 * 80,  # 84
    "research": 0.3 * 100 + 0.25 * 50 + 0.25 * 0 + 0.2 * 50,  # 52.5
    "talent": 0.3 * 50 + 0.25 * 100 + 0.2 * 50 + 0.25 * 100,  # 75
    "governance": 0.3 * 90 + 0.25 * 100 + 0.2 * 60 + 0.25 * 0,  # 64
}


def portfolio(build) -> list[Event]:
    """Six projects: three deployed/scaled in the window or not, a pilot, a retired, a removed."""
    return [
        build.project("p1", sector="health", owner="public", stage="deployed",
                      started_at="2024-01-10", deployed_at="2024-09-01"),
        build.project("p2", sector="transport", owner="private", stage="scaled",
                      started_at="2023-01-01", deployed_at="2023-06-01"),
        # no deployed_at: deployment is dated by started_at
        build.project("p3", sector="telecom", owner="private", stage="deployed",
                      started_at="2025-01-01"),
        build.project("p4", sector="finance", owner="partnership", stage="pilot",
                      started_at="2025-03-01"),
        build.project("p5", sector="energy", owner="public", stage="retired",
                      started_at="2020-01-01", deployed_at="2021-01-01"),
        build.project("p6", sector="education", owner="public", stage="deployed",
                      started_at="2024-02-01", at="2025-01-01T00:00:00Z"),
        build.removed("p6", at="2025-02-01T00:00:00Z"),
    ]


VERSIONS = ("2025.1", "2025.2")
# Measures of portfolio(): live = p1..p4, deployed = p1..p3, recent = p1 and p3, scaled p2.
# 2025.2: deployments public 1 (p1), private 2 -> the smaller side has 1.
# 2025.1: live owners public 1, private 2, partnership 1 -> 1.5 v 2.5 of 4 -> mix 0.75;
# scaled 1 of 3.
PORTFOLIO_MEASURES = {
    "2025.2": {"deployed_projects": 3.0, "sector_breadth": 3.0, "speed": 2.0,
               "minority_side_deployed": 1.0, "scaled_projects": 1.0},
    "2025.1": {"deployed_projects": 3.0, "sector_breadth": 3.0, "speed": 2.0,
               "public_private_mix": 0.75, "scaled_share": 1 / 3},
}
ADOPTION_BY_HAND = {
    "2025.2": (
        0.3 * math.log10(3 + 1) / math.log10(300 + 1) * 100
        + 0.2 * 3 / 12 * 100
        + 0.25 * math.log10(2 + 1) / math.log10(120 + 1) * 100
        + 0.1 * math.log10(1 + 1) / math.log10(150 + 1) * 100
        + 0.15 * math.log10(1 + 1) / math.log10(180 + 1) * 100
    ),
    "2025.1": (
        0.3 * math.log10(3 + 1) / math.log10(300 + 1) * 100
        + 0.2 * 3 / 12 * 100
        + 0.25 * math.log10(2 + 1) / math.log10(120 + 1) * 100
        + 0.1 * 0.75 * 100
        + 0.15 * (1 / 3) / 0.6 * 100
    ),
}
# full_city()'s adoption pillar, arithmetic and geometric overall scores, computed once
FULL_CITY_SCORES = {
    "2025.2": (21.395718300615474, 53.013501405215415, 45.780480149010515),
    "2025.1": (33.84749066280084, 57.37162173198029, 53.75269029079001),
}


def full_city(build, observations: dict[str, float] | None = None) -> CityState:
    """A city with a profile, the given (default: all) observations and the portfolio."""
    obs = FULL_OBSERVATIONS if observations is None else observations
    events = [build.city()]
    events += [build.observed(code, value) for code, value in obs.items()]
    events += portfolio(build)
    return build.state(events)


# ------------------------------------------------------------------ aggregate()


@pytest.mark.parametrize(
    ("parts", "arithmetic", "geometric"),
    [
        ([(80.0, 0.5), (20.0, 0.5)], 50.0, 40.0),
        ([(90.0, 0.2), (40.0, 0.35), (60.0, 0.45)], 59.0, 56.45956939141497),
        ([(50.0, 2.0), (50.0, 3.0)], 50.0, 50.0),  # weights need not sum to 1
        ([(80.0, 1.0), (20.0, 3.0)], 35.0, 28.284271247461902),  # (80 * 20^3)^(1/4)
    ],
)
def test_arithmetic_and_geometric_means_match_hand_computed_values(
    parts: list[tuple[float, float]], arithmetic: float, geometric: float
) -> None:
    assert aggregate(parts, "arithmetic") == pytest.approx(arithmetic, rel=1e-12)
    assert aggregate(parts, "geometric") == pytest.approx(geometric, rel=1e-12)


def test_geometric_mean_with_a_zero_part_is_zero() -> None:
    assert aggregate([(0.0, 0.1), (100.0, 0.9)], "geometric") == 0.0
    assert aggregate([(0.0, 0.1), (100.0, 0.9)], "arithmetic") == pytest.approx(90.0)


# ------------------------------------------------------------------ score_city()


@pytest.mark.parametrize("version", VERSIONS)
def test_full_city_pillars_and_overall_match_hand_computed_numbers(build, version) -> None:
    result = score_city(full_city(build), load_methodology(version), INDEX_DATE)
    for pillar, expected in PILLARS_BY_HAND.items():
        assert result.pillars[pillar].score == pytest.approx(expected, rel=1e-12), pillar
        assert result.pillars[pillar].coverage == pytest.approx(1.0)
    adoption = ADOPTION_BY_HAND[version]
    assert result.pillars["adoption"].score == pytest.approx(adoption, rel=1e-12)
    assert result.pillars["adoption"].score == pytest.approx(FULL_CITY_SCORES[version][0])
    overall = (0.2 * 84 + 0.15 * 52.5 + 0.15 * 75 + 0.35 * adoption + 0.15 * 64)
    assert result.score == pytest.approx(overall, rel=1e-12)
    assert result.score == pytest.approx(FULL_CITY_SCORES[version][1])
    assert result.reason is None
    assert result.ranked
    assert result.coverage == pytest.approx(1.0)


@pytest.mark.parametrize("version", VERSIONS)
def test_geometric_aggregation_of_the_same_city(build, version) -> None:
    geometric = load_methodology(version).with_aggregation("geometric")
    result = score_city(full_city(build), geometric, INDEX_DATE)
    expected = math.exp(
        0.2 * math.log(84) + 0.15 * math.log(52.5) + 0.15 * math.log(75)
        + 0.35 * math.log(ADOPTION_BY_HAND[version]) + 0.15 * math.log(64)
    )
    assert result.score == pytest.approx(expected, rel=1e-12)
    assert result.score == pytest.approx(FULL_CITY_SCORES[version][2])
    # pillars are always arithmetic means of their indicators
    assert result.pillars["infrastructure"].score == pytest.approx(84.0)


@pytest.mark.parametrize("version", VERSIONS)
def test_geometric_aggregation_with_a_zero_pillar_gives_zero(build, version) -> None:
    methodology = load_methodology(version)
    obs = dict(FULL_OBSERVATIONS)
    obs.update({"gov.ai_strategy_score": 0, "gov.public_ai_services": 0,
                "gov.open_data_score": 0, "gov.public_ai_spend_usd_pc": 0})
    state = full_city(build, obs)
    geometric = score_city(state, methodology.with_aggregation("geometric"), INDEX_DATE)
    arithmetic = score_city(state, methodology, INDEX_DATE)
    assert geometric.pillars["governance"].score == 0.0
    assert geometric.score == 0.0
    assert geometric.ranked  # a zero is a score, not a missing value
    assert arithmetic.score == pytest.approx(FULL_CITY_SCORES[version][1] - 0.15 * 64)


def test_indicator_details_explain_the_score(build, methodology) -> None:
    result = score_city(full_city(build), methodology, INDEX_DATE)
    latency = result.indicators["infra.latency_ms"]
    assert latency["raw"] == 24
    assert latency["normalised"] == pytest.approx(80.0)
    assert latency["derived"] is False
    assert latency["observed_at"] == "2025-06-01T12:00:00+00:00"
    assert latency["event_id"]
    speed = result.indicators["adoption.speed"]
    assert speed == {"raw": 2.0, "observed_at": None, "event_id": None, "derived": True,
                     "normalised": pytest.approx(22.907845499566314)}
    assert result.methodology_version == methodology.version
    assert result.index_date == "2025-06-30"
    assert result.profile is not None
    assert result.profile["country"] == "SG"


def test_result_round_trips_through_json(build, methodology) -> None:
    result = score_city(full_city(build), methodology, INDEX_DATE)
    again = CityResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == result


# ------------------------------------------------------------------ coverage


def test_pillar_at_exactly_the_threshold_is_rated_from_the_available_indicators(
    build, methodology
) -> None:
    obs = {k: v for k, v in FULL_OBSERVATIONS.items() if not k.startswith("infra.")}
    # 0.25 + 0.25 + 0.15 = 0.65 of the infrastructure weight, exactly the threshold
    obs.update({"infra.datacenter_mw": 2000, "infra.gpu_pflops": 0, "infra.5g_coverage_pct": 80})
    result = score_city(full_city(build, obs), methodology, INDEX_DATE)
    infra = result.pillars["infrastructure"]
    assert infra.coverage == pytest.approx(0.65)
    assert infra.reason is None
    # weighted mean of the available ones only: (0.25*100 + 0.25*0 + 0.15*80) / 0.65
    assert infra.score == pytest.approx((25 + 0 + 12) / 0.65)
    assert result.ranked
    assert "infra.broadband_mbps" not in result.indicators


def test_pillar_above_the_threshold_is_rated(build, methodology) -> None:
    obs = dict(FULL_OBSERVATIONS)
    del obs["research.citation_impact"]  # 0.75 of research observed
    result = score_city(full_city(build, obs), methodology, INDEX_DATE)
    research = result.pillars["research"]
    assert research.coverage == pytest.approx(0.75)
    assert research.score == pytest.approx((0.3 * 100 + 0.25 * 0 + 0.2 * 50) / 0.75)
    assert result.ranked


def test_pillar_below_the_threshold_is_unrated_and_the_city_unranked(build, methodology) -> None:
    obs = dict(FULL_OBSERVATIONS)
    del obs["infra.gpu_pflops"]  # 0.25
    del obs["infra.latency_ms"]  # 0.15 -> 0.60 observed
    result = score_city(full_city(build, obs), methodology, INDEX_DATE)
    infra = result.pillars["infrastructure"]
    assert infra.score is None
    assert infra.coverage == pytest.approx(0.60)
    assert infra.reason is not None
    assert "infrastructure" in infra.reason
    assert "60%" in infra.reason
    assert "65%" in infra.reason
    assert result.score is None
    assert not result.ranked
    assert result.reason is not None
    assert "infrastructure" in result.reason
    # other pillars are still reported
    assert result.pillars["talent"].score == pytest.approx(75.0)
    # overall coverage: 0.60 + 1 + 1 + 1 + 1 of five indicator-weight units
    assert result.coverage == pytest.approx(4.6 / 5)


def test_every_missing_pillar_is_named_in_the_reason(build, methodology) -> None:
    obs = {k: v for k, v in FULL_OBSERVATIONS.items()
           if not k.startswith(("research.", "gov."))}
    result = score_city(full_city(build, obs), methodology, INDEX_DATE)
    assert result.reason is not None
    assert "research" in result.reason
    assert "governance" in result.reason
    assert result.pillars["research"].coverage == 0.0


def test_city_without_projects_has_no_adoption_score(build, methodology) -> None:
    events = [build.city()] + [build.observed(c, v) for c, v in FULL_OBSERVATIONS.items()]
    result = score_city(build.state(events), methodology, INDEX_DATE)
    assert result.pillars["adoption"].score is None
    assert result.reason is not None
    assert "adoption" in result.reason
    assert result.score is None


def test_city_without_a_profile_is_unranked_with_a_reason(build, methodology) -> None:
    events = [build.observed(c, v) for c, v in FULL_OBSERVATIONS.items()]
    events += portfolio(build)
    result = score_city(build.state(events), methodology, INDEX_DATE)
    assert all(p.score is not None for p in result.pillars.values())
    assert result.score is None
    assert result.profile is None
    assert result.reason is not None
    assert "city.upserted" in result.reason


def test_empty_city_is_unranked(methodology) -> None:
    result = score_city(CityState("nowhere"), methodology, INDEX_DATE)
    assert result.score is None
    assert result.coverage == 0.0
    assert result.indicators == {}
    assert result.projects["total"] == 0


# ------------------------------------------------------------------ adoption measures


@pytest.mark.parametrize("version", VERSIONS)
def test_adoption_measures_of_a_portfolio(build, version) -> None:
    """Each version gets exactly the measures it names."""
    state = build.state(portfolio(build))
    measures = adoption_measures(state.projects, load_methodology(version), INDEX_DATE)
    assert measures == pytest.approx(PORTFOLIO_MEASURES[version])


def test_deployed_count_and_sector_breadth_count_only_deployed_and_scaled(
    build, methodology, methodology_2025_1
) -> None:
    events = [
        build.project("a", sector="health", stage="deployed"),
        build.project("b", sector="health", stage="scaled"),
        build.project("c", sector="retail", stage="announced"),
        build.project("d", sector="media", stage="pilot"),
        build.project("e", sector="energy", stage="scaled"),
    ]
    measures = adoption_measures(build.state(events).projects, methodology, INDEX_DATE)
    assert measures["deployed_projects"] == 3.0
    assert measures["sector_breadth"] == 2.0  # health, energy
    assert measures["scaled_projects"] == 2.0
    old = adoption_measures(build.state(events).projects, methodology_2025_1, INDEX_DATE)
    assert old["scaled_share"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("index_date", "speed"),
    [
        (date(2025, 6, 30), 2),  # window (2024-06-30, 2025-06-30]: p1 and p3
        (date(2024, 12, 31), 1),  # p1 only; p3 has not happened yet
        (date(2025, 8, 31), 2),
        (date(2025, 9, 1), 1),  # p1 deployed 2024-09-01 is exactly at the open window start
        (date(2026, 1, 1), 0),  # p3 (2025-01-01) sits exactly on the window start: excluded
        (date(2025, 1, 1), 2),  # p3 on the index date itself: included
    ],
)
def test_speed_counts_deployments_in_the_window_before_the_given_index_date(
    build, methodology, index_date: date, speed: int
) -> None:
    state = build.state(portfolio(build))
    assert adoption_measures(state.projects, methodology, index_date)["speed"] == speed


def test_projects_not_yet_started_or_deployed_at_the_index_date_do_not_count(
    build, methodology
) -> None:
    state = build.state(portfolio(build))
    assert adoption_measures(state.projects, methodology, date(2000, 1, 1)) == {}
    later = build.project("late", sector="energy", stage="deployed", started_at="2025-01-01",
                          deployed_at="2026-03-01")
    with_late = build.state([*portfolio(build), later])
    at = date(2025, 6, 30)
    before = adoption_measures(state.projects, methodology, at)
    after = adoption_measures(with_late.projects, methodology, at)
    assert after["deployed_projects"] == before["deployed_projects"]
    assert after["speed"] == before["speed"]


def test_index_date_not_the_clock_drives_the_score(build, methodology) -> None:
    state = full_city(build)
    early = score_city(state, methodology, date(2024, 12, 31))
    late = score_city(state, methodology, date(2025, 6, 30))
    again = score_city(state, methodology, date(2024, 12, 31))
    assert early.indicators["adoption.speed"]["raw"] == 1.0
    assert late.indicators["adoption.speed"]["raw"] == 2.0
    assert early.to_dict() == again.to_dict()
    assert early.index_date == "2024-12-31"


def test_minority_side_deployed(build, methodology) -> None:
    def side(*owners: str, stage: str = "deployed") -> float:
        events = [build.project(f"p{n}", owner=o, stage=stage) for n, o in enumerate(owners)]
        state = build.state(events)
        return adoption_measures(state.projects, methodology, INDEX_DATE)["minority_side_deployed"]

    assert side("public", "private") == 1.0
    assert side("public", "public") == 0.0
    assert side("private") == 0.0
    assert side("partnership") == 0.5  # counts half public, half private
    assert side("public", "private", "private", "private") == 1.0
    assert side("public", "private", "private", "private", "public") == 2.0  # more is better
    assert side("public", "partnership", "private", "private") == 1.5
    assert side("public", "private", stage="scaled") == 1.0
    assert side("public", "private", stage="pilot") == 0.0  # only deployments count


def test_minority_side_counts_deployments_not_announcements(build, methodology) -> None:
    events = [build.project("a", owner="public", stage="announced"),
              build.project("b", owner="private", stage="deployed"),
              build.project("c", owner="public", stage="deployed", deployed_at="2026-01-01")]
    measures = adoption_measures(build.state(events).projects, methodology, INDEX_DATE)
    assert measures["minority_side_deployed"] == 0.0  # c is not deployed yet on 2025-06-30
    later = adoption_measures(build.state(events).projects, methodology, date(2026, 1, 1))
    assert later["minority_side_deployed"] == 1.0


def test_public_private_mix(build, methodology_2025_1) -> None:
    def mix(*owners: str) -> float:
        events = [build.project(f"p{n}", owner=o) for n, o in enumerate(owners)]
        state = build.state(events)
        return adoption_measures(state.projects, methodology_2025_1,
                                 INDEX_DATE)["public_private_mix"]

    assert mix("public", "private") == 1.0
    assert mix("public", "public") == 0.0
    assert mix("private") == 0.0
    assert mix("partnership") == 1.0  # counts half public, half private
    assert mix("public", "private", "private", "private") == pytest.approx(0.5)


def test_mix_counts_active_projects_not_only_deployed_ones(build, methodology_2025_1) -> None:
    events = [build.project("a", owner="public", stage="announced"),
              build.project("b", owner="private", stage="deployed")]
    measures = adoption_measures(build.state(events).projects, methodology_2025_1, INDEX_DATE)
    assert measures["public_private_mix"] == 1.0


@pytest.mark.parametrize(("version", "expected"), [
    ("2025.2", {"deployed_projects": 1.0, "sector_breadth": 1.0, "speed": 0.0,
                "minority_side_deployed": 0.0, "scaled_projects": 1.0}),
    ("2025.1", {"deployed_projects": 1.0, "sector_breadth": 1.0, "speed": 0.0,
                "public_private_mix": 0.0, "scaled_share": 1.0}),
])
def test_removed_and_retired_projects_are_excluded(build, version, expected) -> None:
    events = [
        build.project("kept", sector="health", owner="private", stage="scaled"),
        build.project("gone", sector="retail", owner="public", stage="deployed",
                      at="2025-01-01T00:00:00Z"),
        build.removed("gone", at="2025-01-02T00:00:00Z"),
        build.project("old", sector="media", owner="public", stage="retired"),
    ]
    state = build.state(events)
    measures = adoption_measures(state.projects, load_methodology(version), INDEX_DATE)
    assert measures == pytest.approx(expected)
    summary = project_summary(state.projects)
    assert summary["total"] == 2  # retired projects are listed, removed ones are not
    assert {p["project_id"] for p in summary["latest"]} == {"kept", "old"}


def test_a_project_upserted_after_its_removal_counts_again(build, methodology) -> None:
    events = [
        build.project("x", stage="deployed", at="2025-01-01T00:00:00Z"),
        build.removed("x", at="2025-01-02T00:00:00Z"),
        build.project("x", stage="scaled", at="2025-01-03T00:00:00Z"),
    ]
    measures = adoption_measures(build.state(events).projects, methodology, INDEX_DATE)
    assert measures["deployed_projects"] == 1.0
    assert measures["scaled_projects"] == 1.0


def test_measures_with_no_data_are_left_out(build, methodology: Methodology,
                                            methodology_2025_1: Methodology) -> None:
    for version in (methodology, methodology_2025_1):
        assert adoption_measures({}, version, INDEX_DATE) == {}
        only_retired = build.state([build.project("r", stage="retired")])
        assert adoption_measures(only_retired.projects, version, INDEX_DATE) == {}
    pilots = build.state([build.project("p", stage="pilot")])
    # 2025.2: counts of nothing are zero, so a city with live projects has all five
    assert adoption_measures(pilots.projects, methodology, INDEX_DATE) == {
        "deployed_projects": 0.0, "sector_breadth": 0.0, "speed": 0.0,
        "minority_side_deployed": 0.0, "scaled_projects": 0.0}
    measures = adoption_measures(pilots.projects, methodology_2025_1, INDEX_DATE)
    assert measures["deployed_projects"] == 0.0
    assert "scaled_share" not in measures  # 2025.1: a share of nothing is not zero


def test_project_summary_by_sector_stage_and_owner(build) -> None:
    summary = project_summary(build.state(portfolio(build)).projects)
    assert summary["total"] == 5
    assert summary["by_sector_stage"] == {
        "energy": {"retired": 1}, "finance": {"pilot": 1}, "health": {"deployed": 1},
        "telecom": {"deployed": 1}, "transport": {"scaled": 1},
    }
    assert summary["by_owner"] == {"partnership": 1, "private": 2, "public": 2}
    assert [p["project_id"] for p in summary["latest"]] == ["p4", "p3", "p1", "p2", "p5"]

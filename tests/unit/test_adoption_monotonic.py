"""Methodology 2025.2: reporting more real adoption never lowers a city's score (issue 13).

Properties over random cities (random observations, random project portfolios, random
index dates) and random changes to their project records, for the overall score and the
adoption pillar, with arithmetic and geometric aggregation:

- adding a project at stage deployed or scaled never lowers a score;
- moving a project to a later stage, up to scaled, never lowers a score;
- removing a project never raises a score;
- adding an announcement or a pilot never lowers a score (and, once the city has a live
  project, changes nothing at all).

"Never lowers" includes "never unrates": a rated city stays rated. A city whose adoption
was unknown (no live project) may become rated. Under 2025.1 the same changes can lower a
score, through the share-type measures: the same strategies find such cases, and the last
tests show them on the reference data.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import date
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from shared.contract.events import EventCodec
from shared.contract.methodology import Methodology, load_methodology
from shared.domain.scoring.aggregate import score_city
from shared.domain.state import CityState, apply_event, build_states
from tests.support.properties import examples

V2 = load_methodology("2025.2")
V1 = load_methodology("2025.1")
CODEC = EventCodec(V2)
VOCAB = V2.projects
OBSERVED = V2.observed_indicator_codes()
ADVANCING = ("announced", "pilot", "deployed", "scaled")  # later stage = further right
assert tuple(s for s in VOCAB.stages if s != "retired") == ADVANCING
DAYS = ("2018-03-01", "2022-05-01", "2023-06-01", "2024-07-01", "2024-11-15", "2025-06-30",
        "2025-09-01")
INDEX_DATES = (date(2025, 6, 30), date(2024, 12, 31), date(2025, 9, 1))
BASE_AT = "2025-01-01T00:00:00Z"
CHANGE_AT = "2025-06-01T00:00:00Z"  # later than every base event: the change wins
PROPERTY_SETTINGS = settings(max_examples=examples(200), deadline=None)
REFERENCE = Path(__file__).resolve().parents[2] / "data" / "reference-2025"

Scores = tuple[float | None, float | None]


def observation(code: str) -> st.SearchStrategy[float]:
    """Draw a value between the indicator's goalposts (inside its plausible range)."""
    ind = V2.indicator(code)
    return st.floats(ind.lo, ind.hi)


@st.composite
def project(draw: st.DrawFn, project_id: str,
            stages: tuple[str, ...] = tuple(VOCAB.stages)) -> dict[str, Any]:
    """Draw the data of a project.upserted event."""
    started = draw(st.sampled_from(DAYS))
    data: dict[str, Any] = {
        "project_id": project_id, "name": "Project", "organization": "Org",
        "sector": draw(st.sampled_from(VOCAB.sectors[:5])),
        "owner": draw(st.sampled_from(VOCAB.owners)),
        "stage": draw(st.sampled_from(stages)),
        "started_at": started,
    }
    deployed = draw(st.none() | st.sampled_from([d for d in DAYS if d >= started]))
    if deployed is not None:
        data["deployed_at"] = deployed
    return data


@st.composite
def cities(draw: st.DrawFn, min_projects: int = 0) -> list[dict[str, Any]]:
    """Draw a city's raw events: a profile, most observations, a random portfolio."""
    raws: list[dict[str, Any]] = [{
        "type": "city.upserted",
        "data": {"name": "Alpha", "country": "SG", "region": "Asia", "population": 5_000_000,
                 "lat": 1.3, "lon": 103.8},
    }]
    present = draw(st.lists(st.sampled_from(OBSERVED), unique=True,
                            min_size=len(OBSERVED) - 2))
    raws += [{"type": "indicator.observed",
              "data": {"indicator": code, "value": draw(observation(code))}}
             for code in present]
    # small portfolios, and larger ones where one more project moves the counts' logs little
    n = draw(st.integers(min_projects, 12) | st.integers(25, 60))
    raws += [{"type": "project.upserted", "data": draw(project(f"p{k}"))} for k in range(n)]
    return raws


def fold(raws: list[dict[str, Any]]) -> CityState:
    """Apply raw events (base events first, then the change) to a fresh state."""
    ids = count(1)
    state = CityState("alpha")
    for raw in raws:
        full = {"occurred_at": BASE_AT, **raw, "city_id": "alpha",
                "event_id": str(uuid.UUID(int=next(ids)))}
        apply_event(state, CODEC.load(full))
    return state


def scores(raws: list[dict[str, Any]], methodology: Methodology, day: date) -> Scores:
    """Return the overall score and the adoption pillar score."""
    result = score_city(fold(raws), methodology, day)
    return result.score, result.pillars["adoption"].score


def not_lower(before: Scores, after: Scores) -> bool:
    """Tell whether no score fell (and no rated score became unrated)."""
    return all(old is None or (new is not None and new >= old)
               for old, new in zip(before, after, strict=True))


def not_higher(before: Scores, after: Scores) -> bool:
    """Tell whether no score rose (and no unrated score became rated)."""
    return not_lower(after, before)


methodologies = st.sampled_from([V2, V2.with_aggregation("geometric")])
index_dates = st.sampled_from(INDEX_DATES)


def change(data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "project.upserted", "occurred_at": CHANGE_AT, "data": data}


@st.composite
def additions(draw: st.DrawFn, stages: tuple[str, ...]) -> tuple[list[dict[str, Any]],
                                                                  dict[str, Any]]:
    """Draw a city and one new project at one of stages."""
    return draw(cities()), change(draw(project("new", stages)))


@st.composite
def upgrades(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Draw a city and a later stage (up to scaled) for one of its projects."""
    raws = draw(cities(min_projects=1))
    projects = [r["data"] for r in raws if r["type"] == "project.upserted"]
    old = draw(st.sampled_from(projects))
    if old["stage"] == "retired":
        old = {**old, "stage": draw(st.sampled_from(ADVANCING[:3]))}
        raws = [*raws, {"type": "project.upserted", "data": old,
                        "occurred_at": "2025-03-01T00:00:00Z"}]
    if old["stage"] == "scaled":  # nothing later: step the base back to deployed
        old = {**old, "stage": "deployed"}
        raws = [*raws, {"type": "project.upserted", "data": old,
                        "occurred_at": "2025-03-01T00:00:00Z"}]
    later = ADVANCING[ADVANCING.index(old["stage"]) + 1:]
    new = {**old, "stage": draw(st.sampled_from(later))}
    if old["stage"] not in VOCAB.deployed_stages and draw(st.booleans()):
        # reaching deployment may come with its date (not before the start)
        new["deployed_at"] = draw(st.sampled_from([d for d in DAYS if d >= old["started_at"]]))
    return raws, change(new)


@st.composite
def removals(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Draw a city and the removal of one of its projects."""
    raws = draw(cities(min_projects=1))
    ids = [r["data"]["project_id"] for r in raws if r["type"] == "project.upserted"]
    gone = draw(st.sampled_from(ids))
    return raws, {"type": "project.removed", "occurred_at": CHANGE_AT,
                  "data": {"project_id": gone}}


# ------------------------------------------------------------------ the properties


@PROPERTY_SETTINGS
@given(additions(tuple(VOCAB.deployed_stages)), methodologies, index_dates)
def test_adding_a_deployed_or_scaled_project_never_lowers_a_score(
        case: tuple[list[dict[str, Any]], dict[str, Any]], methodology: Methodology,
        day: date) -> None:
    raws, added = case
    assert not_lower(scores(raws, methodology, day), scores([*raws, added], methodology, day))


@PROPERTY_SETTINGS
@given(upgrades(), methodologies, index_dates)
def test_moving_a_project_to_a_later_stage_never_lowers_a_score(
        case: tuple[list[dict[str, Any]], dict[str, Any]], methodology: Methodology,
        day: date) -> None:
    raws, upgraded = case
    assert not_lower(scores(raws, methodology, day), scores([*raws, upgraded], methodology, day))


@PROPERTY_SETTINGS
@given(removals(), methodologies, index_dates)
def test_removing_a_project_never_raises_a_score(
        case: tuple[list[dict[str, Any]], dict[str, Any]], methodology: Methodology,
        day: date) -> None:
    raws, removal = case
    assert not_higher(scores(raws, methodology, day), scores([*raws, removal], methodology, day))


@PROPERTY_SETTINGS
@given(additions(("announced", "pilot")), methodologies, index_dates)
def test_an_announcement_or_pilot_never_lowers_a_score(
        case: tuple[list[dict[str, Any]], dict[str, Any]], methodology: Methodology,
        day: date) -> None:
    raws, added = case
    before = scores(raws, methodology, day)
    after = scores([*raws, added], methodology, day)
    assert not_lower(before, after)
    if before[1] is not None:  # adoption already known: announcements and pilots count for nothing
        assert after == before


def test_the_strategies_produce_rated_cities() -> None:
    rated = []

    @settings(max_examples=50, deadline=None, database=None)
    @given(additions(tuple(VOCAB.deployed_stages)))
    def probe(case: tuple[list[dict[str, Any]], dict[str, Any]]) -> None:
        rated.append(scores(case[0], V2, INDEX_DATES[0])[0] is not None)

    probe()
    assert sum(rated) >= 10


@pytest.mark.parametrize(("cases", "holds"), [
    (additions(tuple(VOCAB.deployed_stages)), not_lower),
    (upgrades(), not_lower),
    (removals(), not_higher),
    (additions(("announced", "pilot")), not_lower),
], ids=["deployment", "later-stage", "removal", "announcement"])
def test_the_same_strategies_find_the_2025_1_flaw(
        cases: st.SearchStrategy[tuple[list[dict[str, Any]], dict[str, Any]]],
        holds: Any) -> None:
    """Guard against vacuous properties: each one fails under 2025.1, holds under 2025.2."""
    def breaks(methodology: Methodology, case: tuple[list[dict[str, Any]], dict[str, Any]]
               ) -> bool:
        raws, changed = case
        day = INDEX_DATES[0]
        return not holds(scores(raws, methodology, day), scores([*raws, changed], methodology, day))

    case = find(cases, lambda c: breaks(V1, c),
                settings=settings(max_examples=3000, database=None, phases=[Phase.generate]))
    assert not breaks(V2, case)


# ------------------------------------------------------------------ examples


def test_a_retirement_may_lower_a_score(build, methodology) -> None:
    """Retired projects leave every measure: AI no longer in use no longer counts."""
    live = [build.city(), *(build.observed(c, V2.indicator(c).hi / 2) for c in OBSERVED),
            build.project("a", owner="public", stage="scaled", at="2025-01-01T00:00:00Z"),
            build.project("b", owner="private", stage="deployed")]
    retired = build.project("a", owner="public", stage="retired", at="2025-02-01T00:00:00Z")
    before = score_city(build.state(live), methodology, INDEX_DATES[0])
    after = score_city(build.state([*live, retired]), methodology, INDEX_DATES[0])
    assert before.score is not None and after.score is not None
    assert after.score < before.score
    assert after.indicators["adoption.scaled_projects"]["raw"] == 0.0
    assert after.indicators["adoption.minority_side_deployed"]["raw"] == 0.0


@pytest.fixture(scope="module")
def reference_states(reference_events: list[Any]) -> dict[str, CityState]:
    assert load_methodology().version == V2.version  # the session's events are 2025.2's
    states, _, _ = build_states(reference_events)
    return states


def majority_owner_deployment(state: CityState) -> Any:
    """The issue's example: one more deployed project, started 2022 and deployed 2023, from
    the city's majority owner (public or private), in its most common sector."""
    live = [p for p in state.projects.values() if not p.get("removed")]
    owners = Counter(p["owner"] for p in live if p["owner"] in ("public", "private"))
    sectors = Counter(p["sector"] for p in live)
    return CODEC.load({
        "event_id": str(uuid.uuid4()), "type": "project.upserted", "city_id": state.city_id,
        "occurred_at": "2025-06-29T00:00:00Z",
        "data": {"project_id": "issue-13", "name": "One more deployment", "organization": "Org",
                 "sector": sectors.most_common(1)[0][0],
                 "owner": owners.most_common(1)[0][0], "stage": "deployed",
                 "started_at": "2022-03-01", "deployed_at": "2023-03-01"},
    })


@pytest.mark.parametrize("methodology", [V2, V1], ids=["2025.2", "2025.1"])
def test_one_more_deployment_on_the_reference_data(
        reference_states: dict[str, CityState], methodology: Methodology) -> None:
    """2025.2 raises every reference city's score; 2025.1 lowers most of them (issue 13)."""
    lowered = raised = 0
    for state in reference_states.values():
        before = score_city(state, methodology, INDEX_DATES[0])
        again = CityState.from_dict(json.loads(json.dumps(state.to_dict())))  # a deep copy
        apply_event(again, majority_owner_deployment(state))
        after = score_city(again, methodology, INDEX_DATES[0])
        assert before.score is not None and after.score is not None
        lowered += after.score < before.score
        raised += after.score > before.score
    assert len(reference_states) == 100
    if methodology is V2:
        assert (lowered, raised) == (0, 100)
    else:
        assert lowered > 50  # the flaw 2025.2 removes

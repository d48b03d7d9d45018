"""Last-writer-wins city state: examples, and properties over random event histories.

Replaying the same set of events in any order, with any duplicates, must give the
identical state and the identical scores; raising a higher-is-better indicator (or
lowering a lower-is-better one) must never lower a city's overall score.
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.contract.events import Event, EventCodec
from shared.contract.methodology import load_methodology
from shared.domain.index import compute_index
from shared.domain.scoring.aggregate import score_city
from shared.domain.state import APPLIED, SUPERSEDED, CityState, apply_event, build_states
from tests.support.properties import examples

CODEC = EventCodec(load_methodology())
ARITHMETIC = CODEC.methodology
GEOMETRIC = ARITHMETIC.with_aggregation("geometric")
VOCAB = ARITHMETIC.projects
OBSERVED_CODES = ARITHMETIC.observed_indicator_codes()
HIGHER_CODES = tuple(c for c in OBSERVED_CODES if ARITHMETIC.indicator(c).direction == "higher")
LOWER_CODES = tuple(c for c in OBSERVED_CODES if ARITHMETIC.indicator(c).direction == "lower")
INDEX_DATE = date(2025, 6, 30)

CITIES = ("alpha", "bravo", "charlie")
PROJECT_IDS = ("p1", "p2", "p3", "p4")
# A small set of instants so that ties on occurred_at are common; each group holds the
# same instant written in different offsets.
INSTANTS = (
    "2025-01-01T00:00:00Z",
    "2025-01-01T09:00:00+09:00",
    "2024-12-31T19:00:00-05:00",
    "2025-01-01T00:00:00.000001+00:00",
    "2025-03-01T12:30:00+00:00",
    "2025-03-01T14:30:00+02:00",
    "2025-03-01T12:30:00.000000Z",
    "2025-06-30T23:59:59.5+00:00",
)
DAYS = ("2023-05-01", "2024-07-01", "2024-11-15", "2025-06-30")
LATEST = "2026-01-01T00:00:00Z"  # later than every instant above

PROPERTY_SETTINGS = settings(max_examples=examples(150), deadline=None)


def values(code: str) -> st.SearchStrategy[float]:
    """Draw a value the codec accepts for code: inside its plausible range."""
    ind = ARITHMETIC.indicator(code)
    assert ind.plausible_min is not None and ind.plausible_max is not None
    return st.one_of(
        st.floats(max(ind.plausible_min, -1e6), min(ind.plausible_max, 1e6),
                  exclude_min=ind.plausible_min_exclusive,
                  exclude_max=ind.plausible_max_exclusive),
        st.integers(max(-100, math.ceil(ind.plausible_min)),
                    min(100_000, math.floor(ind.plausible_max))).filter(ind.is_plausible),
        st.sampled_from([v for v in (0, 0.5, 10, 80, 350, 2000) if ind.is_plausible(v)]),
    )


def within_range(code: str, value: float) -> float:
    """Return value moved to the nearest value inside code's plausible range."""
    ind = ARITHMETIC.indicator(code)
    assert ind.plausible_min is not None and ind.plausible_max is not None
    low = math.nextafter(ind.plausible_min, math.inf) if ind.plausible_min_exclusive \
        else ind.plausible_min
    high = math.nextafter(ind.plausible_max, -math.inf) if ind.plausible_max_exclusive \
        else ind.plausible_max
    return min(max(value, low), high)


@st.composite
def project_data(draw: st.DrawFn) -> dict[str, Any]:
    """Draw the data of a project.upserted event."""
    started = draw(st.sampled_from(DAYS))
    data: dict[str, Any] = {
        "project_id": draw(st.sampled_from(PROJECT_IDS)),
        "name": draw(st.sampled_from(["Triage", "Traffic AI"])),
        "organization": draw(st.sampled_from(["City", "Telco"])),
        "sector": draw(st.sampled_from(VOCAB.sectors[:4])),
        "owner": draw(st.sampled_from(VOCAB.owners)),
        "stage": draw(st.sampled_from(VOCAB.stages)),
        "started_at": started,
    }
    deployed = draw(st.none() | st.sampled_from([d for d in DAYS if d >= started]))
    if deployed is not None:
        data["deployed_at"] = deployed
    return data


city_data = st.fixed_dictionaries({
    "name": st.sampled_from(["Alpha", "Bravo"]),
    "country": st.sampled_from(["SG", "KR", "AE"]),
    "region": st.sampled_from(["Asia", "Middle East"]),
    "population": st.integers(1, 30_000_000),
    "lat": st.floats(-90, 90),
    "lon": st.floats(-180, 180),
})
indicator_data = st.sampled_from(OBSERVED_CODES).flatmap(
    lambda code: st.fixed_dictionaries({"indicator": st.just(code), "value": values(code)}))
removed_data = st.fixed_dictionaries({"project_id": st.sampled_from(PROJECT_IDS)})

payloads = st.one_of(
    st.tuples(st.just("city.upserted"), city_data),
    st.tuples(st.just("indicator.observed"), indicator_data),
    st.tuples(st.just("indicator.observed"), indicator_data),  # observations are the bulk
    st.tuples(st.just("project.upserted"), project_data()),
    st.tuples(st.just("project.removed"), removed_data),
)


@st.composite
def histories(draw: st.DrawFn, cities: tuple[str, ...] = CITIES, max_size: int = 40) -> list[Event]:
    """Draw a list of distinct valid events for one to three cities."""
    n_cities = draw(st.integers(1, len(cities)))
    chosen = cities[:n_cities]
    bodies = draw(st.lists(
        st.tuples(st.sampled_from(chosen), st.sampled_from(INSTANTS), payloads),
        max_size=max_size,
    ))
    ids = draw(st.lists(st.uuids(), min_size=len(bodies), max_size=len(bodies), unique=True))
    events = []
    for (city, at, (kind, data)), event_id in zip(bodies, ids, strict=True):
        events.append(CODEC.load({"event_id": str(event_id), "type": kind, "city_id": city,
                                  "occurred_at": at, "data": data}))
    return events


@st.composite
def replays(draw: st.DrawFn, events: list[Event]) -> list[Event]:
    """Draw the same events shuffled, with some of them delivered more than once."""
    dups = draw(st.lists(st.sampled_from(events), max_size=10)) if events else []
    return draw(st.permutations(events + dups))


def snapshot(events: list[Event]) -> dict[str, Any]:
    """Return each city's state and its arithmetic and geometric scores as JSON text."""
    states, _, _ = build_states(events)
    out = {}
    for city, state in sorted(states.items()):
        out[city] = {
            "state": json.dumps(state.to_dict(), sort_keys=True),
            "arithmetic": json.dumps(score_city(state, ARITHMETIC, INDEX_DATE).to_dict()),
            "geometric": json.dumps(score_city(state, GEOMETRIC, INDEX_DATE).to_dict()),
        }
    return out


# ------------------------------------------------------------------ properties


@PROPERTY_SETTINGS
@given(st.data())
def test_shuffled_and_duplicated_histories_converge(data: st.DataObject) -> None:
    events = data.draw(histories())
    replay = data.draw(replays(events))
    states, _, _ = build_states(events)
    again, _, _ = build_states(replay)
    assert sorted(states) == sorted(again)
    for city, state in states.items():
        assert state.to_dict() == again[city].to_dict()
        for methodology in (ARITHMETIC, GEOMETRIC):
            first = score_city(state, methodology, INDEX_DATE).to_dict()
            second = score_city(again[city], methodology, INDEX_DATE).to_dict()
            assert first == second
    # identical down to the serialised bytes of the scores (what the store writes)
    assert snapshot(events) == snapshot(replay)


@PROPERTY_SETTINGS
@given(st.data())
def test_state_stored_and_read_back_between_events_gives_the_same_result(
    data: st.DataObject,
) -> None:
    events = data.draw(histories(cities=("alpha",)))
    cut = data.draw(st.integers(0, len(events)))
    direct = CityState("alpha")
    for event in events:
        apply_event(direct, event)
    stored = CityState("alpha")
    for event in events[:cut]:
        apply_event(stored, event)
    stored = CityState.from_dict(json.loads(json.dumps(stored.to_dict())))
    for event in events[cut:]:
        apply_event(stored, event)
    assert stored.to_dict() == direct.to_dict()


@PROPERTY_SETTINGS
@given(st.data())
def test_the_whole_index_is_order_independent(data: st.DataObject) -> None:
    events = data.draw(histories())
    ticks = [
        CODEC.load({"event_id": str(uuid.UUID(int=n + 1)), "type": "index.ticked",
                    "occurred_at": at, "data": {"date": day}})
        for n, (at, day) in enumerate(data.draw(st.lists(
            st.tuples(st.sampled_from(INSTANTS), st.sampled_from(DAYS)), max_size=3)))
    ]
    replay = data.draw(replays(events + ticks))
    first = compute_index(events + ticks, ARITHMETIC)
    second = compute_index(replay, ARITHMETIC)
    assert first.index_date == second.index_date
    assert first.ranking == second.ranking
    assert {c: r.to_dict() for c, r in first.results.items()} == {
        c: r.to_dict() for c, r in second.results.items()}


@st.composite
def monotonicity_cases(
    draw: st.DrawFn, codes: tuple[str, ...]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Draw a city's raw history whose last event is the latest observation of one code."""
    target = draw(st.sampled_from(codes))
    # a mostly complete base, so that the city is usually ranked
    present = draw(st.lists(st.sampled_from(OBSERVED_CODES), unique=True,
                            min_size=len(OBSERVED_CODES) - 3))
    raws: list[dict[str, Any]] = [
        {"type": "city.upserted", "occurred_at": "2020-01-01T00:00:00Z",
         "data": {"name": "Alpha", "country": "SG", "region": "Asia", "population": 5_000_000,
                  "lat": 1.3, "lon": 103.8}},
        {"type": "project.upserted", "occurred_at": "2020-01-01T00:00:00Z",
         "data": {"project_id": "base", "name": "Base", "organization": "City",
                  "sector": "health", "owner": "public", "stage": "deployed",
                  "started_at": "2024-01-01"}},
    ]
    raws += [{"type": "indicator.observed", "occurred_at": "2020-01-01T00:00:00Z",
              "data": {"indicator": code, "value": draw(values(code))}} for code in present]
    noise = draw(histories(cities=("alpha",), max_size=15))
    raws += [{k: v for k, v in CODEC.dump(e).items() if k not in ("event_id", "city_id")}
             for e in noise]
    latest = {"type": "indicator.observed", "occurred_at": LATEST,
              "data": {"indicator": target, "value": draw(values(target))}}
    for n, raw in enumerate(raws):
        raw.update(event_id=str(uuid.UUID(int=n + 1)), city_id="alpha")
    latest.update(event_id=str(uuid.UUID(int=len(raws) + 1)), city_id="alpha")
    return raws, latest


def score_with(raws: list[dict[str, Any]], latest: dict[str, Any], value: float,
               methodology: Any) -> tuple[float | None, float | None]:
    """Return the overall score and the target's pillar score with the latest value set."""
    last = {**latest, "data": {**latest["data"], "value": value}}
    state = CityState("alpha")
    for raw in [*raws, last]:
        apply_event(state, CODEC.load(raw))
    result = score_city(state, methodology, INDEX_DATE)
    pillar = methodology.indicator(latest["data"]["indicator"]).pillar
    return result.score, result.pillars[pillar].score


def assert_not_lower(before: tuple[float | None, float | None],
                     after: tuple[float | None, float | None]) -> None:
    for old, new in zip(before, after, strict=True):
        # whether a city is rated depends on which indicators are observed, not their values
        assert (old is None) == (new is None)
        if old is not None and new is not None:
            assert new >= old


@PROPERTY_SETTINGS
@given(monotonicity_cases(HIGHER_CODES), st.floats(0, 1e6),
       st.sampled_from([ARITHMETIC, GEOMETRIC]))
def test_raising_a_higher_is_better_indicator_never_lowers_the_score(
    case: tuple[list[dict[str, Any]], dict[str, Any]], delta: float, methodology: Any
) -> None:
    raws, latest = case
    value = float(latest["data"]["value"])
    before = score_with(raws, latest, value, methodology)
    after = score_with(raws, latest, within_range(latest["data"]["indicator"], value + delta),
                       methodology)
    assert_not_lower(before, after)


@PROPERTY_SETTINGS
@given(monotonicity_cases(LOWER_CODES), st.floats(0, 1e6),
       st.sampled_from([ARITHMETIC, GEOMETRIC]))
def test_lowering_a_lower_is_better_indicator_never_lowers_the_score(
    case: tuple[list[dict[str, Any]], dict[str, Any]], delta: float, methodology: Any
) -> None:
    raws, latest = case
    value = float(latest["data"]["value"])
    before = score_with(raws, latest, value, methodology)
    after = score_with(raws, latest, within_range(latest["data"]["indicator"], value - delta),
                       methodology)
    assert_not_lower(before, after)


def test_the_strategies_produce_ranked_cities_and_real_ties() -> None:
    """Guard the property tests against vacuous inputs: ranked cases and tied instants occur."""
    assert LOWER_CODES == ("infra.latency_ms",)
    assert len(HIGHER_CODES) == len(OBSERVED_CODES) - 1
    tied = {CODEC.load({"event_id": str(uuid.uuid4()), "type": "index.ticked",
                        "occurred_at": at, "data": {"date": "2025-01-01"}}).version[0]
            for at in INSTANTS[:3]}
    assert len(tied) == 1
    seen_ranked = []

    @settings(max_examples=30, deadline=None, database=None)
    @given(monotonicity_cases(HIGHER_CODES))
    def probe(case: tuple[list[dict[str, Any]], dict[str, Any]]) -> None:
        raws, latest = case
        score, _ = score_with(raws, latest, float(latest["data"]["value"]), ARITHMETIC)
        seen_ranked.append(score is not None)

    probe()
    assert any(seen_ranked)


# ------------------------------------------------------------------ examples


def test_later_occurred_at_wins_whatever_the_arrival_order(build) -> None:
    old = build.observed("infra.latency_ms", 50, at="2025-01-01T00:00:00Z")
    new = build.observed("infra.latency_ms", 20, at="2025-01-01T00:00:01+00:00")
    for order in ([old, new], [new, old]):
        state = build.state(order)
        assert state.indicators["infra.latency_ms"]["value"] == 20


def test_a_later_instant_in_an_earlier_looking_offset_wins(build) -> None:
    # 08:00+09:00 is 23:00Z the previous day; 22:00-05:00 is 03:00Z the next day
    tokyo = build.observed("infra.latency_ms", 1, at="2025-01-02T08:00:00+09:00")
    new_york = build.observed("infra.latency_ms", 2, at="2025-01-01T22:00:00-05:00")
    for order in ([tokyo, new_york], [new_york, tokyo]):
        assert build.state(order).indicators["infra.latency_ms"]["value"] == 2


def test_equal_instants_in_different_offsets_are_broken_by_event_id(build) -> None:
    low_id, high_id = "00000000-0000-4000-8000-000000000001", "ffffffff-0000-4000-8000-000000000001"
    a = build.observed("infra.latency_ms", 1, at="2025-01-01T09:00:00+09:00", event_id=high_id)
    b = build.observed("infra.latency_ms", 2, at="2025-01-01T00:00:00Z", event_id=low_id)
    assert a.version[0] == b.version[0]
    for order in ([a, b], [b, a]):
        entry = build.state(order).indicators["infra.latency_ms"]
        assert entry["value"] == 1
        assert entry["v"][1] == high_id


def test_applying_reports_applied_superseded_and_what_was_displaced(build) -> None:
    state = CityState("testville")
    first = build.observed("infra.latency_ms", 50, at="2025-01-01T00:00:00Z")
    second = build.observed("infra.latency_ms", 40, at="2025-02-01T00:00:00Z")
    stale = build.observed("infra.latency_ms", 30, at="2024-02-01T00:00:00Z")
    assert apply_event(state, first).status == APPLIED
    outcome = apply_event(state, second)
    assert outcome.status == APPLIED
    assert outcome.displaced == first.event_id
    assert apply_event(state, stale).status == SUPERSEDED
    before = state.to_dict()
    assert apply_event(state, second).status == SUPERSEDED  # a duplicate has no effect
    assert state.to_dict() == before


def test_profile_is_last_writer_wins_too(build) -> None:
    old = build.city(at="2025-01-01T00:00:00Z")
    new = build.make("city.upserted", {"name": "Renamed", "country": "KR", "region": "Asia",
                                       "population": 2, "lat": 0, "lon": 0},
                     at="2025-01-02T00:00:00Z")
    for order in ([old, new], [new, old]):
        profile = build.state(order).profile
        assert profile is not None
        assert profile["name"] == "Renamed"


def test_removal_is_a_tombstone_that_only_a_later_upsert_overrides(build) -> None:
    upsert = build.project("x", at="2025-01-01T00:00:00Z")
    removal = build.removed("x", at="2025-01-02T00:00:00Z")
    for order in ([upsert, removal], [removal, upsert]):
        assert build.state(order).projects["x"]["removed"] is True
    revived = build.project("x", stage="scaled", at="2025-01-03T00:00:00Z")
    for order in ([upsert, removal, revived], [revived, removal, upsert]):
        entry = build.state(order).projects["x"]
        assert entry["removed"] is False
        assert entry["stage"] == "scaled"


def test_an_event_for_another_city_is_refused(build) -> None:
    with pytest.raises(ValueError, match="bravo"):
        apply_event(CityState("alpha"), build.observed("infra.latency_ms", 1, city_id="bravo"))


def test_a_tick_does_not_apply_to_a_city(build) -> None:
    tick = build.tick("2025-07-01")
    with pytest.raises(ValueError, match="applied to city"):
        apply_event(CityState("alpha"), tick)


def test_build_states_keeps_the_winning_tick(build) -> None:
    early = build.tick("2025-12-31", at="2025-07-01T00:00:00Z")
    late = build.tick("2025-07-02", at="2025-07-02T00:00:00Z")
    for order in ([early, late], [late, early]):
        states, version, day = build_states(order)
        assert states == {}
        assert version == late.version
        assert day == "2025-07-02"  # the later tick wins even with an earlier date
    assert build_states([]) == ({}, None, None)


def test_state_round_trips_through_json(build) -> None:
    state = build.state([
        build.city(), build.observed("infra.latency_ms", 12.5),
        build.project("x", deployed_at="2024-06-01"), build.removed("y"),
    ])
    again = CityState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again.to_dict() == state.to_dict()
    later = build.observed("infra.latency_ms", 11, at="2026-01-01T00:00:00Z")
    apply_event(state, later)
    apply_event(again, later)
    assert again.to_dict() == state.to_dict()

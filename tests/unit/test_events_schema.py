"""The ingest contract: valid events load and dump back; bad input is refused, naming the field."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from marshmallow import ValidationError

from shared.contract.events import (
    CityUpserted,
    Event,
    EventCodec,
    IndexTicked,
    IndicatorObserved,
    ProjectRemoved,
    ProjectUpserted,
    codec_for,
    utc_key,
)
from shared.contract.methodology import load_methodology
from shared.domain.scoring.normalise import normalise

EVENT_ID = "6f1c1c1e-8a4b-4c39-9a55-0d8a3c3b1f00"

VALID: dict[str, dict[str, Any]] = {
    "city.upserted": {
        "event_id": EVENT_ID, "type": "city.upserted", "city_id": "seoul",
        "occurred_at": "2025-06-30T12:00:00+09:00",
        "data": {"name": "Seoul", "country": "KR", "region": "East Asia",
                 "population": 9_400_000, "lat": 37.5665, "lon": 126.978},
    },
    "indicator.observed": {
        "event_id": EVENT_ID, "type": "indicator.observed", "city_id": "singapore",
        "occurred_at": "2025-06-30T04:00:00.250000+00:00",
        "data": {"indicator": "infra.gpu_pflops", "value": 1234.5},
    },
    "project.upserted": {
        "event_id": EVENT_ID, "type": "project.upserted", "city_id": "seoul",
        "occurred_at": "2025-06-30T12:00:00-05:00",
        "data": {"project_id": "skt-a-assistant", "name": "A. assistant",
                 "organization": "SK Telecom", "sector": "telecom", "owner": "private",
                 "stage": "scaled", "started_at": "2023-09-01", "deployed_at": "2024-01-15"},
    },
    "project.removed": {
        "event_id": EVENT_ID, "type": "project.removed", "city_id": "san-francisco",
        "occurred_at": "2025-06-30T12:00:00+00:00",
        "data": {"project_id": "sf:robotaxi.2"},
    },
    "index.ticked": {
        "event_id": EVENT_ID, "type": "index.ticked",
        "occurred_at": "2025-07-01T00:00:00+00:00", "data": {"date": "2025-07-01"},
    },
}
DATA_CLASSES = {
    "city.upserted": CityUpserted, "indicator.observed": IndicatorObserved,
    "project.upserted": ProjectUpserted, "project.removed": ProjectRemoved,
    "index.ticked": IndexTicked,
}


@pytest.fixture(scope="module")
def codec() -> EventCodec:
    """The codec exactly as the brief names it: EventCodec(load_methodology())."""
    return EventCodec(load_methodology())


def variant(kind: str, change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    """Return a deep copy of the valid event of this kind, changed in place by change()."""
    raw = copy.deepcopy(VALID[kind])
    change(raw)
    return raw


def errors_of(codec: EventCodec, raw: Any) -> dict[str, Any]:
    """Load raw, expect a ValidationError and return its messages."""
    with pytest.raises(ValidationError) as info:
        codec.load(raw)
    messages = info.value.messages
    assert isinstance(messages, dict)
    return messages


def flat(messages: Any) -> str:
    """Return every message as one lower-case string."""
    return str(messages).lower()


# ------------------------------------------------------------------ valid events


@pytest.mark.parametrize("kind", sorted(VALID))
def test_valid_events_load_and_dump_back(codec: EventCodec, kind: str) -> None:
    raw = VALID[kind]
    event = codec.load(copy.deepcopy(raw))
    assert isinstance(event, Event)
    assert event.type == kind
    assert isinstance(event.data, DATA_CLASSES[kind])
    assert codec.dump(event) == raw
    assert codec.load(codec.dump(event)) == event


def test_optional_deployed_at_may_be_absent_or_null(codec: EventCodec) -> None:
    absent = variant("project.upserted", lambda r: r["data"].pop("deployed_at"))
    event = codec.load(absent)
    assert isinstance(event.data, ProjectUpserted)
    assert event.data.deployed_at is None
    assert codec.dump(event) == absent
    null = variant("project.upserted", lambda r: r["data"].update(deployed_at=None))
    assert codec.load(null) == event


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("2025-06-30T03:00:00Z", "2025-06-30T03:00:00+00:00"),
        ("2025-06-30t03:00:00z", "2025-06-30T03:00:00+00:00"),  # RFC 3339 allows lower case
        ("2025-06-30T12:00:00.5+09:00", "2025-06-30T12:00:00.500000+09:00"),
        ("2025-06-30T03:00:00.123456789Z", "2025-06-30T03:00:00.123456+00:00"),
    ],
)
def test_rfc3339_spellings_are_accepted_and_dumped_canonically(
    codec: EventCodec, written: str, canonical: str
) -> None:
    event = codec.load(variant("project.removed", lambda r: r.update(occurred_at=written)))
    assert codec.dump(event)["occurred_at"] == canonical


def test_event_ids_are_case_insensitive(codec: EventCodec) -> None:
    upper = variant("project.removed", lambda r: r.update(event_id=EVENT_ID.upper()))
    assert codec.load(upper).event_id == EVENT_ID


def test_whole_number_floats_are_accepted_as_integers(codec: EventCodec) -> None:
    event = codec.load(variant("city.upserted", lambda r: r["data"].update(population=5e6)))
    assert isinstance(event.data, CityUpserted)
    assert event.data.population == 5_000_000
    assert isinstance(event.data.population, int)


def test_integer_values_are_accepted_as_numbers(codec: EventCodec) -> None:
    event = codec.load(variant("indicator.observed", lambda r: r["data"].update(
        indicator="talent.net_migration_pct", value=-3)))  # a negative one is plausible here
    assert isinstance(event.data, IndicatorObserved)
    assert event.data.value == -3.0


def test_cached_codec_matches(codec: EventCodec) -> None:
    assert codec_for("2025.1").load(copy.deepcopy(VALID["city.upserted"])) == codec.load(
        copy.deepcopy(VALID["city.upserted"]))
    assert codec_for("2025.1") is codec_for("2025.1")


def test_version_is_the_utc_instant_then_event_id(codec: EventCodec) -> None:
    event = codec.load(copy.deepcopy(VALID["city.upserted"]))  # 12:00+09:00
    assert event.version == ("2025-06-30T03:00:00.000000Z", EVENT_ID)


def test_utc_key_is_fixed_width_and_sorts_as_time_does() -> None:
    moments = [datetime(999, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC),
               datetime(2025, 1, 1, 0, 0, 0, 1, tzinfo=UTC)]
    keys = [utc_key(m) for m in moments]
    assert len({len(k) for k in keys}) == 1
    assert keys == sorted(keys)


# ------------------------------------------------------------------ envelope errors


def test_unknown_envelope_field(codec: EventCodec) -> None:
    errors = errors_of(codec, variant("city.upserted", lambda r: r.update(source="feed-7")))
    assert "source" in errors
    assert "unknown" in flat(errors["source"])


def test_missing_required_envelope_fields(codec: EventCodec) -> None:
    for key in ("event_id", "type", "occurred_at", "data"):
        errors = errors_of(codec, variant("city.upserted", lambda r, k=key: r.pop(k)))
        assert key in errors, key
        assert "missing" in flat(errors[key])


@pytest.mark.parametrize(
    "event_id",
    ["not-a-uuid", "6f1c1c1e8a4b4c399a550d8a3c3b1f00", "6f1c1c1e-8a4b-4c39-9a55-0d8a3c3b1f0",
     "6f1c1c1e-8a4b-4c39-9a55-0d8a3c3b1fzz", f"{EVENT_ID}\n", 42, None],
)
def test_bad_uuid(codec: EventCodec, event_id: object) -> None:
    errors = errors_of(codec, variant("project.removed", lambda r: r.update(event_id=event_id)))
    assert "event_id" in errors


def test_unknown_event_type(codec: EventCodec) -> None:
    errors = errors_of(codec, variant("project.removed", lambda r: r.update(type="city.deleted")))
    assert "type" in errors
    assert "must be one of" in flat(errors["type"])


@pytest.mark.parametrize(
    "slug",
    ["Seoul", "SEOUL", "new york", "-seoul", "seoul-", "", "são-paulo", "seoul_1", "seoul\n",
     "a" * 65, 7],
)
def test_bad_slug(codec: EventCodec, slug: object) -> None:
    errors = errors_of(codec, variant("indicator.observed", lambda r: r.update(city_id=slug)))
    assert "city_id" in errors
    assert "slug" in flat(errors["city_id"]) or "string" in flat(errors["city_id"])


@pytest.mark.parametrize("slug", ["a", "seoul", "new-york", "x9", "a" * 64, "1st-city"])
def test_good_slugs(codec: EventCodec, slug: str) -> None:
    assert codec.load(variant("indicator.observed", lambda r: r.update(city_id=slug))).city_id == slug


def test_city_event_without_city_id(codec: EventCodec) -> None:
    errors = errors_of(codec, variant("indicator.observed", lambda r: r.pop("city_id")))
    assert "missing" in flat(errors["city_id"])


def test_index_ticked_with_a_city_id(codec: EventCodec) -> None:
    errors = errors_of(codec, variant("index.ticked", lambda r: r.update(city_id="seoul")))
    assert "index.ticked" in flat(errors["city_id"])


@pytest.mark.parametrize("raw", [[VALID["city.upserted"]], "event", 42, None, True])
def test_non_object_event(codec: EventCodec, raw: object) -> None:
    errors = errors_of(codec, raw)
    assert "json object" in flat(errors)


@pytest.mark.parametrize("data", [[], "x", 1, None])
def test_data_must_be_an_object(codec: EventCodec, data: object) -> None:
    errors = errors_of(codec, variant("city.upserted", lambda r: r.update(data=data)))
    assert "data" in errors


def test_envelope_and_data_errors_are_reported_together(codec: EventCodec) -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["event_id"] = "nope"
        raw["data"]["value"] = "high"

    errors = errors_of(codec, variant("indicator.observed", change))
    assert "event_id" in errors
    assert "value" in errors["data"]


# ------------------------------------------------------------------ timestamps


@pytest.mark.parametrize(
    "stamp", ["2025-06-30T12:00:00", "2025-06-30T12:00:00.5", "2025-06-30t12:00:00"]
)
def test_naive_timestamp(codec: EventCodec, stamp: str) -> None:
    errors = errors_of(codec, variant("city.upserted", lambda r: r.update(occurred_at=stamp)))
    assert "offset" in flat(errors["occurred_at"])


@pytest.mark.parametrize(
    "stamp",
    [
        "2025-06-30 12:00:00+00:00",  # space instead of T
        "20250630T120000Z",  # ISO 8601 basic format
        "2025-06-30T12+09:00",  # hour only
        "2025-06-30T12:00+09:00",  # no seconds
        "2025-06-30T12:00:00+0900",  # offset without colon
        "2025-06-30T12:00:00,5Z",  # comma fraction
        "2025-W27-1T12:00:00Z",  # week date
        "2025-06-30",  # a date is not a timestamp
        "30/06/2025 12:00",
        "2025-06-31T12:00:00Z",  # no such day
        "2025-06-30T24:00:00Z",
        "2025-06-30T12:00:00Z\n",
        "0001-01-01T00:00:00+01:00",  # before the first representable UTC instant
        "yesterday",
        "",
        1751284800,
        None,
    ],
)
def test_non_rfc3339_timestamp(codec: EventCodec, stamp: object) -> None:
    errors = errors_of(codec, variant("city.upserted", lambda r: r.update(occurred_at=stamp)))
    assert "occurred_at" in errors
    assert any(word in flat(errors["occurred_at"]) for word in ("rfc 3339", "null"))


# ------------------------------------------------------------------ data errors


def test_unknown_data_field(codec: EventCodec) -> None:
    errors = errors_of(codec, variant("indicator.observed", lambda r: r["data"].update(unit="MW")))
    assert "unit" in errors["data"]
    assert "unknown" in flat(errors["data"]["unit"])


@pytest.mark.parametrize("code", ["infra.quantum_qubits", "INFRA.GPU_PFLOPS", "",
                                  "adoption.speed"])  # derived codes are computed, not fed
def test_unknown_indicator_code(codec: EventCodec, code: str) -> None:
    errors = errors_of(codec, variant("indicator.observed",
                                      lambda r: r["data"].update(indicator=code)))
    assert "indicator" in errors["data"]
    assert codec.methodology.version in flat(errors["data"]["indicator"])


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (math.nan, "finite"), (math.inf, "finite"), (-math.inf, "finite"),
        ("12.5", "number"), ("NaN", "number"), (True, "number"), (None, "null"),
        ([1.0], "number"), ({"v": 1}, "number"),
    ],
)
def test_bad_indicator_value(codec: EventCodec, value: object, words: str) -> None:
    errors = errors_of(codec, variant("indicator.observed",
                                      lambda r: r["data"].update(value=value)))
    assert "value" in errors["data"]
    assert words in flat(errors["data"]["value"])


@pytest.mark.parametrize("country", ["kr", "Kr", "XX", "KOR", "Korea", "", 82])
def test_bad_country_code(codec: EventCodec, country: object) -> None:
    errors = errors_of(codec, variant("city.upserted",
                                      lambda r: r["data"].update(country=country)))
    assert "country" in errors["data"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("lat", 90.5), ("lat", math.nan), ("lon", -181), ("population", 0), ("population", 1.5),
     ("population", "9m"), ("name", ""), ("name", "x" * 201), ("region", 5)],
)
def test_bad_city_profile_values(codec: EventCodec, field: str, value: object) -> None:
    errors = errors_of(codec, variant("city.upserted", lambda r: r["data"].update({field: value})))
    assert field in errors["data"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("sector", "space"), ("sector", "Health"), ("owner", "government"), ("owner", "PUBLIC"),
     ("stage", "live"), ("stage", "Deployed"), ("stage", None)],
)
def test_bad_project_enums(codec: EventCodec, field: str, value: object) -> None:
    errors = errors_of(codec, variant("project.upserted",
                                      lambda r: r["data"].update({field: value})))
    assert field in errors["data"]
    if value is not None:
        assert "must be one of" in flat(errors["data"][field])


@pytest.mark.parametrize("value", ["2025/01/01", "20250101", "2025-W01-1", "2025-02-30",
                                   "2025-01-01T00:00:00Z", 2025])
def test_bad_project_dates(codec: EventCodec, value: object) -> None:
    errors = errors_of(codec, variant("project.upserted",
                                      lambda r: r["data"].update(started_at=value)))
    assert "started_at" in errors["data"]
    assert "yyyy-mm-dd" in flat(errors["data"]["started_at"])


def test_deployed_at_before_started_at(codec: EventCodec) -> None:
    errors = errors_of(codec, variant("project.upserted",
                                      lambda r: r["data"].update(deployed_at="2023-08-31")))
    assert "deployed_at" in errors["data"]
    assert "started_at" in flat(errors["data"]["deployed_at"])


def test_deployed_on_the_start_day_is_fine(codec: EventCodec) -> None:
    raw = variant("project.upserted", lambda r: r["data"].update(deployed_at="2023-09-01"))
    assert codec.load(raw).type == "project.upserted"


@pytest.mark.parametrize("project_id", ["", "-lead", "has space", "ünï", "x" * 129, 12])
def test_bad_project_id(codec: EventCodec, project_id: object) -> None:
    errors = errors_of(codec, variant("project.removed",
                                      lambda r: r["data"].update(project_id=project_id)))
    assert "project_id" in errors["data"]


@pytest.mark.parametrize(
    ("kind", "field"),
    [("city.upserted", "name"), ("city.upserted", "country"), ("city.upserted", "lat"),
     ("indicator.observed", "indicator"), ("indicator.observed", "value"),
     ("project.upserted", "sector"), ("project.upserted", "started_at"),
     ("project.removed", "project_id"), ("index.ticked", "date")],
)
def test_missing_required_data_field(codec: EventCodec, kind: str, field: str) -> None:
    errors = errors_of(codec, variant(kind, lambda r: r["data"].pop(field)))
    assert field in errors["data"]
    assert "missing" in flat(errors["data"][field])


def test_bad_tick_date(codec: EventCodec) -> None:
    errors = errors_of(codec, variant("index.ticked", lambda r: r["data"].update(date="July 1")))
    assert "date" in errors["data"]


def test_data_of_another_type_is_refused(codec: EventCodec) -> None:
    raw = variant("city.upserted", lambda r: r.update(data=VALID["project.removed"]["data"]))
    errors = errors_of(codec, raw)
    assert "project_id" in errors["data"]
    assert "name" in errors["data"]


# ------------------------------------------------------------------ plausible ranges


def observed(code: str, value: object) -> dict[str, Any]:
    """Return a valid indicator.observed event for code carrying value."""
    return variant("indicator.observed",
                   lambda r: r["data"].update(indicator=code, value=value))


OBSERVED = load_methodology().observed_indicator_codes()


def test_a_negative_count_is_refused_naming_the_rule(codec: EventCodec) -> None:
    errors = errors_of(codec, observed("infra.datacenter_mw", -1))
    assert errors == {"data": {"value": [
        "must be between 0 and 100000 (MW) for infra.datacenter_mw"]}}


@pytest.mark.parametrize("value", [1e308, 100.5, 10**30, -0.001])
def test_an_impossible_percentage_is_refused(codec: EventCodec, value: float) -> None:
    errors = errors_of(codec, observed("infra.5g_coverage_pct", value))
    assert errors == {"data": {"value": [
        "must be between 0 and 100 (%) for infra.5g_coverage_pct"]}}


def test_the_rule_of_an_exclusive_bound_is_worded_as_such(codec: EventCodec) -> None:
    errors = errors_of(codec, observed("infra.latency_ms", 0))
    assert errors == {"data": {"value": [
        "must be greater than 0 and at most 10000 (ms) for infra.latency_ms"]}}


@pytest.mark.parametrize(
    ("code", "value", "ok"),
    [
        ("infra.5g_coverage_pct", 0, True), ("infra.5g_coverage_pct", 100, True),
        ("infra.5g_coverage_pct", 100.0, True), ("infra.5g_coverage_pct", -0.0, True),
        ("infra.5g_coverage_pct", math.nextafter(100, math.inf), False),
        ("infra.5g_coverage_pct", math.nextafter(0, -math.inf), False),
        ("infra.latency_ms", 0, False), ("infra.latency_ms", -0.0, False),
        ("infra.latency_ms", 5e-324, True), ("infra.latency_ms", 10000, True),
        ("infra.latency_ms", math.nextafter(10000, math.inf), False),
        ("talent.net_migration_pct", -100, True), ("talent.net_migration_pct", 100, True),
        ("talent.net_migration_pct", -100.01, False), ("talent.net_migration_pct", -4.03, True),
        ("research.top_institutes", 200, True), ("research.top_institutes", 201, False),
        ("research.ai_papers", 0, True), ("research.ai_papers", -1, False),
    ],
)
def test_boundaries(codec: EventCodec, code: str, value: float, ok: bool) -> None:
    raw = observed(code, value)
    if ok:
        event = codec.load(raw)
        assert isinstance(event.data, IndicatorObserved)
        assert event.data.value == value
    else:
        assert "value" in errors_of(codec, raw)["data"]


@pytest.mark.parametrize("code", OBSERVED)
def test_every_observed_indicator_accepts_its_range_and_refuses_beyond(
    codec: EventCodec, code: str
) -> None:
    ind = codec.methodology.indicator(code)
    assert ind.plausible_min is not None and ind.plausible_max is not None
    for goalpost in (ind.lo, ind.hi):
        codec.load(observed(code, goalpost))
    low, high = ind.plausible_min, ind.plausible_max
    # an inclusive bound is accepted; the next float beyond it, or an exclusive bound, is not
    inside = [math.nextafter(low, math.inf) if ind.plausible_min_exclusive else low,
              math.nextafter(high, -math.inf) if ind.plausible_max_exclusive else high]
    for value in inside:
        codec.load(observed(code, value))
    below = low if ind.plausible_min_exclusive else math.nextafter(low, -math.inf)
    above = high if ind.plausible_max_exclusive else math.nextafter(high, math.inf)
    for value in (below, above, -1e308, 1e308):
        errors = errors_of(codec, observed(code, value))
        assert errors == {"data": {"value": [
            f"must be {ind.plausible_rule()} ({ind.unit}) for {code}"]}}, value


def test_values_between_goalpost_and_bound_are_accepted_and_clamped(codec: EventCodec) -> None:
    for code, value, score in (("infra.datacenter_mw", 5000, 100.0),
                               ("infra.latency_ms", 5, 100.0),
                               ("infra.latency_ms", 500, 0.0),
                               ("talent.net_migration_pct", -50, 0.0)):
        event = codec.load(observed(code, value))
        assert isinstance(event.data, IndicatorObserved)
        assert normalise(event.data.value, codec.methodology.indicator(code)) == score


def test_an_implausible_value_is_reported_with_the_other_data_errors(codec: EventCodec) -> None:
    raw = observed("infra.5g_coverage_pct", 250)
    raw["data"]["unit"] = "%"
    raw["event_id"] = "nope"
    errors = errors_of(codec, raw)
    assert "event_id" in errors
    assert "unknown" in flat(errors["data"]["unit"])
    assert errors["data"]["value"] == ["must be between 0 and 100 (%) for infra.5g_coverage_pct"]


def test_the_range_is_not_checked_against_an_unknown_code_or_a_bad_value(
    codec: EventCodec,
) -> None:
    errors = errors_of(codec, observed("infra.quantum_qubits", -1))
    assert set(errors["data"]) == {"indicator"}
    errors = errors_of(codec, observed("infra.5g_coverage_pct", "250"))
    assert errors["data"] == {"value": ["must be a number"]}


def test_load_many_refuses_implausible_values_as_load_does(codec: EventCodec) -> None:
    raws: list[Any] = [
        observed("infra.5g_coverage_pct", 55),
        observed("infra.5g_coverage_pct", 1e308),
        observed("infra.datacenter_mw", -1),
        observed("infra.latency_ms", 0),
        observed("infra.latency_ms", 5e-324),
        observed("talent.net_migration_pct", -100),
        variant("city.upserted", lambda r: None),
    ]
    for n, raw in enumerate(raws):
        raw["event_id"] = f"6f1c1c1e-8a4b-4c39-9a55-0d8a3c3b1f{n:02d}"
    one_by_one: list[Any] = []
    for raw in raws:
        try:
            one_by_one.append(codec.load(raw))
        except ValidationError as exc:
            one_by_one.append(exc.messages)
    batch = [r.messages if isinstance(r, ValidationError) else r
             for r in codec.load_many(copy.deepcopy(raws))]
    assert batch == one_by_one
    assert [isinstance(r, Event) for r in batch] == [True, False, False, False, True, True, True]
    assert batch[1] == {"data": {"value": [
        "must be between 0 and 100 (%) for infra.5g_coverage_pct"]}}


def test_load_many_refuses_a_batch_whose_only_fault_is_one_implausible_value(
    codec: EventCodec,
) -> None:
    """The many=True fast path must not let an out-of-range value through."""
    raws = [observed(code, codec.methodology.indicator(code).hi) for code in OBSERVED]
    for n, raw in enumerate(raws):
        raw["event_id"] = f"6f1c1c1e-8a4b-4c39-9a55-0d8a3c3b1f{n:02d}"
    assert all(isinstance(r, Event) for r in codec.load_many(raws))
    raws[3]["data"]["value"] = 1e308
    results = codec.load_many(raws)
    assert [n for n, r in enumerate(results) if isinstance(r, ValidationError)] == [3]
    error = results[3]
    assert isinstance(error, ValidationError)
    assert error.messages == errors_of(codec, raws[3])

"""One codec: what the schema accepts is stored in its canonical dump and read back exactly.

The worker once decoded stored text with a second, hand-written decoder that disagreed with
the schema on a lower-case `z`, and froze scoring. Here every spelling the schema accepts
(lower-case t/z, -00:00, +14:00, any fraction of a second) goes through load -> encode ->
decode and must come back as the validated event.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.contract.events import Event, EventCodec, codec_for, decode_event, utc_key
from shared.contract.methodology import load_methodology
from tests.support.properties import examples

M = load_methodology()
CODEC: EventCodec = codec_for(M.version)
SLUGS = st.from_regex(r"\A[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?\Z")
TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF, exclude_categories=("Cs",)),
               min_size=1, max_size=40)


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    """RFC 3339 timestamps in every spelling the contract allows."""
    moment = draw(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2030, 1, 1)))
    sep = draw(st.sampled_from("Tt"))
    digits = draw(st.integers(0, 9))
    fraction = "" if digits == 0 else "." + "".join(
        draw(st.lists(st.sampled_from("0123456789"), min_size=digits, max_size=digits)))
    hours = draw(st.integers(-12, 14))
    minutes = draw(st.sampled_from([0, 30, 45])) if abs(hours) < 14 else 0
    offset = draw(st.one_of(
        st.sampled_from(["Z", "z", "-00:00", "+00:00"]),
        st.just(f"{'+' if hours >= 0 else '-'}{abs(hours):02d}:{minutes:02d}")))
    return moment.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + fraction + offset


def _number(lo: float, hi: float) -> st.SearchStrategy[float | int]:
    return st.one_of(st.floats(lo, hi, allow_nan=False, allow_infinity=False),
                     st.integers(int(lo), int(hi)))


@st.composite
def indicator_data(draw: st.DrawFn) -> dict[str, Any]:
    code = draw(st.sampled_from(M.observed_indicator_codes()))
    ind = M.indicator(code)
    lo = ind.plausible_min if ind.plausible_min is not None else -1e6
    hi = ind.plausible_max if ind.plausible_max is not None else 1e6
    value = draw(_number(lo, hi).filter(ind.is_plausible))
    return {"indicator": code, "value": value}


@st.composite
def project_data(draw: st.DrawFn) -> dict[str, Any]:
    started = draw(st.dates(min_value=datetime(1990, 1, 1).date(),
                            max_value=datetime(2025, 1, 1).date()))
    data: dict[str, Any] = {
        "project_id": draw(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:-]{0,20}\Z")),
        "name": draw(TEXT), "organization": draw(TEXT),
        "sector": draw(st.sampled_from(M.projects.sectors)),
        "owner": draw(st.sampled_from(M.projects.owners)),
        "stage": draw(st.sampled_from(M.projects.stages)),
        "started_at": started.isoformat(),
    }
    if draw(st.booleans()):
        data["deployed_at"] = draw(st.dates(min_value=started,
                                            max_value=datetime(2026, 1, 1).date())).isoformat()
    return data


city_data = st.fixed_dictionaries({
    "name": TEXT, "country": st.sampled_from(["KR", "SG", "US", "AE", "IN"]), "region": TEXT,
    "population": st.integers(1, 2**53 - 1),
    "lat": _number(-90, 90), "lon": _number(-180, 180),
})


@st.composite
def raw_events(draw: st.DrawFn) -> dict[str, Any]:
    kind, data = draw(st.one_of(
        st.tuples(st.just("indicator.observed"), indicator_data()),
        st.tuples(st.just("project.upserted"), project_data()),
        st.tuples(st.just("project.removed"), project_data().map(
            lambda d: {"project_id": d["project_id"]})),
        st.tuples(st.just("city.upserted"), city_data),
        st.tuples(st.just("index.ticked"), st.dates(
            min_value=datetime(2020, 1, 1).date()).map(lambda d: {"date": d.isoformat()})),
    ))
    raw: dict[str, Any] = {
        "event_id": str(draw(st.uuids())).upper() if draw(st.booleans()) else str(draw(st.uuids())),
        "type": kind, "occurred_at": draw(timestamps()), "data": data,
    }
    if kind != "index.ticked":
        raw["city_id"] = draw(SLUGS)
    return raw


def _same(a: Event, b: Event) -> bool:
    # dataclass equality compares instants; the offset and the LWW key must survive too
    return (a == b and a.occurred_at.utcoffset() == b.occurred_at.utcoffset()
            and a.version == b.version)


@settings(max_examples=examples(400), deadline=None)
@given(raw_events())
def test_decoding_what_is_stored_gives_the_validated_event(raw: dict[str, Any]) -> None:
    event = CODEC.load(raw)
    stored = CODEC.encode(event)
    assert _same(decode_event(stored), event)
    assert _same(CODEC.decode(json.loads(stored)), event)
    # The stored form is itself valid input, and a fixed point of the codec.
    assert _same(CODEC.load(json.loads(stored)), event)
    assert CODEC.encode(CODEC.load(json.loads(stored))) == stored


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(raw_events(), min_size=1, max_size=20))
def test_the_batch_path_stores_what_the_single_path_stores(raws: list[dict[str, Any]]) -> None:
    batch = CODEC.load_many(raws)
    assert [CODEC.encode(e) for e in batch] == [  # type: ignore[arg-type]
        CODEC.encode(CODEC.load(r)) for r in raws]


def test_odd_spellings_store_one_canonical_form() -> None:
    base = {"event_id": "6F1C1C1E-8A4B-4C39-9A55-0D8A3C3B1F00", "type": "indicator.observed",
            "city_id": "seoul", "data": {"indicator": "infra.gpu_pflops", "value": 12}}
    stored = {CODEC.encode(CODEC.load({**base, "occurred_at": at}))
              for at in ("2025-06-29t00:00:00z", "2025-06-29T00:00:00Z",
                         "2025-06-29T00:00:00-00:00", "2025-06-29T00:00:00.000+00:00")}
    assert stored == {
        '{"city_id":"seoul","data":{"indicator":"infra.gpu_pflops","value":12.0},'
        '"event_id":"6f1c1c1e-8a4b-4c39-9a55-0d8a3c3b1f00","occurred_at":'
        '"2025-06-29T00:00:00+00:00","type":"indicator.observed"}'}
    kiritimati = CODEC.load({**base, "occurred_at": "2025-06-30T09:00:00+14:00"})
    assert utc_key(kiritimati.occurred_at) == "2025-06-29T19:00:00.000000Z"
    assert decode_event(CODEC.encode(kiritimati)).occurred_at == datetime(
        2025, 6, 29, 19, tzinfo=UTC)


def test_a_stored_form_the_codec_never_writes_is_refused_not_guessed() -> None:
    bad = {"event_id": "x", "type": "indicator.observed", "city_id": "seoul",
           "occurred_at": "2025-06-29T00:00:00", "data": {"indicator": "a", "value": 1}}
    for broken in (bad, {**bad, "occurred_at": "2025-06-29t00:00:00z"}, {**bad, "type": "x"}):
        try:
            decode_event(broken)
        except (ValueError, KeyError, TypeError):
            continue
        raise AssertionError(f"decoded {broken}")

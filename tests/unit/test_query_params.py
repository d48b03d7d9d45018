"""The one query parser (shared/queries/params.py): moments, numbers, flags, names, weights;
and the OpenAPI document's patterns accept exactly the spellings it accepts."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from services.web.openapi import build_openapi
from shared.contract.methodology import Methodology
from shared.queries import params
from shared.queries.errors import BadQuery
from shared.queries.params import Point

CODES = ("infrastructure", "research", "talent", "adoption", "governance")
NOW = int(datetime(2026, 12, 2, 10, 30, 15, 456_000, tzinfo=UTC).timestamp() * 1000)
SECOND = NOW // 1000 * 1000


def ms(text: str) -> int:
    """Return an ISO time's Unix ms (the test's own reading, by the standard library)."""
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def refused(name: str, text: str, spans: bool = True) -> str:
    """Return the BadQuery message a moment gets (failing if it is accepted)."""
    with pytest.raises(BadQuery) as exc:
        params.moment(name, text, NOW, spans)
    assert exc.value.parameter == name and str(exc.value).startswith(f"{name}: ")
    return str(exc.value)


# ------------------------------------------------------------------ moments


@pytest.mark.parametrize(("text", "point"), [
    ("250", Point("version", 250, "250")),
    ("0", Point("version", 0, "0")),
    ("-0", Point("version", 0, "0")),
    ("007", Point("version", 7, "7")),
    ("9" * 18, Point("version", int("9" * 18), "9" * 18)),
    ("2026-11-20T12:00:00Z", Point("time", ms("2026-11-20T12:00:00+00:00"), "2026-11-20T12:00:00Z")),
    ("2026-11-20t12:00:00z", Point("time", ms("2026-11-20T12:00:00+00:00"), "2026-11-20t12:00:00z")),
    ("2026-11-20T12:00:00.123456789+09:00",
     Point("time", ms("2026-11-20T03:00:00.123+00:00"), "2026-11-20T12:00:00.123456789+09:00")),
    ("2026-11-20T12:00:00-05:30", Point("time", ms("2026-11-20T17:30:00+00:00"),
                                        "2026-11-20T12:00:00-05:30")),
    # a '+' left unescaped in a query string arrives as a space
    ("2026-11-20T12:00:00 09:00", Point("time", ms("2026-11-20T03:00:00+00:00"),
                                        "2026-11-20T12:00:00 09:00")),
    ("2026-11-20 12:00:00Z", Point("time", ms("2026-11-20T12:00:00+00:00"), "2026-11-20 12:00:00Z")),
    # no offset: UTC; no seconds (a browser's datetime-local field): :00
    ("2026-11-20T12:00", Point("time", ms("2026-11-20T12:00:00+00:00"), "2026-11-20T12:00")),
    ("2026-11-20", Point("time", ms("2026-11-20T23:59:59.999+00:00"), "2026-11-20")),
    ("1970-01-01T00:00:00Z", Point("time", 0, "1970-01-01T00:00:00Z")),
])
def test_moments_that_are_read(text: str, point: Point) -> None:
    assert params.moment("as_of", text, NOW, spans=False) == point


@pytest.mark.parametrize(("text", "back_ms"), [
    ("20s", 20_000), ("15m", 900_000), ("24h", 86_400_000), ("7d", 7 * 86_400_000),
    ("0s", 0), ("000000001h", 3_600_000)])
def test_spans_count_back_from_the_second_of_the_clock_reading(text: str, back_ms: int) -> None:
    point = params.moment("since", text, NOW)
    assert point == Point("time", SECOND - back_ms, text)
    assert point.value % 1000 == 0  # to the second: equal within a second, moving after it
    assert params.moment("since", text, SECOND + 999).value == point.value
    assert params.moment("since", text, NOW + 30_000).value == point.value + 30_000


def test_todays_date_is_now_to_the_second_and_the_default_since_is_the_start_of_the_day() -> None:
    assert params.moment("as_of", "2026-12-02", NOW).value == SECOND
    assert params.since_point(None, NOW) == Point("time", ms("2026-12-02T00:00:00+00:00"), "today")
    assert params.since_point("7d", NOW) == params.moment("since", "7d", NOW)


def test_a_time_in_this_very_millisecond_is_not_the_future() -> None:
    text = datetime.fromtimestamp(NOW / 1000, UTC).isoformat(timespec="milliseconds")
    assert params.moment("as_of", text, NOW).value == NOW


@pytest.mark.parametrize("text", [
    "2999-01-01", "2999-01-01T00:00:00Z", "2026-12-03", "2026-12-02T10:30:16Z",
    "2026-12-02T11:30:16+01:00"])
def test_future_moments_are_refused(text: str) -> None:
    assert "future" in refused("as_of", text)


@pytest.mark.parametrize("text", ["1969-12-31T23:59:59Z", "1969-12-31", "1970-01-01T00:30:00+01:00",
                                  "999999999d"])
def test_moments_before_1970_are_refused(text: str) -> None:
    assert "before 1970" in refused("since", text)


@pytest.mark.parametrize("text", [
    "", "bogus", "yesterday", "soon", "now", "today", "NaN", "nan", "inf", "-inf", "Infinity",
    "1.5", "1e3", "0x10", "1_000", "+-1", "--0", "0-", " ", "\t5", "5\n",
    "٣", "١٢", "２０２５", "2026-１1-20",  # Unicode digits are not digits here
    "2026W483", "2026-W48-3", "2026-336", "2026-11-20T10", "2026-11-20T1030",
    "2026-11-20T10:30:00+0900", "2026-11-20T10:30:00+09", "2026-11-20T10:30:00 +09:00",
    "2026-11-20T10:30:00UTC", "2026-11-20T10:30:00.Z", "2026-11-20T10:30:00.1234567890Z",
    "2026-11-20T10:30:00ZZ", "2026-11-20T", "T10:30:00",
    "2026-13-01T00:00:00Z", "2026-02-30", "2026-11-20T24:00:00Z", "2026-11-20T10:60:00Z",
    "2026-11-20T10:30:61Z", "2026-11-20T10:30:00+24:00", "2026-11-20T10:30:00+09:60",
    "0000-01-01", "0000-01-01T00:00:00Z",
    "7D", "7 d", "7days", "1y", "1w", "-7d", "7d ago", "1.5h", "1234567890d",
    "-5", "-1", "-" + "9" * 18,
    "9" * 19, "9" * 4301, "1" * 5000, "٣" * 5000, "a" * 36,
])
def test_anything_else_is_refused_naming_the_parameter(text: str) -> None:
    refused("since", text)
    refused("as_of", text, spans=False)


def test_refusals_say_the_rule() -> None:
    assert "at most 18 digits" in refused("as_of", "9" * 19, spans=False)
    assert "at most 35 characters" in refused("as_of", "9" * 5000, spans=False)
    assert "must not be negative" in refused("as_of", "-5", spans=False)
    assert "RFC 3339" in refused("until", "2026W483")
    assert "span" in refused("until", "1y") and "span" not in refused("as_of", "1y", False)
    assert "not a calendar date" in refused("as_of", "2026-02-30", spans=False)
    assert "not a valid time" in refused("as_of", "2026-11-20T24:00:00Z", spans=False)
    assert refused("as_of", "7d", spans=False).startswith("as_of: must be an RFC 3339 time")


# ------------------------------------------------------------------ numbers, flags, names


@pytest.mark.parametrize(("text", "value"), [(None, None), ("", None), ("5", 5), ("-0", 0),
                                             ("0005", 5), (" 7 ", 7), ("100000", 100_000)])
def test_whole_numbers(text: str | None, value: int | None) -> None:
    assert params.whole_number("limit", text, None, 0, 100_000) == value


@pytest.mark.parametrize("text", ["x", "1.0", "1e3", "-1", "100001", "٣", "２", "1_000", "0x1",
                                  "NaN", "inf", "9" * 19, "9" * 5000, "+-1"])
def test_bad_whole_numbers_are_refused(text: str) -> None:
    with pytest.raises(BadQuery, match=r"^limit: must be a whole number from 0 to 100000"):
        params.whole_number("limit", text, None, 0, 100_000)


def test_flags() -> None:
    for text, value in ((None, False), ("", False), ("false", False), ("0", False),
                        ("FALSE", False), ("true", True), ("1", True), ("True", True)):
        assert params.flag("fresh", text) is value
    for text in ("maybe", "yes", "2", "١", "truee", "t"):
        with pytest.raises(BadQuery, match=r"^fresh: must be true or false"):
            params.flag("fresh", text)


def test_choices_are_exact() -> None:
    assert params.choice("pillar", "talent", CODES) == "talent"
    assert params.choice("pillar", "", CODES) is None and params.choice("pillar", None, CODES) is None
    for text in ("bogus", "Talent", " talent", "talent,research"):
        with pytest.raises(BadQuery, match=r"^pillar: must be one of infrastructure, research"):
            params.choice("pillar", text, CODES)


# ------------------------------------------------------------------ weights


def test_weights_are_read_as_given() -> None:
    w = params.weights("infrastructure:20,research:15,talent:15,adoption:35,governance:15", CODES)
    assert w == {"infrastructure": 20.0, "research": 15.0, "talent": 15.0, "adoption": 35.0,
                 "governance": 15.0}
    assert params.weights("research:1, talent:3", CODES) == {
        "infrastructure": 0.0, "research": 1.0, "talent": 3.0, "adoption": 0.0, "governance": 0.0}
    assert params.weights("research:.5,talent:2.", CODES)["research"] == 0.5


def test_minus_zero_weighs_a_plain_zero() -> None:
    w = params.weights("research:-0,talent:1", CODES)
    assert w["research"] == 0.0 and str(w["research"]) == "0.0"


@pytest.mark.parametrize("raw", [
    "cooking:10", "foo:1", "research:-1", "research:x", "research", "research:0,talent:0", "",
    "research:nan", "research:inf", "research:-inf", "research:1e3", "research:١", "research:２",
    "research:1_0", "research:0x1", "research:1,research:2", "research:1,", ",research:1",
    "research:1:2", ":", ",", "research:1000001", "research:" + "9" * 5000, "Research:1",
    "research:" + "1" * 4301])
def test_bad_weights_are_refused_naming_the_parameter(raw: str) -> None:
    with pytest.raises(BadQuery, match=r"^weights: "):
        params.weights(raw, CODES)


# ------------------------------------------------------------------ stream ids


def test_stream_ids() -> None:
    assert params.stream_id("1700000000000-3") == (1700000000000, 3)
    assert params.stream_id("1700000000000") == (1700000000000, 0)
    for text in ("", "x", "١-1", "1-", "-1", "1-2-3", "9" * 5000, "1.5-0"):
        assert params.stream_id(text) is None


# ------------------------------------------------------------------ the OpenAPI document


def _parameters(doc: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p["schema"] for p in doc["paths"][path]["get"]["parameters"]}


ACCEPTED = ["250", "-0", "2026-11-20T12:00:00Z", "2026-11-20t12:00z", "2026-11-20",
            "2026-11-20T12:00:00.5+09:00", "2026-11-20T12:00:00 09:00"]
SPANS = ["20s", "15m", "24h", "7d"]
REFUSED = ["bogus", "-5", "٣", "２０２５", "2026W483", "2026-11-20T10", "7D", "9" * 19,
           "2026-11-20T10:30:00+0900", "1e3", "", "1.5"]


def test_the_documents_moment_patterns_match_the_parser(methodology: Methodology) -> None:
    doc = build_openapi(methodology)
    rankings = _parameters(doc, "/api/v1/rankings")
    explain = _parameters(doc, "/api/v1/cities/{city_id}/explain")
    for schema, spans in ((rankings["as_of"], False), (rankings["since"], True),
                          (explain["since"], True), (explain["until"], True),
                          (_parameters(doc, "/api/v1/cities/{city_id}")["as_of"], False)):
        assert schema["maxLength"] == params.MOMENT_MAX_CHARS
        pattern = re.compile(schema["pattern"])
        for text in ACCEPTED + (SPANS if spans else []):
            assert pattern.search(text), (schema, text)
            params.moment("since" if spans else "as_of", text, NOW, spans)
        for text in REFUSED + ([] if spans else SPANS):
            assert not pattern.search(text), (schema, text)


def test_the_documents_weights_pattern_matches_the_parser(methodology: Methodology) -> None:
    codes = [p.code for p in methodology.pillars]
    pattern = re.compile(_parameters(build_openapi(methodology), "/api/v1/rankings")["weights"]
                         ["pattern"])
    for raw in ("research:1, talent:3", "research:-0,talent:1", "research:.5,talent:2."):
        assert pattern.search(raw)
        params.weights(raw, codes)
    for raw in ("foo:1", "research:1e3", "research:١", "research:1,", "research:nan", ""):
        assert not pattern.search(raw), raw

"""Query parameters: the one parser of moments, numbers, flags, names and weights.

Every view (pages, CSV, JSON API) reads its query string through these functions, so a
spelling is accepted or refused the same way everywhere; a refusal is a BadQuery naming the
parameter and the rule, which the web answers with a 400 once (services/web/app.py).

The rules, shared with the OpenAPI document (its patterns are built from the same regexes):

- digits are ASCII only ('١' or '２' are not numbers);
- a ranking version is at most 18 digits (no 4,300-digit int() to trip over); '-0' is 0;
- a time is RFC 3339 (`2026-11-20T12:00:00Z`, `...+09:00`; offsets need the colon;
  without an offset: UTC; seconds may be left out, as a browser's date-time field does),
  or a bare date (the end of that UTC day); nothing else (no week dates, no `T10`);
- a span (`since`, `until`) is a whole number of s, m, h or d (`20s`, `15m`, `24h`, `7d`),
  counted back from the request's clock reading truncated to the second, so a span resolves
  to a whole second and a response (and its ETag) moves with it;
- a moment in the future, or before 1970, is refused.

Pure: the clock reading is passed in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from datetime import time as clock_time
from typing import TypeVar

from shared.contract.events import SLUG_RE
from shared.domain.history_rules import UNIT_MS
from shared.queries.errors import BadQuery

MAX_VERSION_DIGITS = 18  # below 2**63: Redis scores and int64 both hold it
MAX_INT_DIGITS = 18
MAX_SPAN_DIGITS = 9
MAX_WEIGHT = 1e6  # a weight above this is a typo, not a preference

# Regex bodies (unanchored, ECMA-262 and Python alike): Python full-matches them, the
# OpenAPI document anchors them (services/web/openapi.py).
VERSION = rf"-0{{1,{MAX_VERSION_DIGITS}}}|[0-9]{{1,{MAX_VERSION_DIGITS}}}"
DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
# A '+' left unescaped in a query string arrives as a space: ' 09:00' is '+09:00'.
TIME = (r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
        r"(?:[Zz]|[+ -][0-9]{2}:[0-9]{2})?")
SPAN = rf"[0-9]{{1,{MAX_SPAN_DIGITS}}}[smhd]"
INTEGER = rf"-?[0-9]{{1,{MAX_INT_DIGITS}}}"
NUMBER = r"-?(?:[0-9]{1,7}(?:\.[0-9]{0,9})?|\.[0-9]{1,9})"
MOMENT_MAX_CHARS = 35  # the longest TIME: date, T, hh:mm:ss.fffffffff, +hh:mm

_VERSION = re.compile(VERSION)
_NEGATIVE = re.compile(rf"-[0-9]{{1,{MAX_VERSION_DIGITS}}}")
_DIGITS = re.compile(r"[0-9]+")
_DATE = re.compile(DATE)
_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2})"
                   r"(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?(?:([Zz])|([+ -])([0-9]{2}):([0-9]{2}))?")
_SPAN = re.compile(rf"([0-9]{{1,{MAX_SPAN_DIGITS}}})([smhd])")
_INTEGER = re.compile(INTEGER)
_NUMBER = re.compile(NUMBER)
_STREAM_ID = re.compile(r"([0-9]{1,15})(?:-([0-9]{1,15}))?")
_D = TypeVar("_D", int, None)


def moment_pattern(spans: bool) -> str:
    """Return the anchored pattern of a moment (as_of: spans=False; since, until: True)."""
    kinds = [VERSION, TIME, DATE] + ([SPAN] if spans else [])
    return "^(?:" + "|".join(f"(?:{k})" for k in kinds) + ")$"


def weights_pattern(codes: Sequence[str]) -> str:
    """Return the anchored pattern of a weights= value for these pillar codes."""
    pair = rf" *(?:{'|'.join(map(re.escape, codes))}) *: *(?:{NUMBER}) *"
    return f"^{pair}(?:,{pair})*$"


@dataclass(frozen=True)
class Point:
    """A requested moment: a ranking version, or an instant in Unix ms."""

    kind: str  # "version" or "time"
    value: int  # ranking version or Unix ms
    text: str  # as asked ("today" for the default since)


def start_of_day(now_ms: int) -> int:
    """Return the start of the current UTC day in ms."""
    return now_ms // UNIT_MS["d"] * UNIT_MS["d"]


def since_point(text: str | None, now_ms: int) -> Point:
    """Parse since= (see moment); without one, the start of the current UTC day."""
    if text is None:
        return Point("time", start_of_day(now_ms), "today")
    return moment("since", text, now_ms)


def moment(name: str, text: str, now_ms: int, spans: bool = True) -> Point:
    """Parse a moment: a ranking version, an RFC 3339 time (no offset: UTC), a bare date
    (the end of that UTC day, or now if that is later) or, if spans, a span back from now
    such as 20s, 90m, 24h or 7d."""
    raw = text.strip(" ")
    if len(raw) > MOMENT_MAX_CHARS:
        raise BadQuery(name, f"must be at most {MOMENT_MAX_CHARS} characters long: "
                             + _kinds(spans))
    if _VERSION.fullmatch(raw):
        return Point("version", int(raw), str(int(raw)))
    if _NEGATIVE.fullmatch(raw):
        raise BadQuery(name, "a ranking version must not be negative")
    if _DIGITS.fullmatch(raw):
        raise BadQuery(name, f"a ranking version has at most {MAX_VERSION_DIGITS} digits")
    second = now_ms // 1000 * 1000  # spans and clamps resolve to whole seconds
    if spans and (found := _SPAN.fullmatch(raw)):
        return _checked(name, raw, second - int(found.group(1)) * UNIT_MS[found.group(2)],
                        now_ms)
    if _DATE.fullmatch(raw):
        try:
            day = date(int(raw[:4]), int(raw[5:7]), int(raw[8:10]))
        except ValueError:
            raise BadQuery(name, f"{raw} is not a calendar date") from None
        start = _ms(datetime.combine(day, clock_time.min, UTC))
        end = _ms(datetime.combine(day, clock_time.max, UTC))
        return _checked(name, raw, start, now_ms, at=min(end, second))
    if found := _TIME.fullmatch(raw):
        return _checked(name, raw, _time_ms(name, raw, found), now_ms)
    raise BadQuery(name, "must be " + _kinds(spans))


def _kinds(spans: bool) -> str:
    return ("an RFC 3339 time (2026-11-20T12:00:00Z), a date (2026-11-20), a ranking version"
            + (" or a span back from now (20s, 15m, 24h, 7d)" if spans else ""))


def _time_ms(name: str, raw: str, found: re.Match[str]) -> int:
    y, mo, d, h, mi, s, frac, zulu, sign, oh, om = found.groups()
    try:
        offset = UTC
        if sign is not None:
            delta = timedelta(hours=int(oh), minutes=int(om))
            if int(oh) > 23 or int(om) > 59:
                raise ValueError("offset out of range")
            offset = timezone(-delta if sign == "-" else delta)
        micro = int((frac or "0").ljust(6, "0")[:6])
        at = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), micro, offset)
    except ValueError:
        raise BadQuery(name, f"{raw} is not a valid time (RFC 3339: month 01-12, day of the "
                             "month, hour 00-23, minute and second 00-59, offset "
                             "-23:59 to +23:59)") from None
    return _ms(at)


def _ms(at: datetime) -> int:
    delta = at - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _checked(name: str, raw: str, start: int, now_ms: int, at: int | None = None) -> Point:
    """Refuse a moment that starts before 1970 or after now; return it (at, if given)."""
    if start < 0:
        raise BadQuery(name, f"{raw} is before 1970")
    if start > now_ms:
        raise BadQuery(name, f"{raw} is in the future (the index cannot say what it will be)")
    return Point("time", start if at is None else at, raw)


def whole_number(name: str, text: str | None, default: _D, lo: int, hi: int) -> int | _D:
    """Parse a whole number in [lo, hi] ('-0' is 0); empty or missing: the default."""
    if text is None or text.strip(" ") == "":
        return default
    raw = text.strip(" ")
    if not _INTEGER.fullmatch(raw):
        raise BadQuery(name, f"must be a whole number from {lo} to {hi} (ASCII digits)")
    value = int(raw)
    if not lo <= value <= hi:
        raise BadQuery(name, f"must be a whole number from {lo} to {hi}")
    return value


def flag(name: str, text: str | None) -> bool:
    """Parse a boolean: true or 1, false or 0 (any case); empty or missing: false."""
    raw = (text or "").strip(" ").lower()
    if raw in ("", "false", "0"):
        return False
    if raw in ("true", "1"):
        return True
    raise BadQuery(name, "must be true or false (or 1 or 0)")


def choice(name: str, text: str | None, options: Sequence[str]) -> str | None:
    """Return one of the options (exact spelling); empty or missing: None."""
    if text is None or text == "":
        return None
    if text not in options:
        raise BadQuery(name, f"must be one of {', '.join(options)}")
    return text


def city_slug(name: str, text: str | None) -> str | None:
    """Return a city id as events spell it (a lowercase slug); empty or missing: None."""
    if text is None or text == "":
        return None
    if not SLUG_RE.match(text):
        raise BadQuery(name, "must be a city id: a lowercase slug (a-z, 0-9 and inner "
                             "hyphens, at most 64)")
    return text


def weights(text: str, codes: Sequence[str]) -> dict[str, float]:
    """Parse `code:number,...` into each pillar's weight as given (0 for a pillar not named).

    Numbers are plain decimals from 0 to MAX_WEIGHT ('-0' is 0; no signs, exponents, NaN
    or infinities); unknown or repeated pillars, an empty part and an all-zero set are
    refused.
    """
    given: dict[str, float] = {}
    if len(text) > 64 * max(1, len(codes)):
        raise BadQuery("weights", "is too long to be one pillar:number pair per pillar")
    for part in text.split(","):
        code, sep, number = (s.strip(" ") for s in part.partition(":"))
        if not sep:
            raise BadQuery("weights", f"{part.strip(' ')!r} is not pillar:number")
        if code not in codes:
            raise BadQuery("weights", f"unknown pillar {code!r}; pillars are {', '.join(codes)}")
        if code in given:
            raise BadQuery("weights", f"pillar {code!r} given twice")
        if not _NUMBER.fullmatch(number):
            raise BadQuery("weights", f"{number!r} is not a plain decimal number (ASCII "
                                      "digits, no exponent)")
        value = float(number) + 0.0  # -0.0 + 0.0 is 0.0
        if not math.isfinite(value) or value < 0 or value > MAX_WEIGHT:
            raise BadQuery("weights", f"{code} must be a number from 0 to {MAX_WEIGHT:g}")
        given[code] = value
    if sum(given.values()) <= 0:
        raise BadQuery("weights", "at least one pillar must weigh more than 0")
    return {c: given.get(c, 0.0) for c in codes}


def stream_id(text: str) -> tuple[int, int] | None:
    """Return a stream id ('<ms>-<seq>' or '<ms>', ASCII digits) as a sortable pair, or None."""
    found = _STREAM_ID.fullmatch(text)
    if found is None:
        return None
    return int(found.group(1)), int(found.group(2) or 0)

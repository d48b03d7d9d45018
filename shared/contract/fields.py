"""The marshmallow fields of the event schemas: strict JSON types and RFC 3339 times."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Any

from marshmallow import fields, types, validate

# RFC 3339 date-time (section 5.6); the offset is optional here only so that a naive
# timestamp gets its own, clearer message.
RFC3339_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?P<offset>[Zz]|[+-]\d{2}:\d{2})?\Z"
)
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class FiniteNumber(fields.Field[float]):
    """A JSON number (not a string or bool) that is finite."""

    default_error_messages: types.ErrorMessages = {  # noqa: RUF012 - marshmallow's hook
        "invalid": "must be a number",
        "not_finite": "must be a finite number (NaN and Infinity are not allowed)",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        try:
            number = float(value)  # a huge JSON integer overflows here
        except OverflowError as exc:
            raise self.make_error("not_finite") from exc
        if not math.isfinite(number):
            raise self.make_error("not_finite")
        return number


class StrictInteger(fields.Field[int]):
    """A JSON integer (not a string, bool or float)."""

    default_error_messages: types.ErrorMessages = {  # noqa: RUF012 - marshmallow's hook
        "invalid": "must be an integer",
        "too_large": "must be an integer below 2**53",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise self.make_error("invalid")
        if abs(value) >= 2**53:  # beyond what JSON consumers read exactly
            raise self.make_error("too_large")
        return int(value)


class StrictString(fields.String):
    default_error_messages: types.ErrorMessages = {  # noqa: RUF012 - marshmallow's hook
        "invalid": "must be a string"
    }


class OffsetDateTime(fields.Field[datetime]):
    """An RFC 3339 timestamp that carries a UTC offset."""

    default_error_messages: types.ErrorMessages = {  # noqa: RUF012 - marshmallow's hook
        "invalid": "must be an RFC 3339 timestamp, e.g. 2025-06-30T12:00:00+09:00",
        "naive": "must carry a UTC offset (Z or +hh:mm); naive timestamps are ambiguous",
        "too_early": "must not be before 1970-01-01T00:00:00Z",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        # datetime.fromisoformat alone also takes ISO 8601 forms that RFC 3339 does not
        # (basic format, week dates, hour-only times, comma fractions, "+0900").
        match = RFC3339_RE.match(value) if isinstance(value, str) else None
        if match is None:
            raise self.make_error("invalid")
        if match.group("offset") is None:
            raise self.make_error("naive")
        try:
            parsed = datetime.fromisoformat(value.upper())
            instant = parsed.astimezone(UTC)  # outside datetime's range: cannot be ordered
        except (ValueError, OverflowError) as exc:
            raise self.make_error("invalid") from exc
        if instant < EPOCH:
            raise self.make_error("too_early")
        return parsed

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else value.isoformat()


class IsoDate(fields.Date):
    """A calendar date written YYYY-MM-DD (not the other ISO 8601 forms)."""

    default_error_messages: types.ErrorMessages = {  # noqa: RUF012 - marshmallow's hook
        "invalid": "must be an ISO date (YYYY-MM-DD)"
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        if not isinstance(value, str) or not ISO_DATE_RE.match(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def text(max_length: int) -> StrictString:
    return StrictString(
        required=True,
        validate=validate.Length(min=1, max=max_length, error="must be 1 to {max} characters"),
    )


def one_of(choices: tuple[str, ...]) -> validate.OneOf:
    return validate.OneOf(choices, error="must be one of: {choices}")

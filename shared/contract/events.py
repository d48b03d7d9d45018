"""Events of the ingest contract: one frozen dataclass and one marshmallow schema each.

The same schemas validate at ingest and (de)serialise messages and the event log, so
what was accepted is exactly what the workers and a replay read back.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import pycountry
from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from shared.contract.fields import (
    FiniteNumber,
    IsoDate,
    OffsetDateTime,
    StrictInteger,
    StrictString,
    one_of,
    text,
)
from shared.contract.jsonfast import canonical
from shared.contract.jsonfast import loads as json_loads
from shared.contract.methodology import Methodology, load_methodology

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\Z")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
PROJECT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")
COUNTRY_CODES = frozenset(c.alpha_2 for c in pycountry.countries)

CITY_UPSERTED = "city.upserted"
INDICATOR_OBSERVED = "indicator.observed"
PROJECT_UPSERTED = "project.upserted"
PROJECT_REMOVED = "project.removed"
INDEX_TICKED = "index.ticked"
CITY_EVENT_TYPES = (CITY_UPSERTED, INDICATOR_OBSERVED, PROJECT_UPSERTED, PROJECT_REMOVED)
EVENT_TYPES = CITY_EVENT_TYPES + (INDEX_TICKED,)


# ------------------------------------------------------------------ dataclasses


@dataclass(frozen=True)
class CityUpserted:
    name: str
    country: str
    region: str
    population: int
    lat: float
    lon: float


@dataclass(frozen=True)
class IndicatorObserved:
    indicator: str
    value: float


@dataclass(frozen=True)
class ProjectUpserted:
    project_id: str
    name: str
    organization: str
    sector: str
    owner: str
    stage: str
    started_at: date
    deployed_at: date | None = None


@dataclass(frozen=True)
class ProjectRemoved:
    project_id: str


@dataclass(frozen=True)
class IndexTicked:
    date: date


EventData = CityUpserted | IndicatorObserved | ProjectUpserted | ProjectRemoved | IndexTicked


@dataclass(frozen=True)
class Event:
    event_id: str
    type: str
    city_id: str | None
    occurred_at: datetime
    data: EventData

    @property
    def version(self) -> tuple[str, str]:
        """Return the last-writer-wins key: UTC instant, then event id."""
        return (utc_key(self.occurred_at), self.event_id)


TICK_NAMESPACE = uuid.UUID("0c4a3f7e-6b8e-4d0a-9a53-1f0f2d9b7c11")


def daily_tick(day: date) -> Event:
    """Return the index.ticked event for a day; its id is fixed, so ticking twice is a duplicate."""
    return Event(
        event_id=str(uuid.uuid5(TICK_NAMESPACE, day.isoformat())), type=INDEX_TICKED,
        city_id=None, occurred_at=datetime(day.year, day.month, day.day, tzinfo=UTC),
        data=IndexTicked(day),
    )


def utc_key(moment: datetime) -> str:
    """Return a fixed-width UTC string that sorts as the instant does."""
    # isoformat() always pads the year to four digits; strftime("%Y") does not on
    # glibc, which made years before 1000 sort after later ones.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


# ------------------------------------------------------------------ schemas


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def _check_country(value: str) -> None:
    if value not in COUNTRY_CODES:
        raise ValidationError("must be an ISO 3166-1 alpha-2 code in capitals, e.g. SG")


class CityUpsertedSchema(_Strict):
    name = text(200)
    country = StrictString(required=True, validate=_check_country)
    region = text(64)
    population = StrictInteger(
        required=True, validate=validate.Range(min=1, error="must be a positive integer")
    )
    lat = FiniteNumber(
        required=True, validate=validate.Range(-90, 90, error="must be between -90 and 90")
    )
    lon = FiniteNumber(
        required=True, validate=validate.Range(-180, 180, error="must be between -180 and 180")
    )


class ProjectRemovedSchema(_Strict):
    project_id = StrictString(
        required=True,
        validate=validate.Regexp(PROJECT_ID_RE, error="must be 1-128 of A-Z a-z 0-9 . _ : -"),
    )


class IndexTickedSchema(_Strict):
    date = IsoDate(required=True)


def _indicator_schema(methodology: Methodology) -> type[Schema]:
    codes = methodology.observed_indicator_codes()

    class IndicatorObservedSchema(_Strict):
        indicator = StrictString(
            required=True,
            validate=validate.OneOf(
                codes, error=f"must be an indicator code of methodology {methodology.version}"
                " (see /api/v1/methodology)",
            ),
        )
        value = FiniteNumber(required=True)

        # Runs even when another field failed (an unknown key, say), so that an
        # implausible value is still named; it needs a valid code and a finite value.
        # Once per batch when loading many (a per-item hook costs a call through inspect
        # per event); any error there sends EventCodec.load_many item by item to load().
        @validates_schema(pass_collection=True, skip_on_field_errors=False)
        def _value_is_plausible(self, data: Any, many: bool, **kwargs: Any) -> None:
            for item in data if many else (data,):
                code, value = item.get("indicator"), item.get("value")
                if code not in codes or value is None:
                    continue
                ind = methodology.indicator(code)
                if not ind.is_plausible(value):
                    raise ValidationError(
                        f"must be {ind.plausible_rule()} ({ind.unit}) for {code}", "value"
                    )

    return IndicatorObservedSchema


def _project_schema(methodology: Methodology) -> type[Schema]:
    vocab = methodology.projects

    class ProjectUpsertedSchema(ProjectRemovedSchema):
        name = text(300)
        organization = text(200)
        sector = StrictString(required=True, validate=one_of(vocab.sectors))
        owner = StrictString(required=True, validate=one_of(vocab.owners))
        stage = StrictString(required=True, validate=one_of(vocab.stages))
        started_at = IsoDate(required=True)
        deployed_at = IsoDate(load_default=None, allow_none=True)

        @validates_schema
        def _dates_in_order(self, data: dict[str, Any], **kwargs: Any) -> None:
            deployed = data.get("deployed_at")
            if deployed is not None and deployed < data["started_at"]:
                raise ValidationError("must not be before started_at", "deployed_at")

    return ProjectUpsertedSchema


class EnvelopeSchema(_Strict):
    event_id = StrictString(
        required=True, validate=validate.Regexp(UUID_RE, error="must be a UUID")
    )
    type = StrictString(required=True, validate=one_of(EVENT_TYPES))
    city_id = StrictString(
        load_default=None,
        validate=validate.Regexp(
            SLUG_RE, error="must be a lowercase slug: a-z, 0-9 and inner hyphens, at most 64"
        ),
    )
    occurred_at = OffsetDateTime(required=True)
    data = fields.Dict(required=True, error_messages={"invalid": "must be a JSON object"})


def _field_messages(exc: ValidationError) -> dict[str, Any]:
    """Return the error's messages keyed by field (marshmallow's normalized_messages)."""
    if exc.field_name == "_schema" and isinstance(exc.messages, dict):
        return dict(exc.messages)
    return {exc.field_name: exc.messages}


class EventCodec:
    """Validate raw JSON events into Event objects and dump them back, for one methodology."""

    def __init__(self, methodology: Methodology) -> None:
        self.methodology = methodology
        self._envelope = EnvelopeSchema()
        self._data: dict[str, Schema] = {
            name: kind.schema(methodology)() for name, kind in EVENT_KINDS.items()}

    def data_schemas(self) -> dict[str, Schema]:
        """Return the schema of each event type's `data` (the ones load() validates with)."""
        return dict(self._data)

    def load(self, raw: Any) -> Event:
        """Validate one raw event; raise ValidationError whose messages name each field."""
        if not isinstance(raw, dict):
            raise ValidationError({"_schema": ["each event must be a JSON object"]})
        errors: dict[str, Any] = {}
        try:
            env = self._envelope.load(raw)
        except ValidationError as exc:
            errors = _field_messages(exc)
            env = None
        kind = raw.get("type")
        data_schema = self._data.get(kind) if isinstance(kind, str) else None
        data: dict[str, Any] | None = None
        if data_schema is not None and isinstance(raw.get("data"), dict):
            try:
                data = data_schema.load(raw["data"])
            except ValidationError as exc:
                errors["data"] = _field_messages(exc)
        if env is not None and not errors:
            if kind == INDEX_TICKED and env["city_id"] is not None:
                errors["city_id"] = ["must be absent for index.ticked (it applies to every city)"]
            elif kind != INDEX_TICKED and env["city_id"] is None:
                errors["city_id"] = ["Missing data for required field."]
        if errors or env is None or data is None:
            raise ValidationError(errors)
        kind = env["type"]  # validated: one of EVENT_TYPES
        payload = EVENT_KINDS[kind].data(**data)
        return Event(
            event_id=env["event_id"].lower(), type=kind, city_id=env["city_id"],
            occurred_at=env["occurred_at"], data=payload,
        )

    def load_many(self, raws: list[Any]) -> list[Event | ValidationError]:
        """Validate a batch; each item gives an Event or the ValidationError of load().

        The all-valid batch (the common case) is validated with many=True schemas, which
        costs a third less per event; any error falls back to load() item by item, so the
        results are exactly load()'s.
        """
        try:
            return list(self._load_all_valid(raws))
        except ValidationError:
            pass
        out: list[Event | ValidationError] = []
        for raw in raws:
            try:
                out.append(self.load(raw))
            except ValidationError as exc:
                out.append(exc)
        return out

    def _load_all_valid(self, raws: list[Any]) -> list[Event]:
        if not all(isinstance(r, dict) for r in raws):
            raise ValidationError("not all objects")
        envs = self._envelope.load(raws, many=True)
        by_type: dict[str, list[int]] = {}
        for n, env in enumerate(envs):
            tick = env["type"] == INDEX_TICKED
            if tick == (env["city_id"] is not None):
                raise ValidationError("city_id rule")
            by_type.setdefault(env["type"], []).append(n)
        payloads: list[Any] = [None] * len(raws)
        for kind, indexes in by_type.items():
            loaded = self._data[kind].load([envs[n]["data"] for n in indexes], many=True)
            cls = EVENT_KINDS[kind].data
            for n, data in zip(indexes, loaded):
                payloads[n] = cls(**data)
        return [
            Event(event_id=env["event_id"].lower(), type=env["type"], city_id=env["city_id"],
                  occurred_at=env["occurred_at"], data=payload)
            for env, payload in zip(envs, payloads)
        ]

    def dump(self, event: Event) -> dict[str, Any]:
        """Return the event in its canonical form: the JSON object of the ingest contract.

        Normalised (lower-case event id, `occurred_at` as Python writes it, upper-case `T`,
        `+00:00` for `Z`/`-00:00`, microseconds), so that decode() is its exact inverse.
        """
        return dump_event(event)

    def decode(self, stored: str | bytes | dict[str, Any]) -> Event:
        """Rebuild an event from its canonical form (the exact inverse of dump())."""
        return decode_event(stored)

    def encode(self, event: Event) -> str:
        """Return the canonical JSON text stored for an event (dump, keys sorted)."""
        return canonical(dump_event(event))


def dump_event(event: Event) -> dict[str, Any]:
    """Return an event in its canonical JSON-ready form (see EventCodec.dump)."""
    data: dict[str, Any] = {}
    for key, value in event.data.__dict__.items():
        if isinstance(value, date):
            value = value.isoformat()
        if value is None and key == "deployed_at":
            continue
        data[key] = value
    out: dict[str, Any] = {
        "event_id": event.event_id,
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat(),
        "data": data,
    }
    if event.city_id is not None:
        out["city_id"] = event.city_id
    return out


def _decode_indicator(d: dict[str, Any]) -> IndicatorObserved:
    return IndicatorObserved(d["indicator"], float(d["value"]))


def _decode_project(d: dict[str, Any]) -> ProjectUpserted:
    deployed = d.get("deployed_at")
    return ProjectUpserted(
        d["project_id"], d["name"], d["organization"], d["sector"], d["owner"], d["stage"],
        date.fromisoformat(d["started_at"]),
        None if deployed is None else date.fromisoformat(deployed),
    )


def _decode_city(d: dict[str, Any]) -> CityUpserted:
    return CityUpserted(d["name"], d["country"], d["region"], int(d["population"]),
                        float(d["lat"]), float(d["lon"]))


@dataclass(frozen=True)
class EventKind:
    """Everything the contract says about one event type, in one place.

    A new event type is one entry here (with its data class, schema and decoder above),
    its rule in shared/domain/state.py (how it folds into a city's state), where it is kept in that
    state for the append step (shared/store/events_log.py) and its section in docs/api.md.
    """

    name: str
    data: type[EventData]
    schema: Callable[[Methodology], type[Schema]]  # validates `data` under a methodology
    decode: Callable[[dict[str, Any]], EventData]  # the canonical stored form, unvalidated
    moves_score: bool  # can change a city's score (the review gate judges these)

    @property
    def component(self) -> str:
        """Return the OpenAPI component name of the data schema (the data class's name)."""
        return self.data.__name__


def _fixed(schema: type[Schema]) -> Callable[[Methodology], type[Schema]]:
    return lambda methodology: schema


EVENT_KINDS: dict[str, EventKind] = {kind.name: kind for kind in (
    EventKind(CITY_UPSERTED, CityUpserted, _fixed(CityUpsertedSchema), _decode_city, False),
    EventKind(INDICATOR_OBSERVED, IndicatorObserved, _indicator_schema, _decode_indicator,
              True),
    EventKind(PROJECT_UPSERTED, ProjectUpserted, _project_schema, _decode_project, True),
    EventKind(PROJECT_REMOVED, ProjectRemoved, _fixed(ProjectRemovedSchema),
              lambda d: ProjectRemoved(d["project_id"]), True),
    EventKind(INDEX_TICKED, IndexTicked, _fixed(IndexTickedSchema),
              lambda d: IndexTicked(date.fromisoformat(d["date"])), False),
)}
assert tuple(EVENT_KINDS) == EVENT_TYPES
SCORE_MOVING = frozenset(name for name, kind in EVENT_KINDS.items() if kind.moves_score)


def _decode_data(kind: str, d: dict[str, Any]) -> EventData:
    found = EVENT_KINDS.get(kind)
    if found is None:
        raise ValueError(f"unknown event type {kind!r}")
    return found.decode(d)


def decode_event(stored: str | bytes | dict[str, Any]) -> Event:
    """Rebuild an event from dump_event()'s output or its JSON text (the exact inverse).

    Only canonical forms written by dump_event() are read here; anything else raises
    (ValueError, KeyError or TypeError) and the caller dead-letters it.
    """
    raw = stored if isinstance(stored, dict) else json_loads(stored)
    occurred = datetime.fromisoformat(raw["occurred_at"])
    if occurred.tzinfo is None:
        raise ValueError("occurred_at: stored without an offset")
    return Event(
        event_id=raw["event_id"], type=raw["type"], city_id=raw.get("city_id"),
        occurred_at=occurred, data=_decode_data(raw["type"], raw["data"]),
    )


@lru_cache(maxsize=8)
def codec_for(version: str) -> EventCodec:
    """Return the (cached) codec of a methodology version."""
    return EventCodec(load_methodology(version))


__all__ = [
    "CITY_EVENT_TYPES",
    "CITY_UPSERTED",
    "EVENT_TYPES",
    "EXCLUDE",
    "INDEX_TICKED",
    "INDICATOR_OBSERVED",
    "PROJECT_REMOVED",
    "PROJECT_UPSERTED",
    "CityUpserted",
    "Event",
    "EVENT_KINDS",
    "SCORE_MOVING",
    "EventCodec",
    "EventData",
    "EventKind",
    "IndexTicked",
    "IndicatorObserved",
    "ProjectRemoved",
    "ProjectUpserted",
    "codec_for",
    "decode_event",
    "dump_event",
    "utc_key",
]

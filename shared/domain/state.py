"""A city's stored state and the last-writer-wins rules that build it from events.

Per (city, indicator), per project and for the city profile, the event with the later
occurred_at wins, ties broken by event_id. The merge is commutative, associative and
idempotent, so any order of the same events, with any duplicates, gives the same state.
State is plain JSON-ready data so that it can be stored and read back exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from shared.contract.events import (
    CITY_UPSERTED,
    INDICATOR_OBSERVED,
    PROJECT_REMOVED,
    PROJECT_UPSERTED,
    CityUpserted,
    Event,
    IndexTicked,
    IndicatorObserved,
    ProjectRemoved,
    ProjectUpserted,
)
from shared.domain.records import EntryVersion, state_entry

APPLIED = "applied"
SUPERSEDED = "superseded"


@dataclass
class CityState:
    """Everything scoring needs about one city, each entry tagged with its winning version."""

    city_id: str
    profile: dict[str, Any] | None = None
    indicators: dict[str, dict[str, Any]] = field(default_factory=dict)
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the state as JSON-ready data."""
        return {
            "city_id": self.city_id,
            "profile": self.profile,
            "indicators": self.indicators,
            "projects": self.projects,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CityState:
        """Rebuild a state from to_dict() output."""
        return cls(
            city_id=raw["city_id"],
            profile=raw.get("profile"),
            indicators=raw.get("indicators", {}),
            projects=raw.get("projects", {}),
        )


@dataclass(frozen=True)
class Outcome:
    """What applying one event did: applied or superseded, and whose entry it displaced."""

    status: str
    displaced: str | None = None  # event id of the entry this event replaced


def _merge(slot: dict[str, Any], key: str, entry: dict[str, Any]) -> Outcome:
    current = slot.get(key)
    old = None if current is None else EntryVersion.of(current)
    if old is not None and old >= EntryVersion.of(entry):
        return Outcome(SUPERSEDED)
    slot[key] = entry
    return Outcome(APPLIED, None if old is None else old.event_id)


def apply_event(state: CityState, event: Event) -> Outcome:
    """Apply one city event to state by the last-writer-wins rule and say what happened."""
    if event.city_id != state.city_id:
        raise ValueError(f"event for {event.city_id!r} applied to city {state.city_id!r}")
    v = event.version
    at = event.occurred_at.isoformat()
    data = event.data
    if event.type == CITY_UPSERTED:
        assert isinstance(data, CityUpserted)
        entry = state_entry(v, at, **data.__dict__)
        holder = {"profile": state.profile} if state.profile is not None else {}
        outcome = _merge(holder, "profile", entry)
        state.profile = holder["profile"]
        return outcome
    if event.type == INDICATOR_OBSERVED:
        assert isinstance(data, IndicatorObserved)
        return _merge(state.indicators, data.indicator, state_entry(v, at, value=data.value))
    if event.type == PROJECT_UPSERTED:
        assert isinstance(data, ProjectUpserted)
        entry = state_entry(
            v, at, removed=False, name=data.name,
            organization=data.organization, sector=data.sector, owner=data.owner,
            stage=data.stage, started_at=data.started_at.isoformat(),
            deployed_at=None if data.deployed_at is None else data.deployed_at.isoformat(),
        )
        return _merge(state.projects, data.project_id, entry)
    if event.type == PROJECT_REMOVED:
        assert isinstance(data, ProjectRemoved)
        return _merge(state.projects, data.project_id, state_entry(v, at, removed=True))
    raise ValueError(f"event type {event.type!r} does not apply to a city")


def build_states(
    events: list[Event],
) -> tuple[dict[str, CityState], tuple[str, str] | None, str | None]:
    """Fold events into per-city states; return states, the winning tick version and its date."""
    states: dict[str, CityState] = {}
    tick: tuple[str, str] | None = None
    tick_date: str | None = None
    for event in events:
        if event.city_id is None:
            assert isinstance(event.data, IndexTicked)
            if tick is None or event.version > tick:
                tick = event.version
                tick_date = event.data.date.isoformat()
            continue
        state = states.get(event.city_id)
        if state is None:
            state = states[event.city_id] = CityState(event.city_id)
        apply_event(state, event)
    return states, tick, tick_date


def _occurred(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(entry["at"])


def events_of(state: CityState) -> list[Event]:
    """Return the winning events a state holds: replaying them rebuilds the identical state.

    Each entry keeps its event's id, occurred_at and data, so last-writer-wins over these
    events and any others of the same city gives what it gave over the full history.
    """
    out: list[Event] = []
    city = state.city_id
    if state.profile is not None:
        p = state.profile
        out.append(Event(EntryVersion.of(p).event_id, CITY_UPSERTED, city, _occurred(p), CityUpserted(
            p["name"], p["country"], p["region"], p["population"], p["lat"], p["lon"])))
    for code, entry in sorted(state.indicators.items()):
        out.append(Event(EntryVersion.of(entry).event_id, INDICATOR_OBSERVED, city, _occurred(entry),
                         IndicatorObserved(code, entry["value"])))
    for project_id, entry in sorted(state.projects.items()):
        if entry["removed"]:
            out.append(Event(EntryVersion.of(entry).event_id, PROJECT_REMOVED, city,
                             _occurred(entry), ProjectRemoved(project_id)))
            continue
        deployed = entry["deployed_at"]
        out.append(Event(EntryVersion.of(entry).event_id, PROJECT_UPSERTED, city,
                         _occurred(entry), ProjectUpserted(
            project_id, entry["name"], entry["organization"], entry["sector"], entry["owner"],
            entry["stage"], date.fromisoformat(entry["started_at"]),
            None if deployed is None else date.fromisoformat(deployed))))
    return out

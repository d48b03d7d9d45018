"""Fast decoding of events that were validated at ingest and stored in canonical form."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from shared.events import (
    CITY_UPSERTED,
    INDEX_TICKED,
    INDICATOR_OBSERVED,
    PROJECT_REMOVED,
    PROJECT_UPSERTED,
    CityUpserted,
    Event,
    EventData,
    IndexTicked,
    IndicatorObserved,
    ProjectRemoved,
    ProjectUpserted,
)


def _data(kind: str, d: dict[str, Any]) -> EventData:
    if kind == INDICATOR_OBSERVED:
        return IndicatorObserved(d["indicator"], float(d["value"]))
    if kind == PROJECT_UPSERTED:
        deployed = d.get("deployed_at")
        return ProjectUpserted(
            d["project_id"], d["name"], d["organization"], d["sector"], d["owner"], d["stage"],
            date.fromisoformat(d["started_at"]),
            None if deployed is None else date.fromisoformat(deployed),
        )
    if kind == CITY_UPSERTED:
        return CityUpserted(d["name"], d["country"], d["region"], int(d["population"]),
                            float(d["lat"]), float(d["lon"]))
    if kind == PROJECT_REMOVED:
        return ProjectRemoved(d["project_id"])
    if kind == INDEX_TICKED:
        return IndexTicked(date.fromisoformat(d["date"]))
    raise ValueError(f"unknown event type {kind!r}")


def event_from_stored(raw: dict[str, Any]) -> Event:
    """Rebuild an Event from its stored canonical JSON object (already validated)."""
    return Event(
        event_id=raw["event_id"], type=raw["type"], city_id=raw.get("city_id"),
        occurred_at=datetime.fromisoformat(raw["occurred_at"]), data=_data(raw["type"], raw["data"]),
    )

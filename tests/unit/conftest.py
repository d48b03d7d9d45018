"""Fixtures for the engine's unit tests: the default methodology, its codec, event builders."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from shared.contract.event_files import load_events
from shared.contract.events import Event, EventCodec
from shared.contract.methodology import Methodology, load_methodology
from shared.domain.index import IndexSnapshot, compute_index
from shared.domain.state import CityState, apply_event

DEFAULT_AT = "2025-06-01T12:00:00+00:00"
REFERENCE = Path(__file__).resolve().parents[2] / "data" / "reference-2025"


class EventBuilder:
    """Build validated events through the real codec, so tests only use acceptable input."""

    def __init__(self, codec: EventCodec) -> None:
        self.codec = codec

    def raw(
        self,
        type_: str,
        data: dict[str, Any],
        city_id: str | None = "testville",
        at: str = DEFAULT_AT,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        """Return a raw JSON event with a fresh random id unless one is given."""
        raw: dict[str, Any] = {
            "event_id": event_id or str(uuid.uuid4()),
            "type": type_,
            "occurred_at": at,
            "data": data,
        }
        if city_id is not None:
            raw["city_id"] = city_id
        return raw

    def make(self, type_: str, data: dict[str, Any], **kwargs: Any) -> Event:
        """Return a loaded (validated) event."""
        return self.codec.load(self.raw(type_, data, **kwargs))

    def city(self, city_id: str = "testville", **kwargs: Any) -> Event:
        """Return a city.upserted event with a plausible profile."""
        data = {"name": city_id.title(), "country": "SG", "region": "Asia",
                "population": 1_000_000, "lat": 1.3, "lon": 103.8}
        return self.make("city.upserted", data, city_id=city_id, **kwargs)

    def observed(self, code: str, value: float, city_id: str = "testville", **kwargs: Any) -> Event:
        """Return an indicator.observed event."""
        return self.make("indicator.observed", {"indicator": code, "value": value},
                         city_id=city_id, **kwargs)

    def project(
        self,
        project_id: str,
        *,
        sector: str = "health",
        owner: str = "public",
        stage: str = "deployed",
        started_at: str = "2024-01-01",
        deployed_at: str | None = None,
        city_id: str = "testville",
        **kwargs: Any,
    ) -> Event:
        """Return a project.upserted event."""
        data: dict[str, Any] = {
            "project_id": project_id, "name": f"Project {project_id}",
            "organization": "Org", "sector": sector, "owner": owner, "stage": stage,
            "started_at": started_at,
        }
        if deployed_at is not None:
            data["deployed_at"] = deployed_at
        return self.make("project.upserted", data, city_id=city_id, **kwargs)

    def removed(self, project_id: str, city_id: str = "testville", **kwargs: Any) -> Event:
        """Return a project.removed event."""
        return self.make("project.removed", {"project_id": project_id}, city_id=city_id, **kwargs)

    def tick(self, day: str, **kwargs: Any) -> Event:
        """Return an index.ticked event moving the index date to day."""
        return self.make("index.ticked", {"date": day}, city_id=None, **kwargs)

    @staticmethod
    def state(events: Iterable[Event], city_id: str = "testville") -> CityState:
        """Fold events of one city into a fresh state."""
        state = CityState(city_id)
        for event in events:
            apply_event(state, event)
        return state


@pytest.fixture(scope="session")
def methodology() -> Methodology:
    """The default methodology (2025.2)."""
    return load_methodology()


@pytest.fixture(scope="session")
def methodology_2025_1() -> Methodology:
    """Methodology 2025.1, whose adoption ratios 2025.2 replaced; still loadable."""
    return load_methodology("2025.1")


@pytest.fixture(scope="session")
def codec(methodology: Methodology) -> EventCodec:
    """The event codec of the default methodology."""
    return EventCodec(methodology)


@pytest.fixture(scope="session")
def build(codec: EventCodec) -> EventBuilder:
    """A builder of validated events."""
    return EventBuilder(codec)


@pytest.fixture(scope="session")
def reference_events() -> list[Event]:
    """The reference dataset's events under the default codec, loaded once (do not mutate).

    Built from its own methodology, not the `codec` fixture, so that tests parametrising
    `methodology` can still use it."""
    return load_events(REFERENCE, EventCodec(load_methodology()))


@pytest.fixture(scope="session")
def reference_snapshot(reference_events: list[Event]) -> IndexSnapshot:
    """The reference index under the default methodology, computed once per session."""
    return compute_index(reference_events, load_methodology())

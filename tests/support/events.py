"""Build valid events for tests."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import requests

REFERENCE = Path(__file__).resolve().parents[2] / "data" / "reference-2025"


def event(kind: str, city: str | None, data: dict[str, Any],
          at: str = "2025-05-01T00:00:00+00:00", event_id: str | None = None) -> dict[str, Any]:
    """Return one event envelope."""
    out: dict[str, Any] = {"event_id": event_id or str(uuid.uuid4()), "type": kind,
                           "occurred_at": at, "data": data}
    if city is not None:
        out["city_id"] = city
    return out


def city(city_id: str, name: str | None = None, **kw: Any) -> dict[str, Any]:
    """Return a city.upserted event."""
    data = {"name": name or city_id.title(), "country": "KR", "region": "East Asia",
            "population": 1_000_000, "lat": 37.5, "lon": 127.0, **kw}
    return event("city.upserted", city_id, data)


def indicator(city_id: str, code: str, value: float, at: str = "2025-05-01T00:00:00+00:00"
              ) -> dict[str, Any]:
    """Return an indicator.observed event."""
    return event("indicator.observed", city_id, {"indicator": code, "value": value}, at)


def reference_events() -> list[dict[str, Any]]:
    """Return every event of the reference dataset, in file order."""
    out = []
    for path in sorted(REFERENCE.glob("*.ndjson")):
        out += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return out


def post(url: str, token: str, events: Any, **kw: Any) -> requests.Response:
    """POST events (a list or one object) to the ingest API."""
    return requests.post(f"{url}/v1/events", json=events,
                         headers={"Authorization": f"Bearer {token}"}, timeout=60, **kw)


def post_ndjson(url: str, token: str, events: list[dict[str, Any]]) -> requests.Response:
    """POST events as NDJSON."""
    body = "\n".join(json.dumps(e) for e in events) + "\n"
    return requests.post(f"{url}/v1/events", data=body.encode(), timeout=120, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"})


def strip_volatile(doc: dict[str, Any]) -> dict[str, Any]:
    """Drop the fields that legitimately differ between runs (times, version counters, the
    rank bands, which are seeded from the ranking version and trail it by seconds, and each
    row's change since the day's start, which depends on the order commits happened in)."""
    out = {k: v for k, v in doc.items() if k not in ("updated_at", "ranking_version", "since")}
    if isinstance(out.get("items"), list):
        out["items"] = [{k: v for k, v in i.items() if k not in ("rank_band", "change")}
                        for i in out["items"]]
    return out

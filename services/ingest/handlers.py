"""Validate, authorise, store and publish a batch of submitted events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError

from shared.events import CITY_UPSERTED, INDEX_TICKED, Event, EventCodec
from shared.messaging import Publisher
from shared.store.events_log import EventLog, canonical_json
from shared.store.feeds import Feed


@dataclass(frozen=True)
class Submission:
    """The per-item results of one request and the HTTP status they call for."""

    http_status: int
    body: dict[str, Any]
    outcomes: list[tuple[str, str]]  # (event type, outcome) per item, for metrics


def _event_id(raw: Any) -> Any:
    return raw.get("event_id") if isinstance(raw, dict) else None


def _type(raw: Any) -> str:
    kind = raw.get("type") if isinstance(raw, dict) else None
    return kind if isinstance(kind, str) and len(kind) < 40 else "invalid"


def _scope_error(event: Event, feed: Feed, existing: set[str]) -> dict[str, list[str]] | None:
    if event.type == INDEX_TICKED:
        return None if feed.admin else {"type": ["index.ticked needs an admin feed"]}
    assert event.city_id is not None
    if not feed.may_write(event.city_id):
        return {"city_id": [f"feed {feed.name!r} may not write city {event.city_id!r}"]}
    if event.type == CITY_UPSERTED and not feed.admin and event.city_id not in existing:
        return {"city_id": [(f"city {event.city_id!r} does not exist; only an admin feed may "
                            "create a city")]}
    return None


def submit(
    items: list[Any], feed: Feed, codec: EventCodec, log: EventLog, publisher: Publisher,
    known_cities: Callable[[list[str]], set[str]],
) -> Submission:
    """Validate every item, store the valid ones atomically, queue recomputes, report each."""
    results: list[dict[str, Any]] = [{} for _ in items]
    outcomes: list[tuple[str, str]] = [("", "")] * len(items)
    valid: list[tuple[int, Event]] = []
    for index, (raw, item) in enumerate(zip(items, codec.load_many(items))):
        if isinstance(item, ValidationError):
            results[index] = {"index": index, "event_id": _event_id(raw), "status": "rejected",
                              "errors": item.normalized_messages()}
            outcomes[index] = (_type(raw), "rejected_validation")
        else:
            valid.append((index, item))
    creating = sorted({e.city_id for _, e in valid
                       if e.type == CITY_UPSERTED and not feed.admin and e.city_id})
    existing = known_cities(creating) if creating else set()
    to_store: list[tuple[int, Event]] = []
    for index, event in valid:
        error = _scope_error(event, feed, existing)
        if error is None:
            to_store.append((index, event))
        else:
            results[index] = {"index": index, "event_id": event.event_id, "status": "rejected",
                              "errors": error}
            outcomes[index] = (event.type, "rejected_scope")
    if to_store:
        # The log keeps what the feed sent (already validated, unknown fields refused),
        # with the event id in its canonical lower case.
        stored = log.append([(e, canonical_json({**items[i], "event_id": e.event_id}))
                             for i, e in to_store])
        for (index, event), status in zip(to_store, stored.statuses):
            results[index] = {"index": index, "event_id": event.event_id, "status": status,
                              "errors": {}}
            outcomes[index] = (event.type, status)
        publisher.recompute(stored.enqueue)
        if stored.rebuild:
            publisher.sweep()
    counts = {s: sum(1 for r in results if r["status"] == s)
              for s in ("accepted", "duplicate", "rejected")}
    if counts["accepted"] or not counts["rejected"]:
        status = 202
    elif all(o == "rejected_scope" for _, o in outcomes):
        status = 403
    else:
        status = 422
    return Submission(status, {**counts, "results": results}, outcomes)

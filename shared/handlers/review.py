"""Review of implausible jumps: release held events into scoring, or reject them with a reason."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from shared.events import decode_event
from shared.handlers.accept import Publisher, Stats
from shared.store.events_log import EventLog

log = logging.getLogger("aicity.review")
MAX_REASON = 500


class HeldEvents(Protocol):
    def held(self, event_ids: Sequence[str] | None = None) -> list[dict[str, Any]]: ...
    def reject(self, event_ids: Sequence[str], reason: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Decision:
    """Per event id: 'released', 'rejected' or 'not held' (unknown, or already decided)."""

    outcomes: dict[str, str]
    publish_failed: bool = False


def release(event_ids: Sequence[str], held: HeldEvents, events: EventLog,
            publisher: Publisher) -> Decision:
    """Append held events to their cities like any accepted event and queue their recomputes.

    Each is then scored by last-writer-wins on its own occurred_at. One append per sending
    feed (its backlog share), each atomic; an event no longer held is left alone.
    """
    ids = [e.lower() for e in event_ids]
    outcomes = dict.fromkeys(ids, "not held")
    by_feed: dict[str, list[dict[str, Any]]] = {}
    for entry in held.held(ids):
        by_feed.setdefault(entry["feed"], []).append(entry)
    enqueue: list[str] = []
    for feed, entries in by_feed.items():
        pairs = [(decode_event(e["body"]), str(e["body"])) for e in entries]
        stored = events.append(feed, False, pairs, release=True)
        for entry, code in zip(entries, stored.codes):
            if code == "a":
                outcomes[entry["event_id"]] = "released"
        enqueue += stored.enqueue
    try:  # stored: a lost trigger costs latency (the sweeper), never data
        publisher.recompute(enqueue)
    except Exception:  # noqa: BLE001 - any broker failure, after the durable append
        log.warning("recompute not queued; the sweeper will", exc_info=True)
        return Decision(outcomes, publish_failed=True)
    return Decision(outcomes)


def reject(event_ids: Sequence[str], reason: str, held: HeldEvents, stats: Stats | None,
           now: datetime) -> Decision:
    """Discard held events; each feed sees the reason in its report (GET /v1/feed)."""
    reason = " ".join(reason.split())[:MAX_REASON]
    if not reason:
        raise ValueError("reject needs a reason (the feed sees it in its report)")
    ids = [e.lower() for e in event_ids]
    outcomes = dict.fromkeys(ids, "not held")
    at = now.astimezone(UTC).isoformat(timespec="seconds")
    for entry in held.reject(ids, reason):
        outcomes[entry["event_id"]] = "rejected"
        if stats is not None:
            stats.record(entry["feed"], int(now.timestamp() * 1000), {"rejected_review": 1}, [{
                "at": at, "index": None, "event_id": entry["event_id"],
                "type": "indicator.observed",
                "errors": {"data": {"value": [f"rejected at review: {reason}"]}}}])
    return Decision(outcomes)

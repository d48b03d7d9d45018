"""Review: release held events into scoring, or reject them with a reason (one by one, in
bulk, or as 'expired' once no operator decided within the held retention)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from shared.commands.accept import Publisher, Stats
from shared.commands.ports import EventAppender
from shared.contract.events import INDICATOR_OBSERVED, decode_event
from shared.domain.outcome import Outcome

log = logging.getLogger("aicity.review")
MAX_REASON = 500
EXPIRED = "expired"  # the reason of a held event no operator decided on within the retention
CHUNK = 1_000  # ids per reject step: one short script call each


class HeldEvents(Protocol):
    def held(self, event_ids: Sequence[str] | None = None) -> list[dict[str, Any]]: ...
    def held_ids(self, feed: str | None = None, before_ms: int | None = None,
                 limit: int | None = None) -> list[str]: ...
    def reject(self, event_ids: Sequence[str], reason: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Decision:
    """Per event id: 'released', 'rejected' or 'not held' (unknown, or already decided)."""

    outcomes: dict[str, str]
    publish_failed: bool = False


def release(event_ids: Sequence[str], held: HeldEvents, events: EventAppender,
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
        for entry, answer in zip(entries, stored.outcomes):
            if answer is Outcome.ACCEPTED:
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
    for start in range(0, len(ids), CHUNK):
        for entry in held.reject(ids[start:start + CHUNK], reason):
            outcomes[entry["event_id"]] = "rejected"
            if stats is not None:
                stats.record(entry["feed"], int(now.timestamp() * 1000),
                             {"rejected_review": 1}, [{
                                 "at": at, "index": None, "event_id": entry["event_id"],
                                 "type": entry.get("type", INDICATOR_OBSERVED),
                                 "errors": _review_error(entry, reason)}])
    return Decision(outcomes)


def _review_error(entry: dict[str, Any], reason: str) -> dict[str, Any]:
    message = [f"rejected at review: {reason}"]
    if entry.get("type", INDICATOR_OBSERVED) == INDICATOR_OBSERVED:
        return {"data": {"value": message}}
    return {"data": message}


def matching(held: HeldEvents, feed: str, city: str | None = None,
             older_than_s: float | None = None, now: datetime | None = None) -> list[str]:
    """Return the ids of a feed's held events (of one city, held longer than older_than_s)."""
    before_ms = None
    if older_than_s is not None:
        assert now is not None
        before_ms = int((now.timestamp() - older_than_s) * 1000)
    ids = held.held_ids(feed, before_ms)
    if city is None:
        return ids
    out: list[str] = []
    for start in range(0, len(ids), CHUNK):
        out += [e["event_id"] for e in held.held(ids[start:start + CHUNK])
                if e["city_id"] == city]
    return out


def expire(held: HeldEvents, retention_seconds: int, stats: Stats | None, now: datetime,
           limit: int = CHUNK) -> int:
    """Reject, as 'expired', held events older than the retention (at most `limit` a call)."""
    before_ms = int((now.timestamp() - retention_seconds) * 1000)
    ids = held.held_ids(None, before_ms, limit)
    if not ids:
        return 0
    decision = reject(ids, EXPIRED, held, stats, now)
    return sum(1 for o in decision.outcomes.values() if o == "rejected")

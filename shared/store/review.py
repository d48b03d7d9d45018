"""Events held for review: list them, reject them, count them (release goes through EventLog)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.jsonfast import loads
from shared.store import keys as K
from shared.store import lua
from shared.store.connection import Client


class ReviewStore:
    """Read and reject held events (their JSON entries: body, feed, city, values, held_ms)."""

    def __init__(self, client: Client, retention_seconds: int = 0) -> None:
        self.client = client
        self.retention_seconds = retention_seconds
        self._reject = client.register_script(lua.REVIEW_REJECT)

    def held(self, event_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Return held entries, oldest first (only the given ids, if any, that are held)."""
        ids = ([e.lower() for e in event_ids] if event_ids is not None
               else list(self.client.zrange(K.HELD_SINCE, 0, -1)))
        if not ids:
            return []
        rows = self.client.hmget(K.HELD, ids)
        entries = [loads(row) for row in rows if row]
        return sorted(entries, key=lambda e: (e["held_ms"], e["event_id"]))

    def reject(self, event_ids: Sequence[str], reason: str) -> list[dict[str, Any]]:
        """Reject still-held events with a reason; return the entries rejected."""
        if not event_ids:
            return []
        out = self._reject(keys=[], args=[self.retention_seconds, reason,
                                          *[e.lower() for e in event_ids]])
        return [loads(row) for row in out if row]

    def stats(self) -> tuple[int, int | None]:
        """Return how many events are held and when the oldest was held (ms, None if none)."""
        pipe = self.client.pipeline(transaction=False)
        pipe.zcard(K.HELD_SINCE)
        pipe.zrange(K.HELD_SINCE, 0, 0, withscores=True)
        count, oldest = pipe.execute()
        return int(count), int(oldest[0][1]) if oldest else None

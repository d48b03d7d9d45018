"""Events held for review: list them, reject them, count them (release goes through EventLog);
each city's approved position for the review window and the lock a scoped batch takes."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from shared.contract.jsonfast import loads
from shared.store import keys as K
from shared.store import lua
from shared.store.connection import Client


class ReviewStore:
    """Read and reject held events (their JSON entries: body, feed, city, values, held_ms)."""

    def __init__(self, client: Client, retention_seconds: int = 0) -> None:
        self.client = client
        self.retention_seconds = retention_seconds
        self._reject = lua.register(client, "review_reject")
        self._unlock = lua.register(client, "unlock")

    def held_ids(self, feed: str | None = None, before_ms: int | None = None,
                 limit: int | None = None) -> list[str]:
        """Return the ids of held events (one feed's, held before before_ms), oldest first."""
        key = K.held_by_feed(feed) if feed is not None else K.HELD_SINCE
        top = "+inf" if before_ms is None else f"({before_ms}"
        if limit is None:
            return list(self.client.zrangebyscore(key, "-inf", top))
        return list(self.client.zrangebyscore(key, "-inf", top, start=0, num=limit))

    def held_count(self, feed: str) -> int:
        """Return how many of a feed's events are held."""
        return int(self.client.zcard(K.held_by_feed(feed)))

    def baselines(self, cities: Sequence[str]) -> list[str | None]:
        """Return each city's stored approved position (JSON), None where its window is closed."""
        if not cities:
            return []
        return list(self.client.mget([K.review_baseline(c) for c in cities]))

    def open_window(self, city: str, baseline: str, ttl_ms: int) -> str:
        """Store a city's approved position for ttl_ms unless one is stored; return the one kept."""
        pipe = self.client.pipeline(transaction=True)
        pipe.set(K.review_baseline(city), baseline, nx=True, px=ttl_ms)
        pipe.get(K.review_baseline(city))
        _, kept = pipe.execute()
        return str(kept) if kept else baseline

    def lock(self, cities: Sequence[str], token: str, ttl_ms: int, wait_s: float) -> bool:
        """Take every city's review lock (all or none), waiting up to wait_s; tell if taken."""
        deadline = time.monotonic() + wait_s
        names = sorted(set(cities))
        while True:
            pipe = self.client.pipeline(transaction=False)
            for city in names:
                pipe.set(K.review_lock(city), token, nx=True, px=ttl_ms)
            got = pipe.execute()
            if all(got):
                return True
            self.unlock([c for c, ok in zip(names, got) if ok], token)
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def unlock(self, cities: Sequence[str], token: str) -> None:
        """Release the review locks this token holds."""
        if cities:
            self._unlock(keys=[], args=[token, *[K.review_lock(c) for c in cities]])

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

"""Per-feed token buckets (events per second) kept in Redis, so every ingest replica agrees."""

from __future__ import annotations

from shared.store import keys as K
from shared.store import lua
from shared.store.connection import Client


class FeedQuota:
    """Take events from a feed's bucket: `rate` per second sustained, `burst` at once."""

    def __init__(self, client: Client, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._take = lua.register(client, "quota_take")

    def take(self, feed: str, events: int, now_ms: int) -> float:
        """Take events from the feed's bucket; return 0.0, or the seconds to wait (nothing taken)."""
        wait_ms = int(self._take(keys=[], args=[K.feed_quota(feed), self.rate, self.burst,
                                                 events, now_ms]))
        return wait_ms / 1000.0

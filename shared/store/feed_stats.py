"""Per-feed outcome counters (per UTC hour and all time) and the feed's latest rejections.

Counters are kept as the outcomes happen (accept, review and the scoring commit), so a
report sums at most 169 small hashes and never scans the event log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.contract.jsonfast import compact, loads
from shared.store import keys as K
from shared.store.connection import Client

HOUR_MS = 3_600_000
WEEK_HOURS = 7 * 24
BUCKET_TTL = (WEEK_HOURS + 2) * 3600  # an hour bucket outlives the 7-day window it serves
REJECTIONS_KEPT = 50
MAX_REJECTION_CHARS = 4000  # one stored rejection; longer error maps are summarised


def _hour(now_ms: int) -> int:
    return now_ms // HOUR_MS


def _bounded(entry: dict[str, Any]) -> str:
    text = compact(entry)
    if len(text) <= MAX_REJECTION_CHARS:
        return text
    fields = sorted(entry.get("errors") or {})[:20]
    return compact({**entry, "errors": {f[:64]: ["(message cut: too long)"] for f in fields}})


class FeedStats:
    """Count each feed's outcomes and keep its latest rejections."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def record(self, feed: str, now_ms: int, counts: Mapping[str, int],
               rejections: Sequence[dict[str, Any]] = ()) -> None:
        """Add outcome counts (accepted, duplicate, rejected_<reason>, held...) in one step."""
        counts = {k: v for k, v in counts.items() if v}
        if not counts and not rejections:
            return
        hour_key = K.feed_stats(feed, _hour(now_ms))
        pipe = self.client.pipeline(transaction=True)
        for name, value in counts.items():
            pipe.hincrby(hour_key, name, value)
            pipe.hincrby(K.feed_stats(feed, "all"), name, value)
        pipe.expire(hour_key, BUCKET_TTL)
        if counts.get("accepted"):
            pipe.hset(K.feed_stats(feed, "all"), "last_accepted_ms", now_ms)
        if rejections:
            key = K.feed_rejections(feed)
            pipe.lpush(key, *[_bounded(r) for r in list(rejections)[-REJECTIONS_KEPT:]])
            pipe.ltrim(key, 0, REJECTIONS_KEPT - 1)
        pipe.execute()

    def report(self, feed: str, now_ms: int) -> dict[str, Any]:
        """Return the feed's counts over 24 h, 7 days and all time, its latest rejections
        and the time of its last accepted event (ms, None if never)."""
        hour = _hour(now_ms)
        pipe = self.client.pipeline(transaction=False)
        for h in range(hour - WEEK_HOURS + 1, hour + 1):
            pipe.hgetall(K.feed_stats(feed, h))
        pipe.hgetall(K.feed_stats(feed, "all"))
        pipe.lrange(K.feed_rejections(feed), 0, REJECTIONS_KEPT - 1)
        replies = pipe.execute()
        hours, whole, rejected = replies[:WEEK_HOURS], replies[WEEK_HOURS], replies[-1]

        def total(buckets: Sequence[Mapping[str, str]]) -> dict[str, int]:
            out: dict[str, int] = {}
            for bucket in buckets:
                for name, value in bucket.items():
                    if name != "last_accepted_ms":
                        out[name] = out.get(name, 0) + int(value)
            return out

        last = whole.get("last_accepted_ms")
        return {"day": total(hours[-24:]), "week": total(hours), "all": total([whole]),
                "last_rejected": [loads(r) for r in rejected],
                "last_accepted_ms": int(last) if last else None}

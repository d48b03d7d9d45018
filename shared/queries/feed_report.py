"""A feed's own report: scope, outcome counts over 24 h, 7 days and all time, latest rejections."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from shared.domain.records import Feed

REJECTION_REASONS = ("rejected_validation", "rejected_scope", "rejected_conflict",
                     "rejected_review")
WINDOWS = (("last_24h", "day"), ("last_7d", "week"), ("all_time", "all"))


class StatsReader(Protocol):
    def report(self, feed: str, now_ms: int) -> dict[str, Any]: ...


def _counts(raw: dict[str, int]) -> dict[str, Any]:
    rejected = {reason.removeprefix("rejected_"): raw.get(reason, 0) for reason in REJECTION_REASONS}
    for name, value in raw.items():  # reasons added later (e.g. an operator's review)
        if name.startswith("rejected_") and name not in REJECTION_REASONS:
            rejected[name.removeprefix("rejected_")] = value
    return {"accepted": raw.get("accepted", 0), "duplicates": raw.get("duplicate", 0),
            "rejected": rejected, "rejected_total": sum(rejected.values()),
            "held": raw.get("held", 0), "failed": raw.get("failed", 0)}


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat(
        timespec="milliseconds")


def feed_report(feed: Feed, stats: StatsReader, now: datetime) -> dict[str, Any]:
    """Return what a feed (or an operator) sees of the feed's health."""
    raw = stats.report(feed.name, int(now.timestamp() * 1000))
    return {
        "feed": feed.name,
        "admin": feed.admin,
        "cities": None if feed.cities is None else sorted(feed.cities),
        "counts": {label: _counts(raw[window]) for label, window in WINDOWS},
        "last_accepted_at": _iso(raw["last_accepted_ms"]),
        "last_rejected": raw["last_rejected"],
    }

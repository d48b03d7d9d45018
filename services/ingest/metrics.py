"""Prometheus metrics of the ingest service, declared once."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram

from shared.contract.events import EVENT_TYPES
from shared.platform.ops import RequestMetrics

OUTCOMES = ("accepted", "duplicate", "rejected_validation", "rejected_scope",
            "rejected_conflict", "held")


class _EventCounter(Counter):
    """A counter whose `type` label only takes known event types.

    The type of a rejected event comes from untrusted input; any other value is
    counted as "invalid" so a feed cannot create unbounded series.
    """

    def labels(self, *values: Any, **kw: Any) -> Any:
        if values and values[0] not in EVENT_TYPES:
            values = ("invalid", *values[1:])
        if "type" in kw and kw["type"] not in EVENT_TYPES:
            kw["type"] = "invalid"
        return super().labels(*values, **kw)


HTTP = RequestMetrics("aicity_ingest")
DRY_RUNS = Counter("aicity_ingest_dry_runs_total",
                   "POST /v1/events?dry_run=true requests answered (nothing stored).")
EVENTS = _EventCounter(
    "aicity_ingest_events_total",
    "Submitted events by type and outcome (accepted, duplicate, rejected_validation, "
    "rejected_scope, rejected_conflict: an event_id reused for other content or by another "
    "feed).",
    ["type", "outcome"],
)
for _kind in EVENT_TYPES:  # series exist at 0 from the start, so rate() sees the first event
    for _outcome in OUTCOMES:
        EVENTS.labels(_kind, _outcome)
BATCH_SIZE = Histogram(
    "aicity_ingest_batch_size", "Events per POST /v1/events request.",
    buckets=(1, 2, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
)
BODY_BYTES = Histogram(
    "aicity_ingest_body_bytes", "Request body size of POST /v1/events.",
    buckets=(256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216),
)
THROTTLED = Counter(
    "aicity_ingest_throttled_total",
    "Requests answered 429, by scope: global (the scoring backlog is full) or feed (one feed "
    "over its rate or backlog share).",
    ["scope"],
)
for _scope in ("global", "feed"):
    THROTTLED.labels(_scope)
PUBLISH_FAILURES = Counter(
    "aicity_ingest_publish_failures_total",
    "Batches stored durably whose recompute message could not be queued (the sweeper "
    "re-queues them).",
)

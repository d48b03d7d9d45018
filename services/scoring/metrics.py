"""Prometheus metrics of the scoring workers, declared once."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from shared.platform.messaging import RECOMPUTE_CITIES, SWEEP

EVENTS_APPLIED = Counter(
    "aicity_scoring_events_applied_total",
    "Events folded into city state, by outcome (applied or superseded by a later event).",
    ["outcome"],
)
RECOMPUTES = Counter(
    "aicity_scoring_recomputes_total",
    "City recomputes committed, by result (changed or unchanged).",
    ["result"],
)
RECOMPUTE_CONFLICTS = Counter(
    "aicity_scoring_recompute_conflicts_total",
    "Commits refused because another worker moved the city first (then retried).",
)
EVENTS_PER_RECOMPUTE = Histogram(
    "aicity_scoring_events_per_recompute",
    "Events coalesced into one recompute.",
    buckets=(0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000),
)
RECOMPUTE_DURATION = Histogram(
    "aicity_scoring_recompute_duration_seconds",
    "Time to read, fold, score and commit one city.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
ACK_TO_VISIBLE = Histogram(
    "aicity_scoring_ack_to_visible_seconds",
    "End-to-end freshness: from the event's durable append (just before the ingest 202) to "
    "its commit into the published ranking.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
EVENTS_DEAD_LETTERED = Counter(
    "aicity_scoring_events_dead_lettered_total",
    "Events that could not be applied (stored, marked failed with their reason, skipped).",
)
CITY_FAILURES = Counter(
    "aicity_scoring_city_failures_total",
    "City recomputes that raised (the city stays dirty; the message's other cities commit).",
)
TASK_FAILURES = Counter(
    "aicity_scoring_task_failures_total", "Scoring tasks that raised, by task.", ["task"]
)
TASK_RETRIES = Counter(
    "aicity_scoring_task_retries_total", "Scoring tasks scheduled for retry, by task.", ["task"]
)
REBUILDS = Counter(
    "aicity_scoring_rebuilds_total",
    "Full rebuilds started (index date moved or methodology changed).",
    ["cause"],
)
SWEPT = Counter(
    "aicity_scoring_swept_cities_total", "Dirty cities re-queued by the sweeper."
)
HISTORY_THINNED = Counter(
    "aicity_scoring_history_thinned_total",
    "History entries removed by the retention tiers (history_tiers).",
)
LOG_TRIMMED = Counter(
    "aicity_scoring_log_trimmed_total",
    "Event log entries dropped after the retention (their winners live on in city states).",
)
REVIEW_EXPIRED = Counter(
    "aicity_review_expired_total",
    "Held events rejected as 'expired': no operator decided within the held retention.",
)
LAST_RECOMPUTE = Gauge(
    "aicity_scoring_last_recompute_timestamp_seconds",
    "Unix time of this worker's last committed recompute.",
)

# Labelled series exist at 0 from the start: rate()/increase() then see the first increment
# and alert rules do not depend on a series appearing.
for _outcome in ("applied", "superseded"):
    EVENTS_APPLIED.labels(_outcome)
for _result in ("changed", "unchanged"):
    RECOMPUTES.labels(_result)
for _task in (RECOMPUTE_CITIES, SWEEP):
    TASK_FAILURES.labels(_task)
    TASK_RETRIES.labels(_task)

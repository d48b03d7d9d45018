"""Prometheus metrics of the hooks worker, declared once (its own server, AICITY_HOOKS_METRICS_PORT)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from shared.platform.messaging import HOOK_TASKS

HOOK_DELIVERIES = Counter(
    "aicity_webhook_deliveries_total",
    "Webhook delivery attempts, by outcome (sent, retried, failed, disabled: a 410 answer, "
    "abandoned: the hook was deleted or disabled while the attempt ran).",
    ["outcome"],
)
HOOK_LATENCY = Histogram(
    "aicity_webhook_delivery_latency_seconds",
    "From the ranking commit to the receiver's 2xx answer (first attempts only).",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
HOOK_ATTEMPT_DURATION = Histogram(
    "aicity_webhook_attempt_duration_seconds",
    "One delivery attempt, request sent to answer read (bounded by the attempt deadline).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 7.5),
)
HOOK_BUSY = Counter(
    "aicity_webhook_busy_total",
    "Delivery tasks that found another task delivering their hook and left it the work.",
)
TASK_FAILURES = Counter(
    "aicity_hooks_task_failures_total", "Hooks worker tasks that raised, by task.", ["task"]
)

OUTCOMES = {"sent": "sent", "retry": "retried", "failed": "failed", "disabled": "disabled",
            "abandoned": "abandoned"}

# Labelled series exist at 0 from the start (rate() sees the first increment).
for _outcome in OUTCOMES.values():
    HOOK_DELIVERIES.labels(_outcome)
for _task in HOOK_TASKS:
    TASK_FAILURES.labels(_task)

"""Prometheus metrics of the ingest service, declared once."""

from prometheus_client import Counter, Histogram

from shared.ops import RequestMetrics

HTTP = RequestMetrics("aicity_ingest")
EVENTS = Counter(
    "aicity_ingest_events_total",
    "Submitted events by type and outcome (accepted, duplicate, rejected_validation, "
    "rejected_scope).",
    ["type", "outcome"],
)
BATCH_SIZE = Histogram(
    "aicity_ingest_batch_size", "Events per POST /v1/events request.",
    buckets=(1, 2, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
)
BODY_BYTES = Histogram(
    "aicity_ingest_body_bytes", "Request body size of POST /v1/events.",
    buckets=(256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216),
)
THROTTLED = Counter(
    "aicity_ingest_throttled_total", "Requests answered 429 because the scoring backlog was full."
)

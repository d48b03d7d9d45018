"""Prometheus metrics of the web service, declared once."""

from prometheus_client import Gauge

from shared.platform.ops import RequestMetrics

HTTP = RequestMetrics("aicity_web")
SSE_CLIENTS = Gauge(
    "aicity_web_sse_clients", "Server-Sent Events clients connected.",
    multiprocess_mode="livesum",
)

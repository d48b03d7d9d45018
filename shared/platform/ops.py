"""Operational HTTP edges every Flask service shares: /healthz, /readyz, /metrics, RED metrics.

Under gunicorn with several workers prometheus_client runs in multiprocess mode
(PROMETHEUS_MULTIPROC_DIR set by the gunicorn config); /metrics then aggregates them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import redis
from flask import Blueprint, Flask, Response, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import Collector

from shared.contract.jsonfast import compact
from shared.store.connection import pool_exhausted
from shared.store.health import MemoryProbe, is_oom_error

ReadyCheck = Callable[[], tuple[bool, dict[str, str]]]
# The method label comes from the client: anything else is counted as "other".
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def metrics_registry(extra: list[Collector] | None = None) -> CollectorRegistry:
    """Return the registry to expose: aggregated across processes when in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    for collector in extra or []:
        try:
            registry.register(collector)
        except ValueError:
            pass  # already registered (several apps in one test process)
    return registry


class FastJSONProvider(DefaultJSONProvider):
    """Flask JSON responses through orjson (several times faster than the json module)."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return compact(obj)


def redis_readiness(client: Any, methodology_version: str, memory: MemoryProbe | None = None,
                    high_ratio: float = 0.9, refuse_when_full: bool = True
                    ) -> tuple[bool, dict[str, str]]:
    """Check Redis answers a ping; report the methodology loaded (for /readyz).

    With a memory probe, report Redis memory use too; at or above high_ratio x maxmemory
    the check fails when refuse_when_full (ingest: it refuses events then), else it is
    only reported (web: reads keep working at maxmemory).
    """
    checks = {"methodology": methodology_version}
    try:
        client.ping()
        use = memory.read() if memory is not None else None
    except redis.RedisError as exc:
        checks["redis"] = f"unreachable: {type(exc).__name__}"
        return False, checks
    checks["redis"] = "ok"
    if use is None:
        return True, checks
    if not use.high(high_ratio):
        checks["redis_memory"] = f"ok: {use.describe()}"
        return True, checks
    checks["redis_memory"] = (f"high: {use.describe()}, at or above {high_ratio:.0%} of "
                              "maxmemory; ingest refuses new events")
    return not refuse_when_full, checks


def _unavailable(exc: Exception) -> tuple[str, str] | None:
    """Return (cause, message) for a Redis failure that calls for a 503, else None."""
    if is_oom_error(exc):
        return "redis_memory_full", ("Redis is out of memory (maxmemory reached): the request "
                                     "could not be completed; retry later")
    if pool_exhausted(exc):
        return "redis_pool_busy", ("every Redis connection of this process stayed busy (a "
                                   "burst of requests): the request may not have been "
                                   "completed; retry later")
    if isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
        return "redis_unavailable", (f"Redis could not be reached ({type(exc).__name__}): the "
                                     "request may not have been completed; retry later")
    return None


def redis_unavailable_handler(app: Flask, retry_after: int) -> None:
    """Answer 503 + Retry-After, never 500, when Redis cannot serve a request.

    That is: a write refused at maxmemory (cause redis_memory_full), no free connection in
    the process's pool within its wait (redis_pool_busy), Redis unreachable or timing out
    (redis_unavailable). Any other Redis error stays a 500. A retried event is safe: an
    event_id names one event, so one stored before the failure comes back a duplicate.
    """

    def _handle(exc: Exception) -> tuple[Response, int]:
        found = _unavailable(exc)
        if found is None:
            raise exc
        cause, message = found
        resp = jsonify(error=message, cause=cause, status=503, retry_after=retry_after)
        resp.headers["Retry-After"] = str(retry_after)
        return resp, 503

    app.register_error_handler(redis.RedisError, _handle)


def ops_blueprint(ready: ReadyCheck, registry_factory: Callable[[], CollectorRegistry]) -> Blueprint:
    """Return the blueprint with /healthz (no dependencies), /readyz and /metrics."""
    bp = Blueprint("ops", __name__)

    @bp.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @bp.get("/readyz")
    def readyz() -> tuple[Response, int]:
        ok, checks = ready()
        return jsonify(status="ready" if ok else "unavailable", checks=checks), 200 if ok else 503

    @bp.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry_factory()), mimetype=CONTENT_TYPE_LATEST)

    return bp


class RequestMetrics:
    """Requests by endpoint and status, and a duration histogram, for one service."""

    def __init__(self, prefix: str) -> None:
        self.requests = Counter(
            f"{prefix}_http_requests_total", "HTTP requests by endpoint, method and status.",
            ["endpoint", "method", "status"],
        )
        self.duration = Histogram(
            f"{prefix}_http_request_duration_seconds", "HTTP request duration by endpoint.",
            ["endpoint"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )

    def install(self, app: Flask) -> None:
        """Record every request of app (endpoint names, never raw paths, as labels)."""

        @app.before_request
        def _start() -> None:
            g._started = time.perf_counter()

        @app.after_request
        def _record(response: Response) -> Response:
            endpoint = request.endpoint or "unmatched"
            if endpoint != "ops.metrics" and response.mimetype != "text/event-stream":
                self.duration.labels(endpoint).observe(time.perf_counter() - g._started)
            method = request.method if request.method in HTTP_METHODS else "other"
            self.requests.labels(endpoint, method, str(response.status_code)).inc()
            return response

"""Celery tasks of the scoring workers: thin wrappers around the handlers."""

from __future__ import annotations

import logging
import time
from functools import cached_property
from typing import Any

import redis
from celery import Celery
from celery.signals import worker_ready
from prometheus_client import start_http_server

from services.scoring import handlers
from services.scoring import metrics as m
from shared.logs import configure_logging
from shared.messaging import RECOMPUTE_CITIES, SWEEP, Publisher, make_celery
from shared.methodology import Methodology, load_methodology
from shared.settings import Settings
from shared.store.cities import CityStore
from shared.store.connection import redis_client

log = logging.getLogger("aicity.scoring")


def now_ms() -> int:
    """Return the wall clock in milliseconds (bookkeeping only; scores never see it)."""
    return time.time_ns() // 1_000_000


class WorkerContext:
    """Adapters of one worker process, built lazily after fork."""

    def __init__(self, settings: Settings, app: Celery) -> None:
        self.settings = settings
        self.app = app

    @cached_property
    def methodology(self) -> Methodology:
        return load_methodology(self.settings.methodology)

    @cached_property
    def client(self) -> redis.Redis:
        return redis_client(self.settings)

    @cached_property
    def store(self) -> CityStore:
        s = self.settings
        return CityStore(self.client, s.pending_ttl_seconds, s.history_length, s.changes_maxlen)

    @cached_property
    def publisher(self) -> Publisher:
        return Publisher(self.app)


def create_worker_app(settings: Settings | None = None) -> Celery:
    """Return the scoring workers' Celery app with its tasks registered."""
    settings = settings or Settings.from_env()
    app = make_celery(settings, main="aicity-scoring")
    ctx = WorkerContext(settings, app)

    def recompute_one(city: str) -> None:
        started = time.perf_counter()
        try:
            report = handlers.recompute_city(
                city, ctx.store, ctx.methodology, now_ms, settings.recompute_max_events)
        except handlers.RecomputeConflict:
            # Still dirty with no pending flag: the sweeper re-queues it within seconds.
            m.RECOMPUTE_CONFLICTS.inc(handlers.MAX_ATTEMPTS)
            log.warning("gave up after conflicts; left to the sweeper", extra={"city_id": city})
            return
        m.RECOMPUTE_DURATION.observe(time.perf_counter() - started)
        if report.status == "methodology":
            log.warning("methodology mismatch: worker runs %s", ctx.methodology.version,
                        extra={"city_id": city})
            return
        m.RECOMPUTES.labels(report.status).inc()
        m.RECOMPUTE_CONFLICTS.inc(report.conflicts)
        m.EVENTS_PER_RECOMPUTE.observe(report.events)
        m.EVENTS_APPLIED.labels("applied").inc(report.applied)
        m.EVENTS_APPLIED.labels("superseded").inc(report.superseded)
        for lag in report.lags_ms:
            m.ACK_TO_VISIBLE.observe(max(lag, 0) / 1000.0)
        m.LAST_RECOMPUTE.set_to_current_time()
        if report.status == "changed":
            log.info("recomputed", extra={
                "city_id": city, "events": report.events, "ranking_version": report.ranking_version,
                "rank": report.new_rank})
        if report.events >= settings.recompute_max_events:
            ctx.publisher.recompute(ctx.store.claim_pending([city]))

    @app.task(name=RECOMPUTE_CITIES, bind=True, max_retries=8,
              autoretry_for=(redis.ConnectionError, redis.TimeoutError),
              retry_backoff=True, retry_backoff_max=30)
    def recompute_cities(self: Any, cities: list[str]) -> None:
        """Recompute cities' scores and ranking entries, one after another."""
        if self.request.retries:
            m.TASK_RETRIES.labels(RECOMPUTE_CITIES).inc()
        try:
            for city in cities:
                recompute_one(city)
        except Exception:
            m.TASK_FAILURES.labels(RECOMPUTE_CITIES).inc()
            raise

    @app.task(name=SWEEP)
    def sweep() -> int:
        """Queue a recompute for every dirty city that has none queued."""
        cities = handlers.sweep(ctx.store)
        ctx.publisher.recompute(cities)
        m.SWEPT.inc(len(cities))
        return len(cities)

    @worker_ready.connect(weak=False)
    def on_ready(**_: Any) -> None:
        configure_logging(settings)
        if settings.worker_metrics_port:
            start_http_server(settings.worker_metrics_port)
        if ctx.store.ensure_methodology(ctx.methodology.version):
            m.REBUILDS.labels("methodology").inc()
            log.info("methodology changed: full rebuild", extra={
                "methodology": ctx.methodology.version})
            ctx.publisher.sweep()

    return app

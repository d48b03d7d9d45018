"""Celery tasks of the scoring workers: thin wrappers around the handlers."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import redis
from celery import Celery, Task
from celery.signals import worker_ready
from prometheus_client import start_http_server

from services.scoring import metrics as m
from shared.bootstrap import Worker
from shared.commands import bands as band_handlers
from shared.commands import hooks as hook_handlers
from shared.commands import recompute as handlers
from shared.commands import review as review_handlers
from shared.commands.accept import SYSTEM_FEED, accept
from shared.contract.events import daily_tick as tick_event
from shared.platform.logs import configure_logging
from shared.platform.messaging import (
    DAILY_TICK,
    RANK_BANDS,
    RECOMPUTE_CITIES,
    SWEEP,
    make_celery,
)
from shared.platform.settings import Settings

log = logging.getLogger("aicity.scoring")


def now_ms() -> int:
    """Return the wall clock in milliseconds (bookkeeping only; scores never see it)."""
    return time.time_ns() // 1_000_000


class ScoringTask(Task):  # type: ignore[misc]
    """The base of every scoring task: counts failures and retries per task in metrics."""

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any,
                   einfo: Any) -> None:
        m.TASK_FAILURES.labels(self.name).inc()
        log.error("task failed", extra={"task": self.name, "error": repr(exc)[:500]})

    def on_retry(self, exc: BaseException, task_id: str, args: Any, kwargs: Any,
                 einfo: Any) -> None:
        m.TASK_RETRIES.labels(self.name).inc()


def create_worker_app(settings: Settings | None = None) -> Celery:
    """Return the scoring workers' Celery app with its tasks registered."""
    settings = settings or Settings.from_env()
    app = make_celery(settings, main="aicity-scoring")
    app.Task = ScoringTask
    ctx = Worker(settings, app)

    def record(report: handlers.RecomputeReport, seconds: float) -> None:
        city = report.city_id
        if report.status == "methodology":
            log.warning("methodology mismatch: worker runs %s", ctx.methodology.version,
                        extra={"city_id": city})
            return
        m.RECOMPUTE_CONFLICTS.inc(report.conflicts)
        if report.status == "failed":
            m.CITY_FAILURES.inc()
            log.error("city not scored; left dirty", extra={"city_id": city,
                                                            "error": report.error})
            return
        if report.status == "conflict":
            # Still dirty with no pending flag: the sweeper re-queues it within seconds.
            log.warning("gave up after conflicts; left to the sweeper", extra={"city_id": city})
            return
        m.RECOMPUTE_DURATION.observe(seconds)
        m.RECOMPUTES.labels(report.status).inc()
        m.EVENTS_PER_RECOMPUTE.observe(report.events)
        m.EVENTS_APPLIED.labels("applied").inc(report.applied)
        m.EVENTS_APPLIED.labels("superseded").inc(report.superseded)
        if report.dead:
            m.EVENTS_DEAD_LETTERED.inc(report.dead)
            log.warning("events dead-lettered", extra={"city_id": city, "events": report.dead})
            ctx.publisher.hooks_deliver(hook_handlers.dead_lettered(
                ctx.hooks, city, report.dead_letters, now_ms()))
        for lag in report.lags_ms:
            m.ACK_TO_VISIBLE.observe(max(lag, 0) / 1000.0)
        if report.status == "changed":
            log.debug("recomputed", extra={
                "city_id": city, "events": report.events, "ranking_version": report.ranking_version,
                "rank": report.new_rank})

    @app.task(name=RECOMPUTE_CITIES, bind=True, max_retries=8,
              autoretry_for=(redis.ConnectionError, redis.TimeoutError),
              retry_backoff=True, retry_backoff_max=30)
    def recompute_cities(self: Any, cities: list[str]) -> None:
        """Recompute cities' scores and ranking entries (one round trip for them all)."""
        started = time.perf_counter()
        reports = handlers.recompute_cities(
            cities, ctx.store, ctx.methodology, now_ms, settings.recompute_max_events)
        per_city = (time.perf_counter() - started) / max(len(reports), 1)
        for report in reports:
            record(report, per_city)
        m.LAST_RECOMPUTE.set_to_current_time()
        log.info("recomputed cities", extra={
            "cities": len(reports), "events": sum(r.events for r in reports),
            "changed": sum(1 for r in reports if r.status == "changed"),
            "ranking_version": max((r.ranking_version for r in reports), default=0),
            "city_id": reports[0].city_id if len(reports) == 1 else None})
        if any(r.status == "changed" for r in reports) and ctx.hooks.want_dispatch():
            ctx.publisher.hooks_dispatch()  # one flag check; the HTTP is in other tasks
        full = [r.city_id for r in reports if r.events >= settings.recompute_max_events]
        if full:  # more waiting than one recompute folds in: go round again
            ctx.publisher.recompute(ctx.store.claim_pending(full))

    @app.task(name=DAILY_TICK)
    def daily_tick() -> bool:
        """Move the index date to today (UTC) with an index.ticked event in the log."""
        now = datetime.now(UTC)
        event = tick_event(now.date())
        result = accept([ctx.codec.dump(event)], SYSTEM_FEED, ctx.ports, now)
        if result.results[0]["status"] == "rejected":
            raise RuntimeError(f"daily tick refused: {result.results[0]['errors']}")
        if result.rebuild:
            m.REBUILDS.labels("index_date").inc()
        log.info("daily tick", extra={"event_id": event.event_id, "rebuild": result.rebuild})
        return result.rebuild

    @app.task(name=SWEEP)
    def sweep() -> int:
        """Queue a recompute for every dirty city that has none queued; trim the event log."""
        cities = handlers.sweep(ctx.store)
        ctx.publisher.recompute(cities)
        m.SWEPT.inc(len(cities))
        m.LOG_TRIMMED.inc(ctx.log.trim(now_ms()))
        m.REVIEW_EXPIRED.inc(review_handlers.expire(
            ctx.review, ctx.settings.review_held_retention_seconds, ctx.ports.stats,
            datetime.now(UTC)))
        # a slice of 500 cities per sweep; a pass at most once per thinning interval
        m.HISTORY_THINNED.inc(ctx.history.thin_step())
        band_handlers.sweep_bands(ctx.bands, ctx.publisher.bands)
        return len(cities)  # webhook retries are swept by the hooks worker (services/hooks)

    @app.task(name=RANK_BANDS)
    def rank_bands() -> int:
        """Recompute the rank bands of the current ranking (queued debounced, see handler)."""
        started = time.perf_counter()
        report = band_handlers.recompute_bands(ctx.reader, ctx.bands, ctx.methodology)
        log.info("rank bands", extra={"ranking_version": report.ranking_version,
                                      "cities": report.cities, "written": report.written,
                                      "seconds": round(time.perf_counter() - started, 3)})
        return report.ranking_version

    @worker_ready.connect(weak=False)
    def on_ready(**_: Any) -> None:
        configure_logging(settings)
        # One line per task received/succeeded is noise at thousands of tasks a minute; the
        # task logs its own summary, and failures still log at WARNING/ERROR.
        for name in ("celery.app.trace", "celery.worker.strategy"):
            logging.getLogger(name).setLevel(logging.WARNING)
        if settings.worker_metrics_port:
            start_http_server(settings.worker_metrics_port, addr=settings.worker_metrics_host)
        seeded = handlers.seed_history(ctx.history, ctx.history.without_history())
        if seeded:  # a store written before history was kept: its present is its first point
            log.info("history seeded", extra={"cities": seeded})
        if ctx.store.ensure_methodology(ctx.methodology.version):
            m.REBUILDS.labels("methodology").inc()
            log.info("methodology changed: full rebuild", extra={
                "methodology": ctx.methodology.version})
            ctx.publisher.sweep()

    return app

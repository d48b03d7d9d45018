"""Celery tasks of the hooks worker: thin wrappers around shared/commands/hooks.py.

Its own queue (aicity.hooks) and process, on the gevent pool: a receiver that hangs,
trickles, redirects or answers a huge body holds one greenlet of this worker for at most
one attempt's deadline, never a scoring worker.
"""

from __future__ import annotations

import logging
import time
from functools import cached_property
from typing import Any

from celery import Celery, Task
from celery.signals import worker_ready
from gevent import monkey
from prometheus_client import start_http_server

from services.hooks import metrics as m
from services.hooks.sender import Sender
from shared.bootstrap import Worker, delivery_limits
from shared.commands import hooks as handlers
from shared.platform.logs import configure_logging
from shared.platform.messaging import HOOKS_DELIVER, HOOKS_DISPATCH, HOOKS_SWEEP, make_celery
from shared.platform.settings import Settings

log = logging.getLogger("aicity.hooks")


def now_ms() -> int:
    """Return the wall clock in milliseconds (webhook timestamps, budgets, retry times)."""
    return time.time_ns() // 1_000_000


class HooksContext(Worker):
    """Adapters of the hooks worker, built on first use."""

    @cached_property
    def sender(self) -> Sender:
        return Sender(self.settings.hooks_response_max_bytes, self.settings.hooks_concurrency)


class HooksTask(Task):  # type: ignore[misc]
    """The base of every hooks task: counts and logs failures."""

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any,
                   einfo: Any) -> None:
        m.TASK_FAILURES.labels(self.name).inc()
        log.error("task failed", extra={"task": self.name, "error": repr(exc)[:500]})


def create_hooks_app(settings: Settings | None = None) -> Celery:
    """Return the hooks worker's Celery app with its tasks registered."""
    settings = settings or Settings.from_env()
    app = make_celery(settings, main="aicity-hooks")
    app.conf.worker_concurrency = settings.hooks_concurrency  # greenlets (--pool gevent)
    app.Task = HooksTask
    ctx = HooksContext(settings, app)
    limits = delivery_limits(settings)

    @app.task(name=HOOKS_DISPATCH)
    def hooks_dispatch() -> int:
        """Queue deliveries for the ranking changes after the dispatcher's cursor."""
        report = handlers.dispatch(ctx.hooks, ctx.reader)
        ctx.publisher.hooks_deliver(report.hooks)
        return report.deliveries

    @app.task(name=HOOKS_DELIVER)
    def hooks_deliver(hook_id: str) -> int:
        """Send a hook's queued deliveries within the task budget (retries are scheduled)."""
        report = handlers.deliver(ctx.hooks, hook_id, ctx.sender.post, now_ms, limits)
        if report.busy:
            m.HOOK_BUSY.inc()
        for a in report.attempts:
            m.HOOK_DELIVERIES.labels(m.OUTCOMES[a.outcome]).inc()
            m.HOOK_ATTEMPT_DURATION.observe(max(a.duration_ms, 0) / 1000.0)
            if a.outcome == "sent" and a.latency_ms is not None:
                m.HOOK_LATENCY.observe(max(a.latency_ms, 0) / 1000.0)
        if report.more:  # budget spent with work left: to the back of the queue, others first
            ctx.publisher.hooks_deliver([hook_id])
        if report.attempts:
            outcomes: dict[str, int] = {}
            for a in report.attempts:
                outcomes[a.outcome] = outcomes.get(a.outcome, 0) + 1
            log.info("webhook deliveries", extra={"hook": hook_id, "outcomes": outcomes,
                                                  "attempts": len(report.attempts)})
        return len(report.attempts)

    @app.task(name=HOOKS_SWEEP)
    def hooks_sweep() -> int:
        """Re-queue due retries, deliver hooks left with work, re-send a lost dispatch."""
        report = handlers.sweep(ctx.hooks, now_ms())
        ctx.publisher.hooks_deliver(report.deliver)
        if report.dispatch:
            ctx.publisher.hooks_dispatch()
        return len(report.deliver)

    @worker_ready.connect(weak=False)
    def on_ready(**_: Any) -> None:
        configure_logging(settings)
        for name in ("celery.app.trace", "celery.worker.strategy"):
            logging.getLogger(name).setLevel(logging.WARNING)
        if settings.hooks_metrics_port:
            start_http_server(settings.hooks_metrics_port, addr=settings.worker_metrics_host)
        if not monkey.is_module_patched("socket"):
            log.warning("hooks worker not on the gevent pool: a receiver trickling its headers "
                        "is bounded per socket read only, not by the attempt deadline")

    return app

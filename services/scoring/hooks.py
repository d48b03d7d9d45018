"""Celery tasks of the webhooks: thin wrappers around shared/handlers/hooks.py."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import requests
from celery import Celery

from services.scoring import metrics as m
from shared.handlers import hooks as handlers
from shared.messaging import HOOKS_DELIVER, HOOKS_DISPATCH

if TYPE_CHECKING:
    from services.scoring.tasks import WorkerContext

log = logging.getLogger("aicity.scoring.hooks")
TIMEOUT = (1.0, 2.0)  # connect, read: a slow receiver holds a worker slot at most ~3 s
_OUTCOME_METRIC = {"sent": "sent", "retry": "retried", "failed": "failed",
                   "disabled": "disabled"}


def now_ms() -> int:
    """Return the wall clock in milliseconds (webhook timestamps and retry times)."""
    return time.time_ns() // 1_000_000


def register(app: Celery, ctx: WorkerContext) -> None:
    """Register the dispatch and delivery tasks on the worker app."""
    session = requests.Session()

    def post(url: str, headers: dict[str, str], body: str) -> int:
        resp = session.post(url, data=body.encode("utf-8"), headers=headers, timeout=TIMEOUT,
                            allow_redirects=False)
        return int(resp.status_code)

    @app.task(name=HOOKS_DISPATCH)
    def hooks_dispatch() -> int:
        """Queue deliveries for the ranking changes after the dispatcher's cursor."""
        report = handlers.dispatch(ctx.hooks, ctx.reader)
        ctx.publisher.hooks_deliver(report.hooks)
        return report.deliveries

    @app.task(name=HOOKS_DELIVER)
    def hooks_deliver(hook_id: str) -> int:
        """Send a hook's queued deliveries (retries are scheduled, never held as ETAs)."""
        attempts = handlers.deliver(ctx.hooks, hook_id, post, now_ms)
        for a in attempts:
            m.HOOK_DELIVERIES.labels(_OUTCOME_METRIC[a.outcome]).inc()
            if a.outcome == "sent" and a.latency_ms is not None:
                m.HOOK_LATENCY.observe(max(a.latency_ms, 0) / 1000.0)
        if len(attempts) >= 100:  # more waiting: go round again, others get a turn between
            ctx.publisher.hooks_deliver([hook_id])
        if attempts:
            log.info("webhook deliveries", extra={"hook": hook_id, "attempts": len(attempts),
                                                  "outcomes": _summary(attempts)})
        return len(attempts)


def _summary(attempts: list[handlers.Attempt]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in attempts:
        out[a.outcome] = out.get(a.outcome, 0) + 1
    return out

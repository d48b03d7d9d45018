"""Celery wiring shared by the publishers (ingest, CLI) and the scoring workers.

Celery is only the trigger: the data lives in the event log and the city inboxes, so a
lost message costs latency (the sweeper re-sends it), never data.
"""

from __future__ import annotations

from celery import Celery
from celery.schedules import crontab

from shared.platform.settings import Settings

QUEUE = "aicity.scoring"
# Webhook work has its own lane: a queue consumed only by the hooks worker (services/hooks),
# so a slow or hostile receiver never holds a scoring worker.
HOOKS_QUEUE = "aicity.hooks"
RECOMPUTE_CITIES = "aicity.recompute_cities"
TASK_CHUNK = 100  # cities per recompute message: one message per burst, not per city
SWEEP = "aicity.sweep"
DAILY_TICK = "aicity.daily_tick"
RANK_BANDS = "aicity.rank_bands"  # debounced: shared/commands/bands.py
HOOKS_DISPATCH = "aicity.hooks.dispatch"  # debounced: shared/commands/hooks.py
HOOKS_DELIVER = "aicity.hooks.deliver"  # one hook's queued deliveries (HTTP happens here)
HOOKS_SWEEP = "aicity.hooks.sweep"  # due retries, hooks with work and no task, lost dispatches
HOOK_TASKS = (HOOKS_DISPATCH, HOOKS_DELIVER, HOOKS_SWEEP)


def make_celery(settings: Settings, main: str = "aicity") -> Celery:
    """Return a Celery app configured for at-least-once delivery on the Redis broker."""
    app = Celery(main, broker=settings.redis_dsn(), set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=QUEUE,
        task_routes={name: {"queue": HOOKS_QUEUE} for name in HOOK_TASKS},
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options={"visibility_timeout": settings.visibility_timeout_seconds},
        broker_connection_retry_on_startup=True,
        worker_send_task_events=True,
        worker_hijack_root_logger=False,
        beat_schedule={
            "sweep-dirty-cities": {"task": SWEEP, "schedule": settings.sweep_interval_seconds},
            # Expires: with no hooks worker running, stale sweeps are dropped, not replayed.
            "sweep-hooks": {"task": HOOKS_SWEEP, "schedule": settings.sweep_interval_seconds,
                            "options": {"expires": 10 * settings.sweep_interval_seconds}},
        },
    )
    if settings.daily_tick:
        app.conf.beat_schedule["daily-index-tick"] = {
            "task": DAILY_TICK, "schedule": crontab(minute=5, hour=0)}
        app.conf.timezone = "UTC"
    return app


class Publisher:
    """Send recompute and sweep messages to the scoring workers, hook work to the hooks lane."""

    def __init__(self, app: Celery) -> None:
        self.app = app

    def recompute(self, cities: list[str]) -> None:
        """Queue recomputes of cities, up to TASK_CHUNK cities per message."""
        if not cities:
            return
        with self.app.producer_or_acquire() as producer:
            for start in range(0, len(cities), TASK_CHUNK):
                self.app.send_task(RECOMPUTE_CITIES, args=[cities[start:start + TASK_CHUNK]],
                                   producer=producer)

    def bands(self) -> None:
        """Queue one rank-band recompute (debounced by the caller, shared/commands/bands.py)."""
        self.app.send_task(RANK_BANDS)

    def hooks_dispatch(self) -> None:
        """Queue one webhook dispatch (debounced by the caller, shared/store/hooks.py)."""
        self.app.send_task(HOOKS_DISPATCH)

    def hooks_deliver(self, hooks: list[str]) -> None:
        """Queue one delivery task per hook that has deliveries waiting."""
        for hook in hooks:
            self.app.send_task(HOOKS_DELIVER, args=[hook])

    def sweep(self) -> None:
        """Queue a sweep: every dirty city without a queued recompute gets one."""
        self.app.send_task(SWEEP)

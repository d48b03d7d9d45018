"""Build the adapters every entrypoint needs (ingest, scoring and hooks workers, CLI) from settings."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from celery import Celery

from shared.events import EventCodec
from shared.handlers import hooks as hook_handlers
from shared.handlers.accept import Limits, Ports, Publisher
from shared.messaging import Publisher as TaskPublisher
from shared.settings import Settings
from shared.store.cities import CityStore
from shared.store.connection import Client, redis_client
from shared.store.events_log import EventLog
from shared.store.feed_stats import FeedStats
from shared.store.history import HistoryStore
from shared.store.hooks import HookStore
from shared.store.quota import FeedQuota
from shared.store.ranking import RankingReader
from shared.store.review import ReviewStore


def event_log(client: Client, settings: Settings) -> EventLog:
    """Return the event log adapter with the settings' retention and limits."""
    return EventLog(client, settings.pending_ttl_seconds, settings.event_retention_seconds,
                    settings.max_projects_per_city, settings.review_max_held_per_feed)


def city_store(client: Client, settings: Settings) -> CityStore:
    """Return the city state adapter the scoring workers commit through."""
    return CityStore(client, settings.pending_ttl_seconds, settings.history_max_entries,
                     settings.changes_maxlen)


def history_store(client: Client, settings: Settings) -> HistoryStore:
    """Return the kept history with the settings' retention tiers."""
    return HistoryStore(client, settings.history_tiers, settings.history_compact_interval_seconds)


def limits(settings: Settings) -> Limits:
    """Return the bounds the accept handler enforces."""
    return Limits(settings.occurred_at_max_skew_seconds, settings.backlog_limit,
                  settings.feed_backlog_share, settings.retry_after_seconds,
                  settings.state_record_cost)


def delivery_limits(settings: Settings) -> hook_handlers.DeliveryLimits:
    """Return the bounds of webhook delivery tasks (attempt deadline, task budget)."""
    return hook_handlers.DeliveryLimits(
        attempt_deadline_ms=int(settings.hooks_attempt_deadline_seconds * 1000),
        task_budget_ms=int(settings.hooks_task_budget_seconds * 1000))


def accept_ports(settings: Settings, codec: EventCodec, log: EventLog,
                 publisher: Publisher) -> Ports:
    """Return what the accept handler needs, with the per-feed quota on the log's Redis."""
    quota = FeedQuota(log.client, settings.feed_rate_limit, settings.feed_burst)
    hooks = HookStore(log.client)

    def notify_held(entries: list[dict[str, Any]]) -> None:
        publisher.hooks_deliver(hook_handlers.held(hooks, entries))

    return Ports(codec, log, publisher, quota, limits(settings), FeedStats(log.client),
                 cities=CityStore(log.client),
                 review=ReviewStore(log.client, settings.event_retention_seconds),
                 notify_held=notify_held)


class WorkerAdapters:
    """The adapters every Celery worker process uses (scoring, hooks), built on first use,
    after fork; each worker's context adds its own."""

    def __init__(self, settings: Settings, app: Celery) -> None:
        self.settings = settings
        self.app = app

    @cached_property
    def client(self) -> Client:
        return redis_client(self.settings)

    @cached_property
    def reader(self) -> RankingReader:
        return RankingReader(self.client)

    @cached_property
    def hooks(self) -> HookStore:
        return HookStore(self.client)

    @cached_property
    def publisher(self) -> TaskPublisher:
        return TaskPublisher(self.app)

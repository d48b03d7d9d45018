"""The one composition root: build what every entrypoint needs from settings.

`Ingest` (the ingest service), `Web` (the web service), `Worker` (the scoring and hooks
workers) and the small builders the CLI uses. Handlers never build adapters themselves;
tests build these with their own settings (a test Redis) or pass fakes to the handlers.
Services add only what is theirs (the web's fan-out and build id, the hooks' sender).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from celery import Celery

from shared.commands import hooks as hook_handlers
from shared.commands.accept import Limits, Ports, Publisher
from shared.contract.events import EventCodec
from shared.contract.methodology import Methodology, load_methodology
from shared.platform.messaging import Publisher as TaskPublisher
from shared.platform.messaging import make_celery
from shared.platform.ops import redis_readiness
from shared.platform.settings import Settings
from shared.queries.cache import VersionCache
from shared.queries.timeline import Timeline
from shared.store.bands import BandStore
from shared.store.cities import CityStore
from shared.store.connection import Client, bounded_redis_client, redis_client
from shared.store.events_log import EventLog
from shared.store.feed_stats import FeedStats
from shared.store.feeds import FeedStore
from shared.store.health import MemoryProbe, MemoryUse
from shared.store.history import HistoryStore
from shared.store.hooks import HookStore
from shared.store.quota import FeedQuota
from shared.store.ranking import RankingReader
from shared.store.review import ReviewStore

# Ingest /readyz's own connections: a burst that holds every connection of the shared pool
# must not make the instance look down (and be pulled out of rotation) while Redis is fine.
READY_CONNECTIONS = 2
READY_POOL_TIMEOUT_SECONDS = 1.0
# Redis connections one web process may hold for requests (the change reader has its
# own): under gevent every waiting request would otherwise open one.
WEB_REDIS_CONNECTIONS = 64


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


class Ingest:
    """The ingest service's adapters, built once per process by its app factory."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # A bounded, blocking pool: past ingest_redis_connections busy connections a request
        # waits (up to the pool timeout, then 503), never opens more.
        self.client = bounded_redis_client(settings, settings.ingest_redis_connections,
                                           settings.ingest_redis_pool_timeout_seconds)
        self.ready_client = bounded_redis_client(settings, READY_CONNECTIONS,
                                                 READY_POOL_TIMEOUT_SECONDS)
        self.ready_memory = MemoryProbe(self.ready_client)
        self.codec = EventCodec(load_methodology(settings.methodology))
        self.log = event_log(self.client, settings)
        self.feeds = FeedStore(self.client, settings.token_miss_cache_seconds)
        self.publisher = TaskPublisher(make_celery(settings, main="aicity-ingest"))
        self.ports = accept_ports(settings, self.codec, self.log, self.publisher)
        self.memory = MemoryProbe(self.client)  # INFO memory at most once a second
        self.cities = city_store(self.client, settings)  # read only: the dry run's impact
        self.ranking = RankingReader(self.client)
        self.stats = FeedStats(self.client)

    def ready(self) -> tuple[bool, dict[str, str]]:
        """Check Redis is reachable (on readiness's own connections) and the methodology is loaded."""
        return redis_readiness(self.ready_client, self.codec.methodology.version,
                               self.ready_memory, self.settings.redis_memory_high_ratio)

    def memory_high(self) -> MemoryUse | None:
        """Return Redis memory use if at or above the refusal threshold, else None."""
        use = self.memory.read()
        return use if use.high(self.settings.redis_memory_high_ratio) else None


class Web:
    """The web service's adapters and its one per-version cache, built once per process."""

    def __init__(self, settings: Settings, clock: Any = None) -> None:
        self.settings = settings
        self.client = bounded_redis_client(settings, WEB_REDIS_CONNECTIONS, timeout=5)
        self.methodology = load_methodology(settings.methodology)
        self.reader = RankingReader(self.client)
        self.history = history_store(self.client, settings)
        self.timeline = Timeline(self.history, self.methodology,
                                 lambda: dict(self.reader.scores()),
                                 clock=clock or self.history.now_ms)
        self.memory = MemoryProbe(self.client)
        self.bands = BandStore(self.client)
        self.cache = VersionCache(self.reader)

    def change_reader(self) -> RankingReader:
        """Return a ranking reader on a connection of its own (the stream's change reader)."""
        return RankingReader(redis_client(self.settings))

    def ready(self) -> tuple[bool, dict[str, str]]:
        """Check Redis is reachable and the methodology is loaded; report its memory use.

        Redis at maxmemory stays ready here: reads keep working (ingest refuses writes), and
        pulling every web replica out of rotation would turn a write problem into an outage.
        """
        return redis_readiness(self.client, self.methodology.version, self.memory,
                               self.settings.redis_memory_high_ratio, refuse_when_full=False)


class Worker:
    """The adapters of one Celery worker process (scoring or hooks), built on first use,
    after fork: a connection opened before the fork would be shared by every child."""

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

    @cached_property
    def methodology(self) -> Methodology:
        return load_methodology(self.settings.methodology)

    @cached_property
    def codec(self) -> EventCodec:
        return EventCodec(self.methodology)

    @cached_property
    def store(self) -> CityStore:
        return city_store(self.client, self.settings)

    @cached_property
    def history(self) -> HistoryStore:
        return history_store(self.client, self.settings)

    @cached_property
    def bands(self) -> BandStore:
        return BandStore(self.client)

    @cached_property
    def review(self) -> ReviewStore:
        return ReviewStore(self.client, self.settings.event_retention_seconds)

    @cached_property
    def log(self) -> EventLog:
        return event_log(self.client, self.settings)

    @cached_property
    def ports(self) -> Ports:
        return accept_ports(self.settings, self.codec, self.log, self.publisher)

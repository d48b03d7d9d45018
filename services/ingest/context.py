"""The ingest service's adapters, built once per process by the app factory."""

from __future__ import annotations

from dataclasses import dataclass, field

import redis

from shared.bootstrap import accept_ports, city_store, event_log
from shared.events import EventCodec
from shared.handlers.accept import Ports
from shared.messaging import Publisher, make_celery
from shared.methodology import load_methodology
from shared.ops import redis_readiness
from shared.settings import Settings
from shared.store.cities import CityStore
from shared.store.connection import bounded_redis_client
from shared.store.events_log import EventLog
from shared.store.feed_stats import FeedStats
from shared.store.feeds import FeedStore
from shared.store.health import MemoryProbe, MemoryUse
from shared.store.ranking import RankingReader

# /readyz's own connections: a burst that holds every connection of the shared pool must not
# make the instance look down (and be pulled out of rotation) while Redis is fine.
READY_CONNECTIONS = 2
READY_POOL_TIMEOUT_SECONDS = 1.0


@dataclass
class IngestContext:
    settings: Settings
    client: redis.Redis = field(init=False)
    ready_client: redis.Redis = field(init=False)
    ready_memory: MemoryProbe = field(init=False)
    codec: EventCodec = field(init=False)
    log: EventLog = field(init=False)
    feeds: FeedStore = field(init=False)
    publisher: Publisher = field(init=False)
    ports: Ports = field(init=False)
    memory: MemoryProbe = field(init=False)
    cities: CityStore = field(init=False)  # read only: the dry run's impact
    ranking: RankingReader = field(init=False)
    stats: FeedStats = field(init=False)

    def __post_init__(self) -> None:
        # A bounded, blocking pool: past ingest_redis_connections busy connections a request
        # waits (up to the pool timeout, then 503), never opens more.
        self.client = bounded_redis_client(self.settings, self.settings.ingest_redis_connections,
                                           self.settings.ingest_redis_pool_timeout_seconds)
        self.ready_client = bounded_redis_client(self.settings, READY_CONNECTIONS,
                                                 READY_POOL_TIMEOUT_SECONDS)
        self.ready_memory = MemoryProbe(self.ready_client)
        self.codec = EventCodec(load_methodology(self.settings.methodology))
        self.log = event_log(self.client, self.settings)
        self.feeds = FeedStore(self.client, self.settings.token_miss_cache_seconds)
        self.publisher = Publisher(make_celery(self.settings, main="aicity-ingest"))
        self.ports = accept_ports(self.settings, self.codec, self.log, self.publisher)
        self.memory = MemoryProbe(self.client)  # INFO memory at most once a second
        self.cities = city_store(self.client, self.settings)
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

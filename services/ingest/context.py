"""The ingest service's adapters, built once per process by the app factory."""

from __future__ import annotations

from dataclasses import dataclass, field

import redis

from shared.events import EventCodec
from shared.messaging import Publisher, make_celery
from shared.methodology import load_methodology
from shared.ops import redis_readiness
from shared.settings import Settings
from shared.store import keys as K
from shared.store.connection import redis_client
from shared.store.events_log import EventLog
from shared.store.feeds import FeedStore


@dataclass
class IngestContext:
    settings: Settings
    client: redis.Redis = field(init=False)
    codec: EventCodec = field(init=False)
    log: EventLog = field(init=False)
    feeds: FeedStore = field(init=False)
    publisher: Publisher = field(init=False)

    def __post_init__(self) -> None:
        self.client = redis_client(self.settings)
        self.codec = EventCodec(load_methodology(self.settings.methodology))
        self.log = EventLog(self.client, self.settings.pending_ttl_seconds)
        self.feeds = FeedStore(self.client)
        self.publisher = Publisher(make_celery(self.settings, main="aicity-ingest"))

    def backlog(self) -> int:
        """Return events accepted but not yet folded into a score."""
        return int(self.client.get(K.BACKLOG) or 0)

    def known_cities(self, cities: list[str]) -> set[str]:
        """Return which of cities already exist."""
        flags = self.client.smismember(K.CITIES, cities)
        return {c for c, f in zip(cities, flags) if f}

    def ready(self) -> tuple[bool, dict[str, str]]:
        """Check Redis is reachable and the methodology is loaded."""
        return redis_readiness(self.client, self.codec.methodology.version)

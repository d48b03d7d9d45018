"""The web service's adapters, built once per process by the app factory."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import redis
from flask import g, has_request_context, request

from services.web.caching import build_id
from services.web.fanout import Fanout
from shared import readmodel
from shared.bootstrap import history_store
from shared.handlers import params
from shared.handlers.params import Point
from shared.handlers.timeline import Timeline
from shared.methodology import Methodology, load_methodology
from shared.ops import redis_readiness
from shared.settings import Settings
from shared.store.bands import BandStore
from shared.store.connection import bounded_redis_client, redis_client
from shared.store.health import MemoryProbe
from shared.store.ranking import IndexMeta, RankingReader

# Redis connections one web process may hold for requests (the change reader has its
# own): under gevent every waiting request would otherwise open one.
REDIS_CONNECTIONS = 64


@dataclass
class WebContext:
    settings: Settings
    client: redis.Redis = field(init=False)
    methodology: Methodology = field(init=False)
    reader: RankingReader = field(init=False)
    timeline: Timeline = field(init=False)
    memory: MemoryProbe = field(init=False)
    fanout: Fanout = field(init=False)
    build: str = field(init=False)
    _cache: dict[Any, Any] = field(init=False, default_factory=dict)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.client = bounded_redis_client(self.settings, REDIS_CONNECTIONS, timeout=5)
        self.methodology = load_methodology(self.settings.methodology)
        self.reader = RankingReader(self.client)
        self.timeline = Timeline(history_store(self.client, self.settings), self.methodology,
                                 lambda: dict(self.reader.scores()), clock=self.now_ms)
        self.memory = MemoryProbe(self.client)
        self.fanout = Fanout(lambda: RankingReader(redis_client(self.settings)), self.reader,
                             self.settings.sse_max_viewers)
        self.build = build_id()

    def stamp(self) -> IndexMeta:
        """Return the index metadata (ranking version, date), read once per request."""
        meta: IndexMeta | None = g.get("aicity_meta")
        if meta is None:
            meta = g.aicity_meta = self.reader.meta()
        return meta

    def now_ms(self) -> int:
        """Return the Redis clock (the one versions are stamped with), read once per request:
        every moment of a request, its cache key and its ETag count from this reading."""
        if not has_request_context():
            return self.timeline.history.now_ms()
        now: int | None = g.get("aicity_now")
        if now is None:
            now = g.aicity_now = self.timeline.history.now_ms()
        return now

    def moment(self, name: str) -> Point | None:
        """Return the request's as_of= or until= (None if not given), parsed once."""
        moments: dict[str, Point | None] = g.setdefault("aicity_moments", {})
        if name not in moments:
            text = request.args.get(name) or None
            moments[name] = None if text is None else params.moment(
                name, text, self.now_ms(), spans=name != "as_of")
        return moments[name]

    def since(self) -> Point:
        """Return the request's since= (default: the start of the UTC day), parsed once."""
        point: Point | None = g.get("aicity_since")
        if point is None:
            point = g.aicity_since = params.since_point(request.args.get("since") or None,
                                                        self.now_ms())
        return point

    def ranked(self, pillar: str | None) -> tuple[int, list[dict[str, Any]]]:
        """Return the ranked rows in the read model, cached per ranking version."""
        version = self.stamp().ranking_version
        with self._lock:
            hit = self._cache.get(pillar)
        if hit is not None and hit[0] == version:
            return hit  # type: ignore[no-any-return]
        fresh_version, rows = self.reader.ranked(pillar)
        fresh = (fresh_version, readmodel.rows(rows))
        with self._lock:
            self._cache[pillar] = fresh
        return fresh

    def ranks(self, pillar: str | None) -> dict[str, int]:
        """Return every ranked city's competition rank, cached per ranking version."""
        version = self.stamp().ranking_version
        with self._lock:
            hit = self._cache.get(("ranks", pillar))
        if hit is not None and hit[0] == version:
            return hit[1]  # type: ignore[no-any-return]
        fresh = self.reader.ranks(pillar)
        with self._lock:
            self._cache[("ranks", pillar)] = fresh
        return fresh[1]

    def bands(self) -> dict[str, Any] | None:
        """Return the published rank bands, cached per bands version (never computed here)."""
        version = self.stamp().bands_version
        if version < 0:
            return None
        with self._lock:
            hit = self._cache.get("bands")
        if hit is not None and hit[0] == version:
            return hit[1]  # type: ignore[no-any-return]
        fresh = BandStore(self.client).read()
        with self._lock:
            self._cache["bands"] = (version, fresh)
        return fresh

    def cached_body(self, key: Any, build: Any) -> tuple[int, Any]:
        """Return (ranking version, body) for key, built once per ranking and bands version."""
        meta = self.stamp()
        version, bands = meta.ranking_version, meta.bands_version
        with self._lock:
            hit = self._cache.get(("body", key))
        if hit is not None and hit[0] == version and hit[2] == bands:
            return hit[0], hit[1]
        body = build()
        with self._lock:
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[("body", key)] = (version, body, bands)
        return version, body

    def ready(self) -> tuple[bool, dict[str, str]]:
        """Check Redis is reachable and the methodology is loaded; report its memory use.

        Redis at maxmemory stays ready here: reads keep working (ingest refuses writes), and
        pulling every web replica out of rotation would turn a write problem into an outage.
        """
        return redis_readiness(self.client, self.methodology.version, self.memory,
                               self.settings.redis_memory_high_ratio, refuse_when_full=False)

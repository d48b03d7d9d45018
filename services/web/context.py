"""The web service's adapters, built once per process by the app factory."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import redis

from shared.methodology import Methodology, load_methodology
from shared.ops import redis_readiness
from shared.settings import Settings
from shared.store.connection import redis_client
from shared.store.ranking import RankingReader


@dataclass
class WebContext:
    settings: Settings
    client: redis.Redis = field(init=False)
    methodology: Methodology = field(init=False)
    reader: RankingReader = field(init=False)
    _cache: dict[Any, Any] = field(init=False, default_factory=dict)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.client = redis_client(self.settings)
        self.methodology = load_methodology(self.settings.methodology)
        self.reader = RankingReader(self.client)

    def ranked(self, pillar: str | None) -> tuple[int, list[dict[str, Any]]]:
        """Return the ranked rows, cached per ranking version (one cheap read to check)."""
        version = self.reader.version()
        with self._lock:
            hit = self._cache.get(pillar)
        if hit is not None and hit[0] == version:
            return hit  # type: ignore[no-any-return]
        fresh = self.reader.ranked(pillar)
        with self._lock:
            self._cache[pillar] = fresh
        return fresh

    def cached_body(self, key: Any, build: Any) -> tuple[int, Any]:
        """Return (ranking version, body) for key, built once per ranking version."""
        version = self.reader.version()
        with self._lock:
            hit = self._cache.get(("body", key))
        if hit is not None and hit[0] == version:
            return hit  # type: ignore[no-any-return]
        body = build()
        with self._lock:
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[("body", key)] = (version, body)
        return version, body

    def ready(self) -> tuple[bool, dict[str, str]]:
        """Check Redis is reachable and the methodology is loaded."""
        return redis_readiness(self.client, self.methodology.version)

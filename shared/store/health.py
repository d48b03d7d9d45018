"""Redis memory health: used memory against maxmemory, read from INFO and cached briefly.

With `maxmemory-policy noeviction`, Redis refuses every write once `used_memory` passes
`maxmemory` (an `OOM command not allowed` error). Ingest checks this before storing so it
can answer 503 with Retry-After instead of failing half way; /readyz and the metrics
report it. One INFO call per process per second at most, whatever the request rate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

from shared.store.connection import Client

OOM_MARKERS = ("OOM command not allowed", "command not allowed when used memory")


@dataclass(frozen=True)
class MemoryUse:
    used: int  # bytes (INFO memory used_memory)
    maxmemory: int  # bytes; 0 means no limit

    @property
    def ratio(self) -> float | None:
        """Return used / maxmemory, or None when Redis has no limit."""
        return self.used / self.maxmemory if self.maxmemory else None

    def high(self, threshold: float) -> bool:
        """Return True when used memory is at or above threshold x maxmemory."""
        return bool(self.maxmemory) and self.used >= threshold * self.maxmemory

    def describe(self) -> str:
        """Return e.g. '1.9 MiB of 2.0 MiB (95%)' or '1.9 MiB (no maxmemory)'."""
        if not self.maxmemory:
            return f"{_mib(self.used)} (no maxmemory)"
        return f"{_mib(self.used)} of {_mib(self.maxmemory)} ({self.used / self.maxmemory:.0%})"


def _mib(n: int) -> str:
    return f"{n / 1_048_576:.1f} MiB"


def read_memory(client: Client) -> MemoryUse:
    """Return Redis's used memory and maxmemory now (one INFO memory call)."""
    info = client.info("memory")
    return MemoryUse(int(info.get("used_memory", 0)), int(info.get("maxmemory", 0)))


class MemoryProbe:
    """read_memory() cached for ttl seconds (thread-safe; errors are never cached)."""

    def __init__(self, client: Client, ttl: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._value: MemoryUse | None = None
        self._at = 0.0

    def read(self) -> MemoryUse:
        """Return the memory use, at most ttl seconds old."""
        now = self.clock()
        with self._lock:
            if self._value is not None and now - self._at < self.ttl:
                return self._value
        value = read_memory(self.client)
        with self._lock:
            self._value, self._at = value, now
        return value


def is_oom_error(exc: BaseException) -> bool:
    """Return True if exc (or what caused it) is Redis refusing a write at maxmemory.

    redis-py raises OutOfMemoryError for replies starting with "OOM"; a Lua script's
    write refused at maxmemory arrives on Redis 6 as a ResponseError naming the OOM
    inside, and client libraries (kombu) may wrap either in their own error type.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, redis.exceptions.OutOfMemoryError):
            return True
        text = str(current)
        if text.startswith("OOM") or any(marker in text for marker in OOM_MARKERS):
            return True
        current = current.__cause__ or current.__context__
    return False

"""Redis client construction."""

from __future__ import annotations

from typing import Any, TypeAlias

import redis

from shared.platform.settings import Settings

# redis-py types every reply as bytes | str whatever decode_responses says; our clients
# always decode, so the store modules treat the client as dynamically typed.
Client: TypeAlias = Any

# Decoded strings and sane timeouts, for every client we build.
_OPTIONS: dict[str, Any] = {"decode_responses": True, "socket_connect_timeout": 2,
                            "socket_timeout": 10, "health_check_interval": 30}
# What a BlockingConnectionPool raises when no connection frees up within its timeout (a
# redis.ConnectionError; the default pool raises MaxConnectionsError at its limit instead).
POOL_EXHAUSTED = "No connection available."


def redis_client(settings: Settings) -> Client:
    """Return a Redis client for settings.redis_dsn() (decoded strings, sane timeouts)."""
    return redis.Redis.from_url(settings.redis_dsn(), **_OPTIONS)


def bounded_redis_client(settings: Settings, max_connections: int = 64,
                         timeout: float = 3.0) -> Client:
    """Return a client like redis_client() whose pool holds at most max_connections.

    A command that finds them all busy waits up to timeout seconds for one to come back,
    then raises redis.ConnectionError(POOL_EXHAUSTED): a burst of requests queues briefly
    instead of opening a connection each (the default pool's limit then fails at once).
    """
    pool = redis.BlockingConnectionPool.from_url(
        settings.redis_dsn(), max_connections=max_connections, timeout=timeout, **_OPTIONS)
    return redis.Redis(connection_pool=pool)


def pool_exhausted(exc: BaseException) -> bool:
    """Tell whether exc says the client's pool had no connection to give (not Redis down)."""
    return isinstance(exc, redis.MaxConnectionsError) or (
        isinstance(exc, redis.ConnectionError) and str(exc) == POOL_EXHAUSTED)

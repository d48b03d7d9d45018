"""Redis client construction."""

from __future__ import annotations

import redis

from shared.settings import Settings


def redis_client(settings: Settings) -> redis.Redis:
    """Return a Redis client for settings.redis_url (decoded strings, sane timeouts)."""
    return redis.Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=10,
        health_check_interval=30,
    )

"""Redis client construction."""

from __future__ import annotations

from typing import Any, TypeAlias

import redis

from shared.settings import Settings

# redis-py types every reply as bytes | str whatever decode_responses says; our clients
# always decode, so the store modules treat the client as dynamically typed.
Client: TypeAlias = Any


def redis_client(settings: Settings) -> Client:
    """Return a Redis client for settings.redis_dsn() (decoded strings, sane timeouts)."""
    return redis.Redis.from_url(
        settings.redis_dsn(),
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=10,
        health_check_interval=30,
    )

"""Redis connections under a burst (issue 18, finding 4): ingest's pool is bounded and blocking,
a request that cannot get a connection in time (or finds Redis down) answers 503 with
Retry-After and the cause, never 500, in ingest and web alike; /readyz has connections of
its own; a bogus token is looked up once, not once per request.

The apps run in-process (Flask test clients) against a real redis-server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis

from services.ingest.app import create_app as create_ingest
from services.web.app import create_app as create_web
from shared.platform.settings import Settings
from shared.store.connection import bounded_redis_client
from shared.store.feeds import FeedStore
from tests.support.events import city
from tests.support.procs import RedisProc

pytestmark = pytest.mark.integration

POOL = 3


@pytest.fixture
def redis_proc(tmp_path: Path) -> Iterator[RedisProc]:
    """A real redis-server."""
    proc = RedisProc(tmp_path / "redis").start()
    yield proc
    proc.kill()


def _settings(proc: RedisProc, **overrides: Any) -> Settings:
    return Settings.from_env(redis_url=proc.url, log_json=False, **overrides)


@contextmanager
def _held(client: Any, n: int) -> Iterator[None]:
    """Hold n connections of client's pool, as n slow requests would."""
    pool = client.connection_pool
    taken = [pool.get_connection() for _ in range(n)]
    try:
        yield
    finally:
        for conn in taken:
            pool.release(conn)


def _assert_503(resp: Any, cause: str) -> None:
    assert resp.status_code == 503, resp.get_data(as_text=True)
    assert resp.headers["Retry-After"].isdigit() and int(resp.headers["Retry-After"]) >= 1
    doc = resp.get_json()
    assert doc["cause"] == cause and doc["status"] == 503 and doc["error"], doc


def test_a_busy_pool_is_a_503_with_retry_after_and_readyz_stays_ready(
        redis_proc: RedisProc) -> None:
    app = create_ingest(_settings(redis_proc, ingest_redis_connections=POOL,
                                  ingest_redis_pool_timeout_seconds=0.2))
    ctx = app.extensions["aicity"]
    client = app.test_client()
    token = FeedStore(redis_proc.client()).create("admin", None)
    auth = {"Authorization": f"Bearer {token}"}
    assert client.post("/v1/events", json=city("seoul"), headers=auth).status_code == 202
    assert ctx.client.connection_pool.max_connections == POOL
    with _held(ctx.client, POOL):
        _assert_503(client.post("/v1/events", json=city("seoul"), headers=auth),
                    "redis_pool_busy")
        ready = client.get("/readyz")  # its own connections: the instance is not "down"
        assert ready.status_code == 200 and ready.get_json()["checks"]["redis"] == "ok"
    assert client.post("/v1/events", json=city("busan"), headers=auth).status_code == 202
    # More connections than the pool holds never open: a client waits instead.
    assert len(ctx.client.connection_pool._connections) <= POOL


def test_redis_down_is_a_503_not_a_500(redis_proc: RedisProc) -> None:
    app = create_ingest(_settings(redis_proc, ingest_redis_pool_timeout_seconds=0.2))
    token = FeedStore(redis_proc.client()).create("admin", None)
    redis_proc.kill()
    resp = app.test_client().post("/v1/events", json=city("seoul"),
                                  headers={"Authorization": f"Bearer {token}"})
    _assert_503(resp, "redis_unavailable")
    assert app.test_client().get("/readyz").status_code == 503


def test_the_web_maps_a_busy_pool_to_503_too(redis_proc: RedisProc) -> None:
    app = create_web(_settings(redis_proc))
    ctx = app.extensions["aicity"]
    ctx.client.connection_pool.timeout = 0.2  # the web's own wait is 5 s
    client = app.test_client()
    assert client.get("/api/v1/rankings").status_code == 200
    with _held(ctx.client, ctx.client.connection_pool.max_connections):
        _assert_503(client.get("/api/v1/rankings"), "redis_pool_busy")


def test_bounded_client_waits_for_a_connection_then_raises(redis_proc: RedisProc) -> None:
    client = bounded_redis_client(_settings(redis_proc), max_connections=1, timeout=0.2)
    assert client.ping()
    with _held(client, 1), pytest.raises(redis.ConnectionError, match="No connection available"):
        client.ping()
    assert client.ping()


def _hget_calls(proc: RedisProc) -> int:
    stats = proc.client().info("commandstats")
    return int(stats.get("cmdstat_hget", {}).get("calls", 0))


def test_a_bogus_token_costs_one_lookup_per_process_not_one_per_request(
        redis_proc: RedisProc) -> None:
    client = create_ingest(_settings(redis_proc, token_miss_cache_seconds=60)).test_client()
    bogus = {"Authorization": "Bearer aci_not-a-token"}
    before = _hget_calls(redis_proc)
    for _ in range(20):
        assert client.post("/v1/events", json=city("seoul"), headers=bogus).status_code == 401
    assert _hget_calls(redis_proc) - before == 1
    token = FeedStore(redis_proc.client()).create("late", None)  # a new token works at once
    good = {"Authorization": f"Bearer {token}"}
    assert client.post("/v1/events", json=city("seoul"), headers=good).status_code == 202
    FeedStore(redis_proc.client()).revoke("late")  # and a revoked one stops at once
    assert client.post("/v1/events", json=city("seoul"), headers=good).status_code == 401

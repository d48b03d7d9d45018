"""shared/store/health.py against a real redis-server: memory use, its cache, OOM detection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from shared.platform.ops import redis_readiness
from shared.store.health import MemoryProbe, MemoryUse, is_oom_error, read_memory
from tests.support.procs import RedisProc

pytestmark = pytest.mark.integration

LIMIT = 8 * 1024 * 1024


@pytest.fixture
def small_redis(tmp_path: Path) -> Iterator[RedisProc]:
    """A real redis-server with an 8 MB maxmemory (noeviction)."""
    proc = RedisProc(tmp_path / "redis", maxmemory=str(LIMIT)).start()
    yield proc
    proc.kill()


def test_memory_use_reads_info_and_judges_the_threshold(small_redis: RedisProc) -> None:
    use = read_memory(small_redis.client())
    assert use.maxmemory == LIMIT and 0 < use.used < LIMIT
    assert not use.high(0.9) and use.high(use.used / LIMIT)
    assert "of 8.0 MiB" in use.describe()
    assert not MemoryUse(10**9, 0).high(0.9)  # no maxmemory: never "high"
    assert MemoryUse(10**9, 0).ratio is None


def test_probe_caches_for_its_ttl(small_redis: RedisProc) -> None:
    now = [100.0]
    client = small_redis.client()
    probe = MemoryProbe(client, ttl=1.0, clock=lambda: now[0])
    assert probe.read().maxmemory == LIMIT
    client.config_set("maxmemory", str(2 * LIMIT))
    now[0] += 0.5
    assert probe.read().maxmemory == LIMIT  # cached
    now[0] += 0.6
    assert probe.read().maxmemory == 2 * LIMIT  # re-read after the ttl


def test_oom_errors_are_recognised_as_redis_raises_them(small_redis: RedisProc) -> None:
    client = small_redis.client()
    chunk = "x" * 100_000
    with pytest.raises(redis.exceptions.OutOfMemoryError) as plain:
        for n in range(10_000):
            client.set(f"junk:{n}", chunk)
    client.config_set("maxmemory", str(LIMIT // 2))  # now well past the limit
    assert is_oom_error(plain.value)
    with pytest.raises(redis.RedisError) as scripted:
        client.eval("return redis.call('SET', KEYS[1], ARGV[1])", 1, "k", "v")
    assert is_oom_error(scripted.value)
    # MULTI refuses even reads past maxmemory: why read paths must not use it.
    pipe = client.pipeline(transaction=True)
    pipe.get("k")
    with pytest.raises(redis.RedisError) as multi:
        pipe.execute()
    assert is_oom_error(multi.value)
    plain_pipe = client.pipeline(transaction=False)
    plain_pipe.get("k")
    assert plain_pipe.execute() == [None]
    # Wrapped by another library (kombu re-raises broker errors as its own type).
    try:
        try:
            client.set("k", "v")
        except redis.RedisError as exc:
            raise RuntimeError(str(exc)) from exc
    except RuntimeError as wrapped:
        assert is_oom_error(wrapped)
    assert not is_oom_error(redis.ResponseError("WRONGTYPE Operation against a key"))
    assert not is_oom_error(ValueError("nothing to do with Redis"))

    ok, checks = redis_readiness(client, "2025.1", MemoryProbe(client), 0.9)
    assert not ok and checks["redis_memory"].startswith("high:")
    ok, checks = redis_readiness(client, "2025.1", MemoryProbe(client), 0.9,
                                 refuse_when_full=False)
    assert ok and checks["redis_memory"].startswith("high:")

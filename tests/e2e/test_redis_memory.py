"""Redis full: ingest refuses with 503 + Retry-After (never 500, never 202), /readyz says why,
reads keep working, the gauge shows it, and ingest accepts again once memory is freed.

The whole stack runs as processes (gunicorn ingest and web, a Celery worker, beat) on a
real redis-server started with a small maxmemory (noeviction), then filled with junk keys
until Redis itself refuses writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from services.ingest.app import create_app as create_ingest
from shared.platform.settings import Settings
from tests.support.events import post_ndjson, reference_events
from tests.support.procs import RedisProc, Stack, wait_for

pytestmark = pytest.mark.e2e

CITIES = ("seoul", "singapore", "dubai")
LIMIT = 16 * 1024 * 1024
JUNK = "junk:"


@pytest.fixture
def small_stack(tmp_path: Path) -> Iterator[Stack]:
    """The stack on a Redis with maxmemory 16mb."""
    stack = Stack(tmp_path)
    stack.redis = RedisProc(tmp_path / "redis", maxmemory=str(LIMIT))
    stack.start(workers=1)
    try:
        yield stack
    finally:
        stack.stop()


def fill(client: redis.Redis) -> int:
    """Write junk until Redis refuses a write; return the keys written.

    Right after the refused write Redis frees that command's buffer and sits a few KB under
    maxmemory, where small writes pass again. Lowering maxmemory by 1 MB then leaves it past
    its limit, as a large batch script that overshoots does: every write is refused.
    """
    n = 0
    chunk = "x" * 100_000
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        while n < 10_000:
            client.set(f"{JUNK}{n}", chunk)
            n += 1
    client.config_set("maxmemory", str(LIMIT - 1024 * 1024))
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        client.set(f"{JUNK}probe", "x")
    return n


def one_event() -> dict[str, Any]:
    ev = next(e for e in reference_events()
              if e["type"] == "indicator.observed" and e.get("city_id") == "seoul")
    return dict(ev, event_id=str(uuid.uuid4()))


def test_redis_full_refuses_writes_cleanly_keeps_reads_and_recovers(small_stack: Stack) -> None:
    stack = small_stack
    token = stack.admin_token()
    auth = {"Authorization": f"Bearer {token}"}
    events = [e for e in reference_events() if e.get("city_id") in CITIES]
    assert post_ndjson(stack.ingest_url, token, events).status_code == 202
    stack.wait_idle(120)
    ranked = requests.get(f"{stack.web_url}/api/v1/rankings", timeout=10).json()["items"]
    assert {r["city_id"] for r in ranked} == set(CITIES)
    stored_id = next(e["event_id"] for e in events if e["type"] == "indicator.observed")

    client = stack.redis.client()
    assert fill(client) > 0
    info = client.info("memory")
    assert info["used_memory"] >= 0.9 * info["maxmemory"]

    # Ingest: every POST is 503 + Retry-After, never 500 or 202. Each gunicorn worker reads
    # INFO at most once a second, so for up to a second a worker may still let a batch
    # through to Redis, which refuses it whole (cause redis_memory_full); from then on the
    # check right after authentication refuses before storing (cause redis_memory_high).
    answers: list[requests.Response] = []
    sent: list[str] = []

    def refused_before_storing() -> bool:
        ev = one_event()
        sent.append(ev["event_id"])
        answers.append(requests.post(f"{stack.ingest_url}/v1/events", json=ev, headers=auth,
                                     timeout=10))
        causes = [a.json().get("cause") for a in answers[-4:] if a.status_code == 503]
        return causes == ["redis_memory_high"] * 4

    wait_for(refused_before_storing, 15, 0.1, what="ingest refuses before storing")
    for resp in answers:
        assert resp.status_code == 503, resp.text
        assert resp.headers["Retry-After"] == "5"
        body = resp.json()
        assert body["retry_after"] == 5 and "memory" in body["error"], body
        assert body["cause"] in ("redis_memory_high", "redis_memory_full"), body
    for event_id in sent:  # nothing was stored
        got = requests.get(f"{stack.ingest_url}/v1/events/{event_id}", headers=auth, timeout=10)
        assert got.status_code == 404, got.text

    # /readyz: ingest 503 naming memory; web stays ready (reads work) but reports it.
    def ingest_unready() -> dict[str, Any] | None:  # a Response is falsy when not ok
        got = requests.get(f"{stack.ingest_url}/readyz", timeout=10)
        return dict(got.json()) if got.status_code == 503 else None

    ready = wait_for(ingest_unready, 10, 0.1, what="ingest /readyz 503")
    assert ready["checks"]["redis_memory"].startswith("high:"), ready
    def web_reports_high() -> int | None:  # its probe is up to 1 s old
        got = requests.get(f"{stack.web_url}/readyz", timeout=10)
        return got.status_code if got.json()["checks"]["redis_memory"].startswith("high:") \
            else None

    assert wait_for(web_reports_high, 10, 0.1, what="web /readyz reports memory") == 200

    # Reads keep answering while Redis refuses writes (no MULTI on any read path).
    rankings = requests.get(f"{stack.web_url}/api/v1/rankings", timeout=10)
    assert rankings.status_code == 200 and len(rankings.json()["items"]) == len(CITIES)
    for path in ("/api/v1/cities/seoul", "/api/v1/cities/seoul/history", "/cities/seoul",
                 "/api/v1/rankings.csv", "/"):
        assert requests.get(f"{stack.web_url}{path}", timeout=10).status_code == 200, path
    status = requests.get(f"{stack.ingest_url}/v1/events/{stored_id}", headers=auth, timeout=10)
    assert status.status_code == 200 and status.json()["scored"] is True

    # The scrape-time gauge.
    metrics = requests.get(f"{stack.web_url}/metrics", timeout=10).text
    values = {line.split()[0]: float(line.split()[1]) for line in metrics.splitlines()
              if line.startswith("aicity_redis_")}
    assert values["aicity_redis_memory_used_ratio"] > 1.0  # past its limit
    assert values["aicity_redis_max_memory_bytes"] == LIMIT - 1024 * 1024

    # Past the ingest check (threshold above 100%), Redis's own OOM refusal is a 503 too.
    settings = Settings.from_env(redis_url=stack.redis.url, redis_memory_high_ratio=2.0,
                                 log_json=False)
    oom = create_ingest(settings).test_client().post("/v1/events", json=one_event(),
                                                      headers=auth)
    assert oom.status_code == 503, oom.get_data(as_text=True)
    assert oom.headers["Retry-After"] == "5" and oom.get_json()["cause"] == "redis_memory_full"

    # Memory freed: ingest accepts again, and the event is scored.
    client.delete(*client.keys(f"{JUNK}*"))
    accepted = one_event()
    wait_for(lambda: requests.post(f"{stack.ingest_url}/v1/events", json=accepted, headers=auth,
                                   timeout=10).status_code == 202, 15, 0.2,
             what="ingest accepts once memory is freed")
    wait_for(lambda: requests.get(f"{stack.ingest_url}/readyz", timeout=10).status_code == 200,
             15, 0.2, what="ingest ready again")
    wait_for(lambda: requests.get(f"{stack.ingest_url}/v1/events/{accepted['event_id']}",
                                  headers=auth, timeout=10).json()["scored"], 60, 0.2,
             what="the accepted event scored")

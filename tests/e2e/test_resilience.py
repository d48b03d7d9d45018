"""Order, duplicates, concurrency, worker and Redis crashes, replay: the index stays identical."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.contract.events import EventCodec
from shared.contract.methodology import load_methodology
from shared.domain.index import compute_index
from shared.store import broker
from shared.store.events_log import EventLog
from shared.store.ranking import RankingReader
from tests.support.events import post_ndjson, reference_events, strip_volatile
from tests.support.procs import REPO, Stack, wait_for

pytestmark = pytest.mark.e2e
CODEC = EventCodec(load_methodology())


def rankings(stack: Stack) -> dict[str, Any]:
    return dict(requests.get(f"{stack.web_url}/api/v1/rankings", timeout=30).json())


def canonical(doc: dict[str, Any]) -> bytes:
    return json.dumps(strip_volatile(doc), sort_keys=True).encode()


@pytest.fixture(scope="module")
def sequential(loaded_stack: tuple[Stack, str]) -> bytes:
    """The ranking JSON of the reference dataset posted in file order by one client."""
    stack, _ = loaded_stack
    return canonical(rankings(stack))


def shuffled_with_duplicates(seed: int) -> list[dict[str, Any]]:
    events = reference_events()
    rng = random.Random(seed)
    events += rng.sample(events, len(events) // 5)  # 20% duplicates
    rng.shuffle(events)
    return events


def post_concurrently(stack: Stack, token: str, events: list[dict[str, Any]], clients: int = 4,
                      batch: int = 500, between: Any = None) -> int:
    """Post events in batches from several clients; return how many got 'accepted'."""
    batches = [events[i:i + batch] for i in range(0, len(events), batch)]
    accepted = 0
    lock = threading.Lock()

    def send(n: int, chunk: list[dict[str, Any]]) -> None:
        nonlocal accepted
        if between is not None:
            between(n)
        resp = post_ndjson(stack.ingest_url, token, chunk)
        assert resp.status_code == 202, resp.text[:300]
        with lock:
            accepted += resp.json()["accepted"]

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, range(len(batches)), batches))
    return accepted


def test_shuffled_duplicated_concurrent_two_workers_equals_sequential(
        tmp_path: Path, sequential: bytes) -> None:
    stack = Stack(tmp_path).start(workers=2)
    try:
        token = stack.admin_token()
        accepted = post_concurrently(stack, token, shuffled_with_duplicates(7))
        assert accepted == len(reference_events())  # every duplicate detected
        stack.wait_idle(120)
        assert canonical(rankings(stack)) == sequential
    finally:
        stack.stop()


def test_worker_killed_mid_load_loses_nothing(tmp_path: Path, sequential: bytes) -> None:
    stack = Stack(tmp_path).start(workers=1)
    try:
        token = stack.admin_token()
        events = shuffled_with_duplicates(11)
        killed = threading.Event()
        unacked: list[int] = []

        def kill_at_half(n: int) -> None:
            if n == 12 and not killed.is_set():
                client = stack.redis.client()
                wait_for(lambda: RankingReader(client).version(), 10)
                # Kill while the worker holds a delivered, unacknowledged recompute message
                # (acks_late: it sits in kombu's "unacked" hash until the task finishes).
                wait_for(lambda: broker.unacked(client) > 0, 10, 0.001, what="a task in flight")
                stack.services["worker1"].stop(signal.SIGKILL)
                unacked.append(broker.unacked(client))
                killed.set()

        post_concurrently(stack, token, events, clients=2, between=kill_at_half)
        assert killed.is_set()
        assert stack.services["worker1"].proc.poll() is not None  # type: ignore[union-attr]
        assert unacked and unacked[0] > 0  # the dead worker's message was never acked
        stack.start_worker("worker2")
        stack.wait_idle(120)
        assert canonical(rankings(stack)) == sequential
    finally:
        stack.stop()


def test_redis_killed_and_restarted_from_aof_keeps_every_accepted_event(tmp_path: Path) -> None:
    stack = Stack(tmp_path, appendfsync="always").start(workers=1)
    try:
        token = stack.admin_token()
        events = reference_events()
        accepted_ids: list[str] = []
        for start in range(0, 4000, 500):
            resp = post_ndjson(stack.ingest_url, token, events[start:start + 500])
            assert resp.status_code == 202
            accepted_ids += [r["event_id"] for r in resp.json()["results"] if r["status"] == "accepted"]
        stack.redis.kill(signal.SIGKILL)
        stack.redis.start()  # same port, same directory: recovers from the AOF
        client = stack.redis.client()
        log = EventLog(client)
        assert log.length() == len(accepted_ids)
        missing = [i for i in accepted_ids if log.status(i) is None]
        assert missing == []
        # The rest of the dataset after the restart; the services reconnect by themselves.
        wait_for(lambda: requests.get(f"{stack.ingest_url}/readyz", timeout=2).status_code == 200, 30)
        for start in range(4000, len(events), 500):
            resp = post_ndjson(stack.ingest_url, token, events[start:start + 500])
            assert resp.status_code == 202
        client.publish("noop", "")  # Redis is answering
        stack.wait_idle(120)
        doc = rankings(stack)
        codec = EventCodec(load_methodology())
        offline = compute_index([codec.load(e) for e in events], codec.methodology)
        assert [i["city_id"] for i in doc["items"]] == [r.city_id for r in offline.ranking]
        assert [i["score"] for i in doc["items"]] == [r.score for r in offline.ranking]
    finally:
        stack.stop()


def _export(source: Stack, path: Path) -> list[str]:
    out = subprocess.run([sys.executable, "-m", "shared.cli.main", "export", str(path),
                          "--redis-url", source.redis.url], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return path.read_text().splitlines()


def _replay_into_fresh_stack(tmp: Path, export: Path, sequential: bytes) -> None:
    fresh = Stack(tmp)
    fresh.redis.start()
    fresh.start_worker("worker1")
    fresh.start_service("web")
    try:
        wait_for(lambda: requests.get(f"{fresh.web_url}/readyz", timeout=2).ok, 60)
        out = subprocess.run([sys.executable, "-m", "shared.cli.main", "replay", str(export),
                              "--redis-url", fresh.redis.url, "--wait", "120"], cwd=REPO,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert "0 rejected" in out.stderr
        assert canonical(rankings(fresh)) == sequential
        again = subprocess.run([sys.executable, "-m", "shared.cli.main", "replay", str(export),
                                "--redis-url", fresh.redis.url], cwd=REPO, capture_output=True,
                               text=True, timeout=60)
        assert again.returncode == 2 and "already has events" in again.stderr
    finally:
        fresh.stop()


def test_export_then_replay_rebuilds_identical_rankings(tmp_path: Path,
                                                        loaded_stack: tuple[Stack, str],
                                                        sequential: bytes) -> None:
    source, _ = loaded_stack
    lines = _export(source, tmp_path / "events.ndjson")
    assert sorted(lines) == sorted(  # every event once, in its canonical form
        CODEC.encode(CODEC.load(e)) for e in reference_events())
    _replay_into_fresh_stack(tmp_path / "fresh", tmp_path / "events.ndjson", sequential)


def test_after_the_log_is_trimmed_export_still_rebuilds_the_identical_index(
        tmp_path: Path, loaded_stack: tuple[Stack, str], sequential: bytes) -> None:
    """Retention drops old log entries; each city's winning events live on in its state."""
    source, _ = loaded_stack  # the last test of the module: it trims the shared stack's log
    log = EventLog(source.redis.client(), retention_seconds=1)
    log.trim(now_ms=int(time.time() * 1000) + 10_000)
    assert log.length() < len(reference_events()) // 10  # (approximate trimming keeps a tail)
    lines = _export(source, tmp_path / "events.ndjson")
    superseded = len(reference_events()) - len(lines)
    assert superseded > 0 and len({json.loads(x)["event_id"] for x in lines}) == len(lines)
    _replay_into_fresh_stack(tmp_path / "fresh", tmp_path / "events.ndjson", sequential)

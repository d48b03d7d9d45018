"""Bench phases for issue 8: the cost of rejected events, and Redis memory against retention.

Used by bench/bench.py (phases `rejected` and `memory`); each starts what it measures for real.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from shared.store.events_log import EventLog
from tests.support.procs import Stack, wait_for


def _poster(url: str, token: str, chunks: list[bytes], start_at: float, out: Any) -> None:
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    while time.time() < start_at:
        time.sleep(0.001)
    counts: dict[str, int] = {"accepted": 0, "rejected": 0}
    t0 = time.time()
    for body in chunks:
        while True:
            resp = session.post(f"{url}/v1/events", data=body, headers=headers, timeout=120)
            if resp.status_code in (429, 503):
                time.sleep(float(resp.headers.get("Retry-After", "1")))
                continue
            break
        assert resp.status_code in (202, 422), resp.text[:300]
        doc = resp.json()
        counts["accepted"] += doc["accepted"]
        counts["rejected"] += doc["rejected"]
    out.put((counts, time.time() - t0))


def post_all(stack: Stack, token: str, chunks: list[bytes], clients: int = 4
             ) -> tuple[dict[str, int], float]:
    """Post chunks from client processes (202 or 422 both fine); return counts and seconds."""
    q: Any = mp.Queue()
    start_at = time.time() + 0.5
    procs = [mp.Process(target=_poster, args=(stack.ingest_url, token, chunks[i::clients],
                                              start_at, q)) for i in range(clients)]
    for p in procs:
        p.start()
    results = [q.get(timeout=900) for _ in procs]
    for p in procs:
        p.join()
    total = {k: sum(r[0][k] for r in results) for k in ("accepted", "rejected")}
    return total, max(r[1] for r in results)


def rejected_phase(stack: Stack, token: str, events: list[dict[str, Any]],
                   bodies: Callable[[list[dict[str, Any]], int], list[bytes]]) -> dict[str, Any]:
    """Post events that all fail validation (implausible values, future times, unknown
    projects) as the max-rate phase posts valid ones; return µs per rejected event."""
    bad = []
    for k, e in enumerate(events):
        e = {**e, "data": dict(e["data"])}
        if k % 3 == 0:
            e["data"]["value"] = -1e12  # outside every plausible range
        elif k % 3 == 1:
            e["occurred_at"] = "2999-01-01T00:00:00Z"  # later than now plus the skew
        else:
            e = {**e, "type": "project.removed", "data": {"project_id": f"ghost-{k}"}}
        bad.append(e)
    log = EventLog(stack.redis.client())
    before = log.length()
    counts, seconds = post_all(stack, token, bodies(bad, 1000))
    assert counts["accepted"] == 0 and log.length() == before, counts
    return {"events": counts["rejected"], "seconds": seconds,
            "rejected_per_s": counts["rejected"] / seconds,
            "us_per_event": 1e6 * seconds / counts["rejected"]}


def _used_memory(stack: Stack) -> int:
    return int(stack.redis.client().info("memory")["used_memory"])


def memory_phase(tmp: Path, n: int, retention: int, setup: list[dict[str, Any]],
                 updates: list[dict[str, Any]],
                 bodies: Callable[[list[dict[str, Any]], int], list[bytes]],
                 http_workers: int = 2) -> dict[str, Any]:
    """Score n accepted events on a fresh stack whose retention is `retention` seconds;
    return Redis memory before, right after (all retained) and once the retention passed."""
    stack = Stack(tmp, http_workers=http_workers,
                  extra_env={"AICITY_EVENT_RETENTION_SECONDS": str(retention)}).start(workers=1)
    try:
        token = stack.admin_token()
        post_all(stack, token, bodies(setup, 1000), 2)
        stack.wait_idle(300)
        base = _used_memory(stack)
        counts, seconds = post_all(stack, token, bodies(updates[:n], 1000))
        stack.wait_idle(600)
        loaded = _used_memory(stack)
        log = EventLog(stack.redis.client())
        t_loaded = time.time()
        # The sweeper trims the log every 2 s; submission records expire after the retention.
        wait_for(lambda: time.time() - t_loaded > retention and log.length() < n // 100
                 and stack.redis.client().dbsize() < 10_000, retention + 600, 1.0,
                 what="retention applied")
        after = _used_memory(stack)
        return {"events": counts["accepted"], "seconds": seconds, "retention_s": retention,
                "base_bytes": base, "loaded_bytes": loaded, "after_retention_bytes": after,
                "bytes_per_event_retained": (loaded - base) / counts["accepted"],
                "bytes_per_event_after_retention": (after - base) / counts["accepted"],
                "log_entries_left": log.length()}
    finally:
        stack.stop()

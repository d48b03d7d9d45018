"""Bench phase for issue 18's review budget: what judging a scoped feed's batch costs against
an admin feed's, and what one feed's held events cost Redis at their cap.

Used by bench/bench.py (phase `review`); it starts the stack it measures for real.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from shared.contract.methodology import load_methodology
from shared.store.feeds import FeedStore
from tests.support.procs import REPO, Stack

M = load_methodology()
CODE = "infra.datacenter_mw"


def _batch(cities: list[str], n: int, step: int) -> list[dict[str, Any]]:
    """n small moves (about 1% of the goalpost span) spread over the cities: within budget."""
    ind = M.indicator(CODE)
    out = []
    for k in range(n):
        value = ind.lo + (ind.hi - ind.lo) * (0.5 + 0.01 * ((step + k) % 2))
        out.append({"event_id": str(uuid.uuid4()), "type": "indicator.observed",
                    "city_id": cities[k % len(cities)], "occurred_at":
                    f"2025-06-01T{step // 3600 % 24:02d}:{step // 60 % 60:02d}:{step % 60:02d}Z",
                    "data": {"indicator": CODE, "value": value}})
    return out


def _post_ms(session: requests.Session, url: str, token: str, events: list[dict[str, Any]]
             ) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    resp = session.post(f"{url}/v1/events", json=events, timeout=60,
                        headers={"Authorization": f"Bearer {token}"})
    ms = (time.perf_counter() - t0) * 1000
    assert resp.status_code in (202, 422), resp.text[:300]
    return ms, resp.json()


def review_phase(tmp: Path, setup: list[dict[str, Any]], http_workers: int = 2,
                 batches: int = 200, size: int = 50) -> dict[str, Any]:
    """Return µs per event of scoped (judged) and admin batches, and held-event memory at the cap."""
    stack = Stack(tmp, http_workers=http_workers).start(workers=1)
    out: dict[str, Any] = {}
    try:
        admin = stack.admin_token()
        session = requests.Session()
        for start in range(0, len(setup), 2000):
            _post_ms(session, stack.ingest_url, admin, setup[start:start + 2000])
        stack.wait_idle(120)
        cities = sorted({e["city_id"] for e in setup})[:5]
        feeds = FeedStore(stack.redis.client())
        scoped = feeds.create("bench-scoped", cities)
        timings: dict[str, list[float]] = {"admin": [], "scoped": []}
        held = 0
        for step in range(batches):  # alternate, so drift hits both
            for name, token in (("admin", admin), ("scoped", scoped)):
                ms, doc = _post_ms(session, stack.ingest_url, token,
                                   _batch(cities, size, 2 * step + (name == "scoped")))
                timings[name].append(ms)
                held += doc.get("held", 0)
        stack.wait_idle(60)
        for name, values in timings.items():
            out[f"{name}_us_per_event"] = round(statistics.median(values) * 1000 / size, 1)
            out[f"{name}_batch_p95_ms"] = round(sorted(values)[int(len(values) * 0.95)], 2)
        out["scoped_held"] = held  # within budget: nothing held

        # One feed fills its held-event cap, then keeps going: what the cap costs Redis.
        client = stack.redis.client()
        flood = feeds.create("bench-flood", cities)
        ind = M.indicator("infra.gpu_pflops")
        before = int(client.info("memory")["used_memory"])
        counts = {"held": 0, "rejected": 0}
        t0 = time.perf_counter()
        for b in range(4):
            batch = [{"event_id": str(uuid.uuid4()), "type": "indicator.observed",
                      "city_id": cities[k % len(cities)],
                      "occurred_at": f"2025-06-02T00:{b:02d}:{k % 60:02d}Z",
                      "data": {"indicator": ind.code, "value": ind.lo}} for k in range(500)]
            _, doc = _post_ms(session, stack.ingest_url, flood, batch)
            counts["held"] += doc["held"]
            counts["rejected"] += doc["rejected"]
        flood_s = time.perf_counter() - t0
        after = int(client.info("memory")["used_memory"])
        out["held_flood"] = {**counts, "seconds": round(flood_s, 2),
                             "redis_bytes_at_cap": after - before,
                             "bytes_per_held_event": round((after - before) / max(counts["held"], 1))}
        t1 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "shared.cli.main", "review", "reject",
                               "--feed", "bench-flood", "--reason", "bench",
                               "--redis-url", stack.redis.url],
                              capture_output=True, text=True, cwd=REPO, timeout=300)
        out["bulk_reject"] = {"output": done.stdout.strip(),
                              "seconds": round(time.perf_counter() - t1, 2)}
    finally:
        stack.stop()
    return out

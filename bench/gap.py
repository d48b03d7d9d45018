"""Bench phase "gap": GET /api/v1/cities/<id>/gap at 100 and 10,000 cities.

Used by bench/bench.py (phase `gap`). For each size a fresh real stack (Redis, gunicorn
ingest and web, one scoring worker, beat) scores the reference dataset (100 real cities,
6,700+ projects) through the real ingest and worker, plus, for 10,000, 9,900 synthetic
cities; then real HTTP to the real web service asks what it takes for a reference city to
pass a random city scored above it, a different (city, target) each request so every
answer is built and runs the whole search (cold: not the per-version cache), then the same
query again (warm: the cached body). Run alone: `python bench/bench.py --phases noop,gap`.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from tests.support.events import reference_events
from tests.support.procs import Stack

REQUESTS = 300
Loader = Callable[[Stack, str, list[dict[str, Any]]], None]


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _timed(session: requests.Session, url: str) -> float:
    t0 = time.perf_counter()
    resp = session.get(url, timeout=30)
    elapsed = (time.perf_counter() - t0) * 1000
    assert resp.status_code == 200, resp.text[:300]
    return elapsed


def gap_phase(tmp: Path, sizes: tuple[int, ...], extra_cities: Callable[[int], list[dict[str, Any]]],
              load: Loader, rng: random.Random, http_workers: int = 2, workers: int = 1,
              quick: bool = False) -> dict[int, dict[str, Any]]:
    """Return, per size, the gap answer's p50 / p95 / max in ms, cold and warm."""
    reference = reference_events()
    real = sorted({e["city_id"] for e in reference if e["type"] == "city.upserted"})
    out: dict[int, dict[str, Any]] = {}
    for n in sizes:
        stack = Stack(tmp / f"gap-{n}", http_workers=http_workers).start(workers=workers)
        try:
            token = stack.admin_token()
            load(stack, token, reference + extra_cities(max(0, n - len(real))))
            stack.wait_idle(900)
            session = requests.Session()
            items = session.get(f"{stack.web_url}/api/v1/rankings", timeout=60).json()["items"]
            ranked = [r["city_id"] for r in items]
            score = {r["city_id"]: r["score"] for r in items}
            position = {c: n for n, c in enumerate(ranked)}
            count = REQUESTS // 3 if quick else REQUESTS
            pairs = set()
            while len(pairs) < count:
                # a target scored above the city, so every answer runs the whole search (a
                # city already ahead has no levers to find)
                city = rng.choice(real[1:] if ranked[0] in real else real)
                above = ranked[: position[city]]
                to = rng.choice(above) if above else None
                if to is not None and score[to] > score[city]:
                    pairs.add((city, to))
            base = f"{stack.web_url}/api/v1/cities"
            cold = [_timed(session, f"{base}/{c}/gap?to={t}") for c, t in sorted(pairs)]
            city, to = next(iter(sorted(pairs)))
            warm = [_timed(session, f"{base}/{city}/gap?to={to}") for _ in range(count)]
            out[n] = {"cities": len(ranked), "requests": len(cold),
                      "cold_p50_ms": _p(cold, 50), "cold_p95_ms": _p(cold, 95),
                      "cold_max_ms": max(cold), "warm_p50_ms": _p(warm, 50),
                      "warm_p95_ms": _p(warm, 95)}
        finally:
            stack.stop()
    return out


def report_rows(r: dict[Any, dict[str, Any]]) -> list[tuple[str, str]]:
    """Return (measure, value) rows for the bench report."""
    rows = []
    for n, v in r.items():
        rows.append((f"what it takes (gap), {int(n):,} cities, built p50 / p95 / max",
                     f"{v['cold_p50_ms']:.1f} / {v['cold_p95_ms']:.1f} / "
                     f"{v['cold_max_ms']:.1f} ms"))
        rows.append((f"what it takes (gap), {int(n):,} cities, cached p50 / p95",
                     f"{v['warm_p50_ms']:.1f} / {v['warm_p95_ms']:.1f} ms"))
    return rows

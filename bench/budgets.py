"""Bench phase for issue 18's budgets: what a batch refused over quota costs against one
accepted, and what dry runs and recomputes cost for a city at the project cap.

Used by bench/bench.py (phase `budgets`); it starts the stack it measures for real. Scoped
feeds get a slow refill (20 units/s, burst 10,000) so a spent bucket stays spent while a
refused batch is timed; dry runs and recomputes are timed through an admin feed (never
throttled), so what is measured is their own cost, not the quota.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests

from shared.contract.methodology import load_methodology
from shared.platform.settings import Settings
from shared.store.cities import CityStore
from shared.store.feeds import FeedStore
from tests.support.procs import Stack

M = load_methodology()
CODE = "infra.datacenter_mw"
IND = M.indicator(CODE)
BATCH = 9_900  # a full bucket (10,000) pays for it and for the review's read of its city
BURST = 10_000
CAP = Settings().max_projects_per_city
Totals = Callable[[Stack], tuple[float, float]]


def _events(city: str, n: int, value: float, day: int = 1, **over: Any) -> list[dict[str, Any]]:
    return [{"event_id": str(uuid.uuid4()), "type": "indicator.observed", "city_id": city,
             "occurred_at": f"2025-06-{day:02d}T{k // 3600 % 24:02d}:{k // 60 % 60:02d}:"
                            f"{k % 60:02d}Z",
             "data": {"indicator": CODE, "value": value}, **over} for k in range(n)]


def _projects(city: str, n: int) -> list[dict[str, Any]]:
    return [{"event_id": str(uuid.uuid4()), "type": "project.upserted", "city_id": city,
             "occurred_at": "2025-05-01T00:00:00Z",
             "data": {"project_id": f"{city}-pilot-{k}", "name": f"Pilot {k}",
                      "organization": "Org", "sector": M.projects.sectors[k % 12],
                      "owner": "public", "stage": "pilot", "started_at": "2024-09-01"}}
            for k in range(n)]


def _post(session: requests.Session, url: str, token: str, body: bytes, dry: bool = False
          ) -> tuple[float, requests.Response]:
    """POST a pre-encoded JSON body; return (seconds, response): the client's encoding is
    not part of what is timed."""
    t0 = time.perf_counter()
    resp = session.post(f"{url}/v1/events" + ("?dry_run=true" if dry else ""), data=body,
                        timeout=120, headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    return time.perf_counter() - t0, resp


def _value(session: requests.Session, web: str, city: str) -> float:
    doc = session.get(f"{web}/api/v1/cities/{city}", timeout=10).json()
    return float(doc["indicators"][CODE]["raw"])


def _recompute_us(stack: Stack, token: str, city: str, n: int, totals: Totals) -> float:
    """Post n single events to a city one after another, each scored before the next; return
    the workers' µs per recompute meanwhile."""
    session = requests.Session()
    value = _value(session, stack.web_url, city)
    rec0, sec0 = totals(stack)
    for k in range(n):
        body = json.dumps(_events(city, 1, value, day=3 + k % 20)).encode()
        _, resp = _post(session, stack.ingest_url, token, body)
        assert resp.status_code == 202, resp.text[:300]
        stack.wait_idle(60)
    rec1, sec1 = totals(stack)
    return 1e6 * (sec1 - sec0) / max(rec1 - rec0, 1)


def _dry_ms(session: requests.Session, stack: Stack, token: str, city: str, size: int,
            rounds: int) -> float:
    """Median milliseconds of a dry run of `size` events for the city."""
    value = _value(session, stack.web_url, city)
    times = []
    for _ in range(rounds):
        seconds, resp = _post(session, stack.ingest_url, token,
                              json.dumps(_events(city, size, value * 1.01)).encode(), dry=True)
        assert resp.status_code == 200, resp.text[:300]
        times.append(seconds)
    return 1000 * statistics.median(times)


def budgets_phase(tmp: Any, setup: list[dict[str, Any]], totals: Totals, http_workers: int = 2,
                  quick: bool = False) -> dict[str, Any]:
    """Return the refused-against-accepted batch costs and the dry-run and recompute costs at
    the project cap (against an ordinary city of about 30 projects); totals(stack) reads the
    workers' (recomputes, seconds) so far."""
    stack = Stack(tmp, http_workers=http_workers,
                  extra_env={"AICITY_FEED_RATE_LIMIT": "20", "AICITY_FEED_BURST": str(BURST)}
                  ).start(workers=1)
    out: dict[str, Any] = {"batch": BATCH, "project_cap": CAP}
    samples = 2 if quick else 4
    try:
        admin = stack.admin_token()
        session = requests.Session()
        for start in range(0, len(setup), 2000):
            _post(session, stack.ingest_url, admin, json.dumps(setup[start:start + 2000]).encode())
        cities = sorted({e["city_id"] for e in setup})
        capped, plain, paid = cities[0], cities[1], cities[2]
        _, resp = _post(session, stack.ingest_url, admin, json.dumps(_projects(capped, CAP)).encode())
        assert resp.status_code == 202 and resp.json()["rejected"] > 0, resp.text[:300]  # full
        _post(session, stack.ingest_url, admin, json.dumps(_projects(plain, 30)).encode())
        stack.wait_idle(120)
        sizes = CityStore(stack.redis.client()).state_sizes([capped, plain])
        assert sizes[0] == CAP, sizes
        out["plain_projects"] = sizes[1]

        # A scoped feed's 9,900-item batch: accepted with a full bucket, then refused.
        value = _value(session, stack.web_url, paid)
        feeds = FeedStore(stack.redis.client())
        accepted, refused, invalid, invalid_refused = [], [], [], []
        for n in range(samples):
            token = feeds.create(f"bench-payer-{n}", [paid])
            seconds, resp = _post(session, stack.ingest_url, token,
                                  json.dumps(_events(paid, BATCH, value, day=1 + n)).encode())
            assert resp.status_code == 202, resp.text[:300]
            accepted.append(seconds)
            for _ in range(3):
                seconds, resp = _post(session, stack.ingest_url, token,
                                      json.dumps(_events(paid, BATCH, value)).encode())
                assert resp.status_code == 429, resp.text[:300]
                refused.append(seconds)
            careless = feeds.create(f"bench-careless-{n}", [paid])
            junk = json.dumps(_events(paid, BATCH, value, occurred_at="not a time")).encode()
            seconds, resp = _post(session, stack.ingest_url, careless, junk)
            assert resp.status_code == 422, resp.text[:300]
            invalid.append(seconds)
            seconds, resp = _post(session, stack.ingest_url, careless, junk)
            assert resp.status_code == 429, resp.text[:300]
            invalid_refused.append(seconds)
            stack.wait_idle(120)
        for name, values in (("accepted", accepted), ("refused", refused),
                             ("invalid", invalid), ("invalid_refused", invalid_refused)):
            out[f"{name}_batch_ms"] = round(1000 * statistics.median(values), 1)
            out[f"{name}_us_per_event"] = round(1e6 * statistics.median(values) / BATCH, 1)

        # Dry runs and recomputes at the cap, against an ordinary city.
        rounds = 10 if quick else 30
        for label, city in (("cap", capped), ("plain", plain)):
            out[f"dry_run_1_ms_{label}"] = round(_dry_ms(session, stack, admin, city, 1, rounds), 1)
            ms = _dry_ms(session, stack, admin, city, 500, max(3, rounds // 5))
            out[f"dry_run_500_us_per_event_{label}"] = round(1000 * ms / 500, 1)
            out[f"recompute_us_{label}"] = round(_recompute_us(stack, admin, city, rounds // 2,
                                                               totals))
        # What a scoped feed pays per single-event dry run at the cap, and so at most how many
        # it may run per second at the default rate limit.
        units = 1 + Settings().state_record_cost * CAP
        out["dry_run_units_at_cap"] = units
        out["dry_runs_per_s_at_default_rate"] = round(Settings().feed_rate_limit / units, 2)
    finally:
        stack.stop()
    return out


def report_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    """Rows for bench.py's summary table."""
    if not r:
        return []
    return [
        (f"{r['batch']:,}-item batch: accepted / refused over quota (µs per event)",
         f"{r['accepted_us_per_event']:.1f} / {r['refused_us_per_event']:.1f} µs"),
        ("all-invalid batch: validated (422) / refused over quota (µs per event)",
         f"{r['invalid_us_per_event']:.1f} / {r['invalid_refused_us_per_event']:.1f} µs"),
        (f"dry run of 1 event at the {r['project_cap']:,}-project cap / {r['plain_projects']} "
         "projects",
         f"{r['dry_run_1_ms_cap']:.1f} / {r['dry_run_1_ms_plain']:.1f} ms"),
        (f"dry run of 500 events, µs per event, at the cap / {r['plain_projects']} projects",
         f"{r['dry_run_500_us_per_event_cap']:.0f} / {r['dry_run_500_us_per_event_plain']:.0f} µs"),
        (f"recompute of one city at the cap / {r['plain_projects']} projects",
         f"{r['recompute_us_cap']:,.0f} / {r['recompute_us_plain']:,.0f} µs"),
    ]

"""Benchmark the live pipeline on this machine and print figures for BENCHMARKS.md.

Everything runs for real on loopback: redis-server, gunicorn ingest and web, Celery
scoring workers and beat, HTTP load from separate client processes. Measured:
  1. bare Celery no-op task round trip (the one-task-per-event floor), same run;
  2. sustained accepted events/s through POST /v1/events in batches, and the time for
     scoring to drain what was accepted (scoring keeping up);
  3. ack-to-visible latency p50/p99 (the workers' histogram) at paced 1,000 and 5,000
     events/s and during the unpaced maximum;
  4. ranking requests/s (200s and If-None-Match 304s, raw keep-alive clients);
  5. viewers: 2,000 live SSE viewers while the ranking API is probed and changes posted;
  6. slow clients: 400 clients sending heads or bodies slowly to both services;
  7. rejected events: the cost per event of a load where every item is refused;
  8. Redis memory after scoring 1M accepted events, and once the retention has passed;
  9. per-event cost at 100, 1,000 and 10,000 cities;
 10. dry runs: p50/p95 of a 500-event batch validated with its predicted impact;
 11. webhook delivery latency p50/p99 from the ranking commit to a local receiver;
 12. history: as_of rankings, explanations and the live ranking over 30 days of kept
     history at 100 and 10,000 cities, its Redis memory and one thinning pass;
 13. review: a scoped feed's batch (judged against its cities' review budget) against an
     admin's, and what one feed's held events cost Redis at their cap;
 14. budgets: µs per event of a batch refused over quota against one accepted (and of an
     all-invalid batch), dry-run and recompute cost of a city at the project cap.
 15. hooks lane: scoring ack-to-visible and delivery latency to a good receiver while
     receivers that hang, trickle, answer 300 MB or redirect have hooks on every city.
 16. gap: GET /api/v1/cities/<id>/gap (what it takes) p50/p95 at 100 and 10,000 cities,
     built (a new city and target each request) and cached.
Usage: python bench/bench.py [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import analyst, contributors  # noqa: E402
from bench import budgets as bg  # noqa: E402
from bench import gap as gp  # noqa: E402
from bench import history_load as hl  # noqa: E402
from bench import review as rv  # noqa: E402
from bench import robustness as rb  # noqa: E402
from bench import viewers as vw  # noqa: E402
from bench import webhooks as wh  # noqa: E402
from shared.contract.methodology import load_methodology  # noqa: E402
from tests.support import metrics  # noqa: E402
from tests.support.procs import ServiceProc, Stack, wait_for  # noqa: E402

console = Console(width=120)
M = load_methodology()
CODES = M.observed_indicator_codes()


# ----------------------------------------------------------------- event generation

def _ev(kind: str, city: str, data: dict[str, Any], at: str) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "type": kind, "city_id": city, "occurred_at": at,
            "data": data}


def setup_events(n_cities: int, rng: random.Random) -> list[dict[str, Any]]:
    """Return events that make n_cities fully covered, ranked cities."""
    out = []
    for c in range(n_cities):
        city = f"bench-{c:05d}"
        out.append(_ev("city.upserted", city, {
            "name": f"Bench City {c}", "country": "SG", "region": "Southeast Asia",
            "population": 1_000_000 + c, "lat": 1.3, "lon": 103.8}, "2025-01-01T00:00:00Z"))
        for code in CODES:
            ind = M.indicator(code)
            out.append(_ev("indicator.observed", city, {
                "indicator": code, "value": ind.lo + (ind.hi - ind.lo) * rng.random()},
                "2025-01-01T00:00:00Z"))
        for k in range(3):
            out.append(_ev("project.upserted", city, {
                "project_id": f"{city}-{k}", "name": "P", "organization": "O",
                "sector": M.projects.sectors[k], "owner": ("public", "private")[k % 2],
                "stage": "deployed", "started_at": "2025-01-01", "deployed_at": "2025-02-01"},
                "2025-01-01T00:00:00Z"))
    return out


def _extra_cities(n: int, rng: random.Random) -> list[dict[str, Any]]:
    """Return setup events of n synthetic cities named apart from the bench's own."""
    return [{**e, "city_id": "x" + e["city_id"],
             "data": {**e["data"], "project_id": "x" + e["data"]["project_id"]}
             if "project_id" in e["data"] else e["data"]}
            for e in setup_events(n, rng)]


def update_events(n: int, n_cities: int, rng: random.Random, hot: int = 0
                  ) -> list[dict[str, Any]]:
    """Return n indicator updates with later timestamps, spread uniformly over all the
    cities, or, with hot=k, over k cities drawn once from all of them."""
    out = []
    targets = rng.sample(range(n_cities), min(hot, n_cities)) if hot else range(n_cities)
    for k in range(n):
        city = f"bench-{targets[rng.randrange(len(targets))]:05d}"
        code = CODES[rng.randrange(len(CODES))]
        ind = M.indicator(code)
        at = f"2025-03-{1 + k % 28:02d}T{(k // 28) % 24:02d}:{(k // 672) % 60:02d}:00.{k % 1000000:06d}Z"
        out.append(_ev("indicator.observed", city, {
            "indicator": code, "value": ind.lo + (ind.hi - ind.lo) * rng.random()}, at))
    return out


def bodies(events: list[dict[str, Any]], batch: int) -> list[bytes]:
    return [("\n".join(json.dumps(e) for e in events[i:i + batch]) + "\n").encode()
            for i in range(0, len(events), batch)]


# ----------------------------------------------------------------- load clients

def _client(url: str, token: str, chunks: list[bytes], pace: float, start_at: float,
            out: Any) -> None:
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    while time.time() < start_at:
        time.sleep(0.001)
    accepted = 0
    t0 = time.time()
    for n, body in enumerate(chunks):
        if pace:
            delay = start_at + n * pace - time.time()
            if delay > 0:
                time.sleep(delay)
        while True:
            resp = session.post(f"{url}/v1/events", data=body, headers=headers, timeout=120)
            if resp.status_code == 429:
                time.sleep(float(resp.headers.get("Retry-After", "1")))
                continue
            break
        assert resp.status_code == 202, resp.text[:300]
        accepted += resp.json()["accepted"]
    out.put((accepted, time.time() - t0))


def post_load(stack: Stack, token: str, chunks: list[bytes], clients: int, rate: float = 0.0,
              batch: int = 1000) -> tuple[int, float]:
    """Post chunks from several client processes; paced to `rate` events/s if given."""
    q: Any = mp.Queue()
    parts = [chunks[i::clients] for i in range(clients)]
    pace = (batch * clients / rate) if rate else 0.0
    start_at = time.time() + 0.5
    procs = [mp.Process(target=_client, args=(stack.ingest_url, token, part, pace, start_at, q))
             for part in parts]
    for p in procs:
        p.start()
    results = [q.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    elapsed = max(r[1] for r in results)
    return sum(r[0] for r in results), elapsed


# ----------------------------------------------------------------- metrics helpers

def histogram(stack: Stack, name: str) -> dict[float, float]:
    """Sum a histogram's cumulative buckets over every scoring worker."""
    return metrics.histogram(stack.worker_ports.values(), name)


def counter(stack: Stack, name: str) -> float:
    """Sum every series of a metric (or of a histogram's _sum/_count) over the workers."""
    return metrics.counter(stack.worker_ports.values(), name)


def recompute_totals(stack: Stack) -> tuple[float, float]:
    """Return (recomputes, seconds spent in them) so far, over every worker."""
    return (counter(stack, "aicity_scoring_recompute_duration_seconds_count"),
            counter(stack, "aicity_scoring_recompute_duration_seconds_sum"))


quantile = metrics.quantile


# ----------------------------------------------------------------- phases

def celery_noop_rate(stack: Stack, n: int) -> dict[str, float]:
    """Publish n no-op tasks and time until a solo worker has run them all."""
    os.environ["AICITY_REDIS_URL"] = stack.redis.url
    from bench.noop_worker import app  # configured from AICITY_REDIS_URL

    worker = ServiceProc("noop", ["celery", "-A", "bench.noop_worker", "worker", "--pool", "solo",
                                  "-Q", "aicity.bench.noop", "--without-gossip", "--without-mingle",
                                  "--loglevel", "WARNING"], stack.env(), stack.tmp / "noop.log")
    client = stack.redis.client()
    client.delete("bench:noop:done")
    worker.start()
    try:
        app.send_task("bench.noop")
        wait_for(lambda: int(client.get("bench:noop:done") or 0) == 1, 60, what="noop worker")
        t0 = time.perf_counter()
        with app.producer_or_acquire() as producer:
            for _ in range(n):
                app.send_task("bench.noop", producer=producer)
        publish = time.perf_counter() - t0
        wait_for(lambda: int(client.get("bench:noop:done") or 0) == n + 1, 300, 0.01)
        total = time.perf_counter() - t0
    finally:
        worker.stop()
    return {"publish_per_s": n / publish, "round_trip_per_s": n / total}


def drain_seconds(stack: Stack, t_last_ack: float) -> float:
    stack.wait_idle(600)
    return max(0.0, time.time() - t_last_ack)


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(2025)
    tmp = Path(tempfile.mkdtemp(prefix="aicity-bench-"))
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(),
                    "redis": subprocess.run(["redis-server", "--version"], capture_output=True,
                                            text=True).stdout.split()[2]},
        "quick": args.quick,
    }
    scale = 0.25 if args.quick else 1.0
    phases = set(args.phases.split(","))
    stack = Stack(tmp / "main", http_workers=args.http_workers).start(workers=args.workers)
    try:
        token = stack.admin_token()
        console.print("[bold]1. bare Celery no-op round trip")
        results["celery_noop"] = celery_noop_rate(stack, int(5000 * scale if "noop" in phases else 500))
        console.print(results["celery_noop"])

        console.print("[bold]2. setup: 100 ranked cities")
        setup = setup_events(100, rng)
        post_load(stack, token, bodies(setup, 1000), 2)
        stack.wait_idle(120)

        console.print("[bold]3. ack-to-visible at paced 1,000 and 5,000 events/s")
        for rate in (1000, 5000) if "paced" in phases else ():
            n = int(rate * 10 * scale)
            chunks = bodies(update_events(n, 100, rng), 250)
            before = histogram(stack, "aicity_scoring_ack_to_visible_seconds")
            accepted, elapsed = post_load(stack, token, chunks, 2, rate=rate, batch=250)
            stack.wait_idle(120)
            after = histogram(stack, "aicity_scoring_ack_to_visible_seconds")
            results[f"paced_{rate}"] = {
                "events": accepted, "offered_per_s": accepted / elapsed,
                "p50_s": quantile(0.5, before, after), "p99_s": quantile(0.99, before, after)}
            console.print(rate, results[f"paced_{rate}"])

        console.print("[bold]4. sustained maximum accepted events/s (4 clients, batches of 1,000)")
        n = int(200_000 * scale if "max" in phases else 20_000)
        chunks = bodies(update_events(n, 100, rng), 1000)
        before = histogram(stack, "aicity_scoring_ack_to_visible_seconds")
        rec_before = counter(stack, "aicity_scoring_recomputes_total")
        stack.redis.client().config_resetstat()
        cpu_before = stack.redis.client().info("cpu")
        accepted, elapsed = post_load(stack, token, chunks, 4)
        t_last = time.time()
        drain = drain_seconds(stack, t_last)
        after = histogram(stack, "aicity_scoring_ack_to_visible_seconds")
        results["max"] = {
            "events": accepted, "seconds": elapsed, "accepted_per_s": accepted / elapsed,
            "drain_after_last_ack_s": drain,
            "end_to_end_per_s": accepted / (elapsed + drain),
            "p50_s": quantile(0.5, before, after), "p99_s": quantile(0.99, before, after),
            "recomputes": counter(stack, "aicity_scoring_recomputes_total") - rec_before}
        stats = stack.redis.client().info("commandstats")
        cpu_after = stack.redis.client().info("cpu")
        redis_cpu = sum(cpu_after[k] - cpu_before[k] for k in ("used_cpu_sys", "used_cpu_user"))
        results["max"]["redis_cpu_us_per_event"] = 1e6 * redis_cpu / accepted
        results["max"]["redis_commands_us_per_event"] = {
            k.removeprefix("cmdstat_"): round(v["usec"] / accepted, 2)
            for k, v in sorted(stats.items(), key=lambda kv: -kv[1]["usec"])[:8]}
        console.print(results["max"])

        if "rejected" in phases:
            console.print("[bold]4b. rejected events/s (the same load, every item refused)")
            results["rejected"] = rb.rejected_phase(
                stack, token, update_events(int(100_000 * scale), 100, rng), bodies)
            console.print(results["rejected"])

        # The load above makes Redis rewrite its AOF in a forked child that takes a core for
        # a while: measure the web, not that.
        stack.wait_idle(120)
        wait_for(lambda: not int(stack.redis.client().info("persistence")["aof_rewrite_in_progress"]),
                 300, 0.5, what="AOF rewrite finished")
        if "dryrun" in phases:
            console.print("[bold]4c. dry run of a 500-event batch (validation + predicted impact)")
            results["dry_run"] = contributors.dry_run_phase(
                stack, token, update_events(30_000, 100, rng))
            console.print(results["dry_run"])

        console.print("[bold]5. ranking requests/s (4 keep-alive clients, limit=100)")
        seconds = 5 * max(scale, 0.4) if "rps" in phases else 1
        results["ranking_rps"] = vw.ranking_rps(stack, seconds)
        results["ranking_rps_304"] = vw.ranking_rps(stack, seconds, revalidate=True)
        console.print(results["ranking_rps"], results["ranking_rps_304"])

        if "viewers" in phases:
            console.print("[bold]6. live viewers: SSE fan-out while the API is probed")
            results["viewers"] = vw.viewers_phase(stack, token, n=2000 if not args.quick else 500,
                                                  seconds=20 * max(scale, 0.5))
            console.print(results["viewers"])
        if "slow" in phases:
            console.print("[bold]7. slow clients on both services while probes run")
            results["slow"] = vw.slow_phase(stack, token, n=400,
                                            seconds=40 if not args.quick else 15)
            console.print(results["slow"])
    finally:
        stack.stop()

    if "memory" in phases:
        console.print("[bold]8. Redis memory after scoring 1M accepted events, and after retention")
        n = int(1_000_000 * scale)
        results["memory"] = rb.memory_phase(
            tmp / "memory", n, args.retention, setup_events(100, rng),
            update_events(n, 100, rng), bodies, http_workers=args.http_workers)
        console.print(results["memory"])

    if "analyst" in phases:
        console.print("[bold]10. what-if weights latency and rank-band recompute time")
        results["analyst"] = analyst.analyst_phase()
        console.print(results["analyst"])

    if "webhooks" in phases:
        console.print("[bold]11. webhook delivery latency (commit to receiver), ~100 rank changes/s")
        results["webhooks"] = wh.webhooks_phase(
            tmp / "webhooks", setup_events(100, rng), lambda n: update_events(n, 100, rng),
            seconds=20 * max(scale, 0.5), rate=190, http_workers=args.http_workers)
        console.print(results["webhooks"])

    if "history" in phases:
        console.print("[bold]12. as_of rankings and explanations over 30 days of history")
        results["history"] = hl.history_phase(
            tmp / "history", lambda n: setup_events(n, rng), bodies, post_load,
            samples=int(200 * max(scale, 0.5)), http_workers=args.http_workers)
        console.print(results["history"])

    if "review" in phases:
        console.print("[bold]13. review budget: a scoped batch judged against an admin batch; "
                      "held events at their cap")
        results["review"] = rv.review_phase(tmp / "review", setup_events(100, rng),
                                             http_workers=args.http_workers)
        console.print(results["review"])

    if "budgets" in phases:
        console.print("[bold]14. budgets: refused against accepted batches; dry runs and "
                      "recomputes at the project cap")
        results["budgets"] = bg.budgets_phase(tmp / "budgets", setup_events(100, rng),
                                              recompute_totals, http_workers=args.http_workers,
                                              quick=args.quick)
        console.print(results["budgets"])

    if "hooks_lane" in phases:
        console.print("[bold]15. hooks lane: scoring and delivery latency, bad receivers registered")
        results["hooks_lane"] = wh.hooks_lane_phase(
            tmp / "hooks-lane", setup_events(100, rng), lambda n: update_events(n, 100, rng),
            seconds=20 * max(scale, 0.5), rate=50, http_workers=args.http_workers)
        console.print(results["hooks_lane"])

    if "gap" in phases:
        console.print("[bold]16. what it takes (gap) at 100 and 10,000 cities")

        def load(s: Stack, token: str, events: list[dict[str, Any]]) -> None:
            post_load(s, token, bodies(events, 1000), 4)

        def extra(n: int) -> list[dict[str, Any]]:
            return _extra_cities(n, rng)

        results["gap"] = gp.gap_phase(tmp / "gap", (100, 10_000), extra, load, rng,
                                      http_workers=args.http_workers, workers=args.workers,
                                      quick=args.quick)
        console.print(results["gap"])

    console.print("[bold]9. per-event cost by number of cities")
    results["by_cities"] = {}
    for n_cities in (100, 1000, 10_000) if "cities" in phases else ():
        s = Stack(tmp / f"cities-{n_cities}", http_workers=args.http_workers).start(
            workers=args.workers)
        try:
            token = s.admin_token()
            post_load(s, token, bodies(setup_events(n_cities, rng), 1000), 4)
            s.wait_idle(600)
            n = int(100_000 * scale)
            row: dict[str, Any] = {}
            # hot: the updates go to 100 of the N cities, the same workload at every size,
            # so what changes is only the size of the index; uniform: spread over all N,
            # so fewer events share each city's bookkeeping and recompute as N grows.
            for mode, hot in (("hot", 100), ("uniform", 0)):
                events = update_events(n, n_cities, rng, hot)
                rec0, sec0 = recompute_totals(s)
                accepted, elapsed = post_load(s, token, bodies(events, 1000), 4)
                drain = drain_seconds(s, time.time())
                rec1, sec1 = recompute_totals(s)
                row[mode] = {
                    "accepted_per_s": accepted / elapsed,
                    "us_per_event_ingest": 1e6 * elapsed / accepted,
                    "end_to_end_per_s": accepted / (elapsed + drain),
                    "us_per_event_end_to_end": 1e6 * (elapsed + drain) / accepted,
                    "recomputes": rec1 - rec0,
                    "events_per_recompute": accepted / max(rec1 - rec0, 1),
                    "us_per_recompute": 1e6 * (sec1 - sec0) / max(rec1 - rec0, 1)}
                console.print(n_cities, mode, row[mode])
            results["by_cities"][n_cities] = row
        finally:
            s.stop()
    return results


def report(r: dict[str, Any]) -> None:
    floor = r["celery_noop"]["round_trip_per_s"]
    t = Table(title=f"AI City Index benchmark ({r['machine']['cpus']} CPUs, Redis "
                    f"{r['machine']['redis']}, Python {r['machine']['python']})")
    t.add_column("measure")
    t.add_column("value", justify="right")
    t.add_column("vs Celery no-op", justify="right")
    t.add_row("Celery no-op task round trip", f"{floor:,.0f} tasks/s", "1.0x")
    t.add_row("Celery no-op publish only", f"{r['celery_noop']['publish_per_s']:,.0f} tasks/s", "")
    m = r["max"]
    t.add_row("accepted events/s (POST /v1/events)", f"{m['accepted_per_s']:,.0f}",
              f"{m['accepted_per_s'] / floor:.1f}x")
    t.add_row("accepted and scored events/s (incl. drain)", f"{m['end_to_end_per_s']:,.0f}",
              f"{m['end_to_end_per_s'] / floor:.1f}x")
    t.add_row("scoring drain after last ack", f"{m['drain_after_last_ack_s']:.2f} s", "")
    t.add_row("recomputes for the max-rate events", f"{m['recomputes']:,.0f} for {m['events']:,}", "")
    for key in ("paced_1000", "paced_5000"):
        if key not in r:
            continue
        p = r[key]
        t.add_row(f"ack-to-visible at {p['offered_per_s']:,.0f} ev/s p50 / p99",
                  f"{p['p50_s'] * 1000:.0f} / {p['p99_s'] * 1000:.0f} ms", "")
    t.add_row("ack-to-visible at max rate p50 / p99",
              f"{m['p50_s'] * 1000:.0f} / {m['p99_s'] * 1000:.0f} ms", "")
    t.add_row("ranking requests/s (limit=100, 200 OK)", f"{r['ranking_rps']:,.0f}",
              f"{r['ranking_rps'] / floor:.1f}x")
    t.add_row("ranking revalidations/s (304)", f"{r['ranking_rps_304']:,.0f}",
              f"{r['ranking_rps_304'] / floor:.1f}x")
    if "viewers" in r:
        v = r["viewers"]
        t.add_row("SSE viewers held / web memory per viewer",
                  f"{v['connected']:,} / {v['kb_per_viewer']:.0f} KB", "")
        t.add_row("rankings API while they watch p50 / p99 / max",
                  f"{v['api_p50_ms']:.0f} / {v['api_p99_ms']:.0f} / {v['api_max_ms']:.0f} ms", "")
        t.add_row("change delivered p50 / p99; share within 1 s",
                  f"{v['delivery_p50_s'] * 1000:.0f} / {v['delivery_p99_s'] * 1000:.0f} ms; "
                  f"{v['delivered_within_1s']:.1%}", "")
    if "rejected" in r:
        t.add_row("rejected events/s (every item refused), µs per event",
                  f"{r['rejected']['rejected_per_s']:,.0f}; {r['rejected']['us_per_event']:.0f} µs "
                  f"(accepted: {1e6 / m['accepted_per_s']:.0f} µs)", "")
    if "memory" in r:
        mm = r["memory"]
        t.add_row(f"Redis memory per accepted event ({mm['events']:,} scored), retained / "
                  f"after {mm['retention_s']} s retention",
                  f"{mm['bytes_per_event_retained']:.0f} B / "
                  f"{mm['bytes_per_event_after_retention']:.1f} B", "")
    if "slow" in r:
        worst = max(p["max_ms"] for p in r["slow"]["probes"].values())
        t.add_row(f"{r['slow']['slow_clients']} slow clients: slowest probe answer",
                  f"{worst:.0f} ms", "")
    if "dry_run" in r:
        d = r["dry_run"]
        t.add_row(f"dry run of {d['batch']} events with impact p50 / p95",
                  f"{d['p50_ms']:.0f} / {d['p95_ms']:.0f} ms", "")
    if "webhooks" in r:
        w = r["webhooks"]
        t.add_row(f"webhook delivery at {w['rank_changes_per_s']:.0f} rank changes/s p50 / p99",
                  f"{w['p50_s'] * 1000:.0f} / {w['p99_s'] * 1000:.0f} ms", "")
    for measure, value in wh.lane_rows(r.get("hooks_lane", {})):
        t.add_row(measure, value, "")
    for measure, value in analyst.report_rows(r.get("analyst", {})):
        t.add_row(measure, value, "")
    for measure, value in hl.report_rows(r.get("history", {})):
        t.add_row(measure, value, "")
    for measure, value in bg.report_rows(r.get("budgets", {})):
        t.add_row(measure, value, "")
    for measure, value in gp.report_rows(r.get("gap", {})):
        t.add_row(measure, value, "")
    console.print(t)
    if not r["by_cities"]:
        return
    c = Table(title="Per-event cost by number of cities (ingest / end-to-end µs per event; "
                    "events per recompute; µs per city recompute)")
    for col in ("cities", "hot 100", "ev/recompute", "µs/recompute", "uniform",
                "ev/recompute", "µs/recompute"):
        c.add_column(col, justify="right")
    for n, row in r["by_cities"].items():
        cells = [f"{int(n):,}"]
        for mode in ("hot", "uniform"):
            m = row[mode]
            cells += [f"{m['us_per_event_ingest']:.0f} / {m['us_per_event_end_to_end']:.0f}",
                      f"{m['events_per_recompute']:.1f}", f"{m['us_per_recompute']:.0f}"]
        c.add_row(*cells)
    console.print(c)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the load")
    parser.add_argument("--workers", type=int, default=1, help="scoring worker processes")
    parser.add_argument("--http-workers", type=int, default=2, help="gunicorn workers per service")
    parser.add_argument("--phases",
                        default="noop,paced,max,rejected,dryrun,rps,viewers,slow,cities,memory,"
                                "analyst,webhooks,history,review,budgets,hooks_lane,gap",
                        help="comma-separated subset of: noop,paced,max,rejected,dryrun,rps,"
                             "viewers,slow,cities,memory,analyst,webhooks,history,review,"
                             "budgets,hooks_lane,gap")
    parser.add_argument("--retention", type=int, default=60,
                        help="event retention (s) of the memory phase's stack")
    parser.add_argument("--json", type=Path, default=None, help="write raw results here")
    args = parser.parse_args()
    results = run(args)
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

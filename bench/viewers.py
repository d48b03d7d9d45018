"""The "viewers" phases of the benchmark: live viewers, slow clients, ranking reads.

Each load runs in its own process(es) with raw-socket clients (tests/support/httpload.py),
so the client side costs little next to the servers it measures on the same 2 cores:
  - viewers: N Server-Sent Events viewers held open while the ranking API is probed and
    one ranking change a second is posted; per-viewer delivery latency from the commit
    time the change carries, the API's latency, the web workers' memory per viewer, and
    how fast the viewers are released after they close;
  - slow: clients sending request heads or bodies a few bytes a second to both services
    (reconnecting whenever the server hangs up) while health, ranking and a 500-event POST
    are probed;
  - rps: ranking requests/s from 4 keep-alive clients, 200s and If-None-Match 304s.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import psutil
import requests

from shared.contract.methodology import load_methodology
from tests.support.httpload import KeepAliveClient, Viewer, slow_body, slow_headers, watch
from tests.support.procs import Stack, wait_for

M = load_methodology()
BASE = datetime(2025, 6, 1, tzinfo=UTC)  # later than every bench event before it


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def web_rss(stack: Stack) -> int:
    """Return the resident memory of the web service's gunicorn workers, bytes."""
    proc = stack.services["web"].proc
    assert proc is not None
    master = psutil.Process(proc.pid)
    return sum(c.memory_info().rss for c in master.children(recursive=True))


def sse_gauge(stack: Stack) -> float:
    """Return the web's aicity_web_sse_clients gauge (summed over its workers)."""
    text = requests.get(f"{stack.web_url}/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("aicity_web_sse_clients"))


def change_event(k: int, city: str = "bench-00000") -> dict[str, Any]:
    """Return an indicator update that changes `city`'s score (later than any before)."""
    code = M.observed_indicator_codes()[0]
    ind = M.indicator(code)
    value = ind.lo + (ind.hi - ind.lo) * (0.2 + 0.6 * ((k * 37) % 100) / 100)
    return {"event_id": str(uuid.uuid4()), "type": "indicator.observed", "city_id": city,
            "occurred_at": (BASE + timedelta(seconds=k)).isoformat().replace("+00:00", "Z"),
            "data": {"indicator": code, "value": value}}


# ----------------------------------------------------------------- viewers

def _viewers_proc(url: str, n: int, ready: Any, stop: Any, out: Any) -> None:
    async def main() -> None:
        done = asyncio.Event()
        viewers = [Viewer() for _ in range(n)]
        t0 = time.time()
        tasks = []
        for i, v in enumerate(viewers):
            tasks.append(asyncio.create_task(watch(url, "/api/v1/stream", v, done)))
            if i % 100 == 99:
                await asyncio.sleep(0.02)
        while time.time() - t0 < 120:
            if sum(1 for v in viewers if v.events or v.error or v.status not in (0, 200)) >= n:
                break
            await asyncio.sleep(0.1)
        ready.put({"connected": sum(1 for v in viewers if v.events and v.status == 200),
                   "statuses": dict(Counter(v.status for v in viewers)),
                   "connect_s": time.time() - t0})
        while not stop.is_set():
            await asyncio.sleep(0.1)
        done.set()
        await asyncio.gather(*tasks)
        lat: list[float] = []
        got: Counter[int] = Counter()
        for v in viewers:
            for event, _, data, at in v.events:
                if event == "change":
                    change = json.loads(data)
                    lat.append(at - change["t"] / 1000)
                    got[change["ranking_version"]] += 1
        out.put({"latencies": lat, "per_version": dict(got),
                 "errors": sum(1 for v in viewers if v.error)})

    asyncio.run(main())


def _prober_proc(url: str, path: str, rate: float, stop: Any, out: Any) -> None:
    client = KeepAliveClient(url)
    lat: list[float] = []
    bad = 0
    next_at = time.perf_counter()
    while not stop.is_set():
        t = time.perf_counter()
        status, _, _ = client.get(path)
        lat.append(time.perf_counter() - t)
        bad += status != 200
        next_at += 1 / rate
        time.sleep(max(0.0, next_at - time.perf_counter()))
    out.put({"latencies": lat, "non_200": bad})


def viewers_phase(stack: Stack, token: str, n: int = 2000, seconds: float = 20.0,
                  probe_rate: float = 50.0) -> dict[str, Any]:
    """Hold n viewers, probe the ranking API, post a change a second; measure."""
    rss0 = web_rss(stack)
    ready, out, probes = mp.Queue(), mp.Queue(), mp.Queue()
    stop = mp.Event()
    viewers = mp.Process(target=_viewers_proc, args=(stack.web_url, n, ready, stop, out))
    viewers.start()
    held = ready.get(timeout=180)
    time.sleep(1.0)  # let the last writes settle before reading memory
    rss1 = web_rss(stack)
    gauge_held = sse_gauge(stack)
    probers = [mp.Process(target=_prober_proc, args=(
        stack.web_url, "/api/v1/rankings?limit=100", probe_rate / 2, stop, probes))
        for _ in range(2)]
    for p in probers:
        p.start()
    posted = []
    session = requests.Session()
    t_end = time.time() + seconds
    k = 0
    while time.time() < t_end:
        resp = session.post(f"{stack.ingest_url}/v1/events", json=change_event(k), timeout=10,
                            headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 202, resp.text[:200]
        posted.append(k)
        k += 1
        time.sleep(1.0)
    time.sleep(2.0)  # the last change's delivery
    stop.set()
    probe = [probes.get(timeout=60) for _ in probers]
    seen = out.get(timeout=120)
    viewers.join(30)
    for p in probers:
        p.join(10)
    t_closed = time.time()
    wait_for(lambda: sse_gauge(stack) == 0, 60, 0.5, what="viewers released")
    release_s = time.time() - t_closed
    lat = seen["latencies"]
    api = [x for p in probe for x in p["latencies"]]
    versions = seen["per_version"]
    expected = held["connected"] * len(versions)
    return {
        "viewers": n, "connected": held["connected"], "statuses": held["statuses"],
        "connect_s": held["connect_s"], "gauge_while_held": gauge_held,
        "web_rss_before_mb": rss0 / 2**20, "web_rss_held_mb": rss1 / 2**20,
        "kb_per_viewer": (rss1 - rss0) / 1024 / max(1, held["connected"]),
        "changes_posted": len(posted), "changes_seen": len(versions),
        "deliveries": len(lat), "deliveries_expected": expected,
        "delivery_p50_s": _pct(lat, 0.5), "delivery_p99_s": _pct(lat, 0.99),
        "delivery_max_s": max(lat) if lat else float("nan"),
        "delivered_within_1s": sum(1 for x in lat if x <= 1.0) / max(1, expected),
        "api_requests": len(api), "api_non_200": sum(p["non_200"] for p in probe),
        "api_p50_ms": 1000 * _pct(api, 0.5), "api_p99_ms": 1000 * _pct(api, 0.99),
        "api_max_ms": 1000 * max(api) if api else float("nan"),
        "client_errors": seen["errors"], "released_after_close_s": release_s,
    }


# ----------------------------------------------------------------- slow clients

def _slow_proc(ingest: str, web: str, token: str, n: int, seconds: float, out: Any) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        tally: Counter[str] = Counter()
        held_s: dict[str, list[float]] = {}

        async def slot(kind: str, url: str) -> None:
            while not stop.is_set():
                t = time.monotonic()
                try:
                    if kind.endswith("headers"):
                        result = await slow_headers(url, stop)
                    else:
                        result = await slow_body(url, "/v1/events", stop,
                                                 headers={"Authorization": f"Bearer {token}"})
                except OSError as exc:
                    result = f"connect failed {type(exc).__name__}"
                    await asyncio.sleep(0.2)
                tally[f"{kind}: {result}"] += 1
                if result != "held":
                    held_s.setdefault(kind, []).append(time.monotonic() - t)

        kinds = [("ingest headers", ingest), ("ingest body", ingest), ("web headers", web),
                 ("web body", web)]
        tasks = [asyncio.create_task(slot(*kinds[i % 4])) for i in range(n)]
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks)
        out.put({"outcomes": dict(tally),
                 "held_until_hangup_s": {k: (min(v), _pct(v, 0.5), max(v))
                                         for k, v in held_s.items()}})

    asyncio.run(main())


def slow_phase(stack: Stack, token: str, n: int = 400, seconds: float = 40.0) -> dict[str, Any]:
    """Hold n slow clients on both services; probe health, ranking and a 500-event POST."""
    out: Any = mp.Queue()
    proc = mp.Process(target=_slow_proc, args=(stack.ingest_url, stack.web_url, token, n,
                                               seconds, out))
    proc.start()
    time.sleep(2.0)  # every slow client connected
    body = ("\n".join(json.dumps(change_event(k, f"bench-{k % 100:05d}")) for k in range(500))
            + "\n").encode()
    probes: dict[str, list[float]] = {"web /healthz": [], "ingest /healthz": [],
                                      "web /api/v1/rankings?limit=100": [],
                                      "ingest POST 500 events": []}
    failures: Counter[str] = Counter()
    t_end = time.time() + seconds - 4.0
    while time.time() < t_end:
        for name in probes:
            client = KeepAliveClient(stack.ingest_url if name.startswith("ingest") else
                                     stack.web_url, timeout=10)  # a new connection each time
            t = time.perf_counter()
            try:
                if name.startswith("ingest POST"):
                    status, _, _ = client.request("POST", "/v1/events", {
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/x-ndjson"}, body)
                    ok = status == 202
                else:
                    status, _, _ = client.get(name.split(" ", 1)[1])
                    ok = status == 200
            except OSError:
                ok = False
            probes[name].append(time.perf_counter() - t)
            if not ok:
                failures[name] += 1
            client.close()
        time.sleep(0.5)
    slow = out.get(timeout=seconds + 60)
    proc.join(30)
    return {"slow_clients": n, "seconds": seconds, "slow": slow,
            "probes": {k: {"n": len(v), "p50_ms": 1000 * _pct(v, 0.5),
                           "max_ms": 1000 * max(v)} for k, v in probes.items()},
            "probe_failures": dict(failures)}


# ----------------------------------------------------------------- ranking reads

def _hammer(url: str, until: float, etag: str | None, q: Any) -> None:
    client = KeepAliveClient(url)
    headers = {"If-None-Match": etag} if etag else None
    want = 304 if etag else 200
    n = 0
    while time.time() < until:
        status, _, _ = client.get("/api/v1/rankings?limit=100", headers)
        assert status == want, status
        n += 1
    q.put(n)


def _settled(url: str, timeout: float = 60) -> None:
    """Wait until the rank bands caught up with the ranking: a band run moves the tag."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        doc = requests.get(f"{url}/api/v1/rankings?limit=1", timeout=10).json()
        band = (doc["items"][0].get("rank_band") or {}) if doc["items"] else {}
        if band.get("ranking_version") == doc["ranking_version"]:
            return
        time.sleep(0.5)


def ranking_rps(stack: Stack, seconds: float, clients: int = 4,
                revalidate: bool = False) -> float:
    """Return ranking requests/s from `clients` keep-alive clients (200s, or 304s)."""
    etag = None
    if revalidate:
        _settled(stack.web_url)
        _, headers, _ = KeepAliveClient(stack.web_url).get("/api/v1/rankings?limit=100")
        etag = headers["etag"]
    q: Any = mp.Queue()
    until = time.time() + seconds
    procs = [mp.Process(target=_hammer, args=(stack.web_url, until, etag, q))
             for _ in range(clients)]
    for p in procs:
        p.start()
    total = sum(q.get(timeout=seconds + 60) for _ in procs)
    for p in procs:
        p.join()
    return total / seconds

"""Bench phase "history": `as_of` rankings and explanations over 30 days of kept history.

Used by bench/bench.py (phase `history`). For each size (100 and 10,000 cities) a fresh real
stack (Redis, gunicorn ingest and web, one scoring worker, beat) scores the cities through
the real ingest and worker; then 30 days of one change per city per minute are written as
the default retention tiers would keep them ("1h=all,1d=10m,14d=1h,400d=1d": every version
of the last hour, each city's last entry per 10 minutes up to a day old, per hour up to 14
days, per UTC day beyond), directly in the stored format of commit.lua: one entry per
kept (city, minute) in `aicity:hist:<city>` scored by its version, `aicity:versions` thinned
the same way (the last version of each bucket), versions growing with time. A thinned entry
carries its bucket's changes merged (shared/domain/history_rules.merge_changes), so it names every
indicator that moved in the minutes it stands for. Scores follow a random walk back from
each city's real current scores; ranks are the real ranks of those scores at each minute.

Then real HTTP to the real web service measures, first with nothing arriving and then
while indicator updates arrive at one per city per minute through the real ingest, `as_of`
rankings at random moments (cold: a moment no process has read yet; warm: the same moment
again), explanations since a random moment for random cities, and the live ranking with its
default since (today); then one real `HistoryStore.thin()` pass is timed. Redis memory
is read before and after the history is written. Run alone:
`python bench/bench.py --phases noop,history`.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import shutil
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import requests

from shared.contract.jsonfast import compact, loads
from shared.contract.methodology import load_methodology
from shared.domain.history_rules import bucket, parse_tiers, resolution_at
from shared.store import keys as K
from shared.store.history import HistoryStore
from tests.support.procs import Stack, wait_for

TIERS = "1h=all,1d=10m,14d=1h,400d=1d"  # the default (shared/platform/settings.py)
DAYS = 30
MINUTE = 60_000
DAY_MS = 86_400_000


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def kept_minutes(now_ms: int, days: int = DAYS, tiers: str = TIERS) -> list[tuple[int, int]]:
    """Return (minute index, minutes it stands for) of the commits the tiers keep, oldest
    first, for one change per minute at now - (n - k) minutes, k = 0..n-1 (minute-aligned)."""
    parsed = parse_tiers(tiers)
    n = days * 1440
    times = [now_ms - (n - k) * MINUTE for k in range(n)]
    kept: list[tuple[int, int]] = []
    last = -1
    for k, t in enumerate(times):
        res = resolution_at(parsed, now_ms - t)
        if res is None:
            continue
        if res and k + 1 < n and bucket(times[k + 1], res) == bucket(t, res):
            continue  # not the last of its bucket: thinned into it
        kept.append((k, k - last))
        last = k
    return kept


def _fragments(bases: list[dict[str, Any]], codes: list[str], rng: random.Random,
               per_code: int = 400) -> dict[str, list[list[Any]]]:
    """Return change tuples per indicator in the stored shape, from real scored values."""
    pairs: dict[str, list[tuple[Any, Any]]] = {c: [] for c in codes}
    times: list[str] = []
    for entry in bases:
        for code, c in (entry.get("x") or {}).items():
            if code in pairs and c[3] is not None:
                pairs[code].append((c[2], c[3]))
                times.append(c[6])
    out: dict[str, list[list[Any]]] = {}
    for code in codes:
        got = pairs[code] or [(1.0, 0.5)]
        frags = []
        for _ in range(per_code):
            a, b = rng.choice(got), rng.choice(got)
            frags.append([a[0], a[1], b[0], b[1], str(uuid.uuid4()), "admin",
                          rng.choice(times) if times else iso(int(time.time() * 1000))])
        out[code] = frags
    return out


def _entry(v: int, t: int, r: int, base: dict[str, Any], s: float, p: dict[str, float],
           x: dict[str, list[Any]]) -> str:
    """Return a history entry as commit.lua stores it (its head, then _prepare's body)."""
    body = compact({"m": base.get("m"), "d": base.get("d"), "s": s, "c": base.get("c"),
                    "why": None, "p": p, "pc": base.get("pc"), "ld": iso(t), "st": False,
                    "n": 1, "x": x})[1:-1]
    return f'{{"v":{v},"t":{t},"r":{r},{body}}}'


def distinct_changes(minutes: int, ncodes: int) -> int:
    """Return the indicators expected to have moved in `minutes` one-indicator changes."""
    return min(ncodes, max(1, round(ncodes * (1 - (1 - 1 / ncodes) ** minutes))))


def probe_bytes(client: Any, bases: dict[str, dict[str, Any]], changes: list[int],
                rng: random.Random) -> int:
    """Return Redis's MEMORY USAGE of one city's history of len(changes) entries, each with
    that many indicator changes (a probe key outside the index, deleted after)."""
    codes = load_methodology().observed_indicator_codes()
    frags = _fragments(list(bases.values()), codes, rng, 50)
    base = next(iter(bases.values()))
    t0 = int(time.time() * 1000)
    members = {}
    for k, count in enumerate(changes):
        x = {c: rng.choice(frags[c]) for c in rng.sample(codes, count)}
        p = {q: rng.uniform(5, 95) for q in base["p"]}
        members[_entry(10_000_000 + k * 10_000, t0 + k * MINUTE, rng.randrange(1, 10_000), base,
                       rng.uniform(5, 95), p, x)] = 10_000_000 + k * 10_000
    key = K.city_history("bench-probe")
    client.zadd(key, members)
    size = int(client.memory_usage(key, samples=0))
    client.delete(key)
    return size


def write_history(client: Any, cities: list[str], bases: dict[str, dict[str, Any]],
                  now_ms: int, rng: random.Random, batch: int = 25) -> dict[str, Any]:
    """Write 30 days of kept history for the cities (see the module docstring); return what
    was written. bases: each city's real stored entry, the end point of its walk."""
    m = load_methodology()
    codes = m.observed_indicator_codes()
    pillars = [p.code for p in m.pillars]
    weights = np.array([p.weight for p in m.pillars])
    kept = kept_minutes(now_ms)
    n, kk = len(cities), len(kept)
    nprng = np.random.default_rng(rng.randrange(2**32))
    # Pillar scores: a random walk back in time from the real current ones, one step per
    # kept entry (larger for entries that stand for more minutes).
    p_now = np.array([[bases[c]["p"].get(p) or 50.0 for p in pillars] for c in cities])
    steps = nprng.normal(0.0, 1.0, (kk, n, len(pillars))) * np.sqrt(
        np.array([mins for _, mins in kept]))[:, None, None] * 0.05
    walk = np.cumsum(steps[::-1], axis=0)[::-1]  # zero change at the newest entry
    walk = np.concatenate([walk[1:], np.zeros((1, n, len(pillars)))])
    p_all = np.clip(p_now[None, :, :] + walk, 1.0, 99.0)
    if m.aggregation == "geometric":
        s_all = np.exp((np.log(p_all) * weights).sum(axis=2) / weights.sum())
    else:
        s_all = (p_all * weights).sum(axis=2) / weights.sum()
    # Ranks then (competition ranks of every city's score at that minute).
    order = np.argsort(-s_all, axis=1, kind="stable")
    r_all = np.empty_like(order)
    r_all[np.arange(kk)[:, None], order] = np.arange(1, n + 1)[None, :]
    frags = _fragments(list(bases.values()), codes, rng)
    ncodes = len(codes)
    distinct = [distinct_changes(mins, ncodes) for _, mins in kept]
    offsets = [i * MINUTE // n for i in range(n)]  # cities commit spread over each minute
    first_t = now_ms - DAYS * 1440 * MINUTE
    entries = changes = 0
    for lo in range(0, n, batch):
        pipe = client.pipeline(transaction=False)
        for i in range(lo, min(lo + batch, n)):
            city = cities[i]
            base = bases[city]
            members: dict[str, int] = {}
            for j, (k, _) in enumerate(kept):
                v = k * n + i + 1
                t = first_t + k * MINUTE + offsets[i]
                picked = rng.sample(codes, distinct[j])
                x = {c: frags[c][rng.randrange(len(frags[c]))] for c in picked}
                changes += len(x)
                members[_entry(v, t, int(r_all[j, i]), base, float(s_all[j, i]),
                               {p: float(p_all[j, i, q]) for q, p in enumerate(pillars)},
                               x)] = v
            entries += len(members)
            pipe.zadd(K.city_history(city), members)
        pipe.execute()
    # The versions zset: every version in the 'all' tier, the last of each bucket beyond.
    parsed = parse_tiers(TIERS)
    pipe = client.pipeline(transaction=False)
    versions = 0
    for k, _ in kept:
        t0 = first_t + k * MINUTE
        last_only = bool(resolution_at(parsed, now_ms - t0))
        chunk = {f"{k * n + i + 1}:{t0 + offsets[i]}": k * n + i + 1
                 for i in (range(n - 1, n) if last_only else range(n))}
        versions += len(chunk)
        pipe.zadd(K.VERSIONS, chunk)
    last_v, last_t = (kept[-1][0] + 1) * n, first_t + kept[-1][0] * MINUTE + offsets[-1]
    pipe.hset(K.INDEX, mapping={"version": last_v, "updated_ms": last_t})
    pipe.execute()
    return {"entries": entries, "entries_per_city": kk, "versions": versions,
            "changes_per_entry": changes / max(entries, 1), "last_version": last_v,
            "minutes_per_city": DAYS * 1440}


# ----------------------------------------------------------------- live updates

def _live(url: str, token: str, cities: list[str], per_s: float, stop: Any) -> None:
    """Post one indicator update per city per minute (per_s events/s) until stopped."""
    m = load_methodology()
    codes = m.observed_indicator_codes()
    rng = random.Random(7)
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    t0, sent = time.time(), 0
    while not stop.is_set():
        due = int((time.time() - t0) * per_s) - sent
        if due <= 0:
            time.sleep(0.05)
            continue
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        lines = []
        for _ in range(due):
            code = rng.choice(codes)
            ind = m.indicator(code)
            lines.append(orjson.dumps({
                "event_id": str(uuid.uuid4()), "type": "indicator.observed",
                "city_id": rng.choice(cities), "occurred_at": now,
                "data": {"indicator": code, "value": ind.lo + (ind.hi - ind.lo) * rng.random()}}))
        resp = session.post(f"{url}/v1/events", data=b"\n".join(lines) + b"\n", headers=headers,
                            timeout=60)
        if resp.status_code == 202:
            sent += due
        else:
            time.sleep(0.5)


# ----------------------------------------------------------------- measuring

def _pct(samples: list[float], q: float) -> float:
    if len(samples) < 2:
        return samples[0] if samples else float("nan")
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q * 100) - 1]


def _summary(samples: list[float]) -> dict[str, Any]:
    ms = [1000 * s for s in samples]
    return {"n": len(ms), "p50_ms": statistics.median(ms) if ms else None,
            "p95_ms": _pct(ms, 0.95) if ms else None, "max_ms": max(ms) if ms else None}


def _get(session: requests.Session, url: str) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    resp = session.get(url, timeout=120)
    took = time.perf_counter() - t0
    assert resp.status_code == 200, (url, resp.status_code, resp.text[:300])
    return took, resp.json()


def measure(stack: Stack, cities: list[str], now_ms: int, samples: int, rng: random.Random,
            seen: set[tuple[int, int]]) -> dict[str, Any]:
    """Time as_of rankings, explanations and the live ranking over real HTTP (one keep-alive
    client, one request at a time); `seen`: the moments already read (never cold again)."""
    session = requests.Session()
    web = f"{stack.web_url}/api/v1"
    client = stack.redis.client()
    tiers = parse_tiers(TIERS)
    # From the first whole UTC day kept: earlier moments resolve before the oldest point.
    oldest_t = int(client.zrange(K.VERSIONS, 0, 0)[0].partition(":")[2])
    start = (oldest_t // DAY_MS + 1) * DAY_MS

    def fresh_moment() -> int:
        """A random instant over the 30 days whose bucket no request has read yet."""
        for _ in range(10_000):
            at = rng.randrange(start, now_ms)
            res = resolution_at(tiers, now_ms - at) or MINUTE
            key = (res, at // res)
            if key not in seen:
                seen.add(key)
                return at
        raise RuntimeError("no unread moment left")

    out: dict[str, Any] = {}
    cold, warm, cold_v, warm_v = [], [], [], []
    for n in range(samples):
        at = fresh_moment()
        if n % 2:  # half by version: the kept version in force at that moment
            url = f"{web}/rankings?limit=100&as_of={_version_at(client, at)}"
            took, _ = _get(session, url)
            cold_v.append(took)
            warm_v.append(_get(session, url)[0])
        else:
            url = f"{web}/rankings?limit=100&as_of={iso(at).replace('+00:00', 'Z')}"
            took, doc = _get(session, url)
            assert doc["point_in_time"]["ranking_version"] > 0
            cold.append(took)
            warm.append(_get(session, url)[0])
    out["as_of_time_cold"], out["as_of_time_warm"] = _summary(cold), _summary(warm)
    out["as_of_version_cold"], out["as_of_version_warm"] = _summary(cold_v), _summary(warm_v)
    out["as_of_cold"] = _summary(cold + cold_v)
    out["as_of_warm"] = _summary(warm + warm_v)

    ex_cold, ex_warm = [], []
    for _ in range(samples):
        at = fresh_moment()
        since = iso(at).replace("+00:00", "Z")
        took, doc = _get(session, f"{web}/cities/{rng.choice(cities)}/explain?since={since}")
        assert "pillars" in doc
        ex_cold.append(took)
        ex_warm.append(_get(session, f"{web}/cities/{rng.choice(cities)}/explain?since={since}")[0])
    out["explain_cold"], out["explain_warm"] = _summary(ex_cold), _summary(ex_warm)

    live = []
    for _ in range(samples):
        took, doc = _get(session, f"{web}/rankings?limit=100")
        assert "since" in doc
        live.append(took)
        time.sleep(0.02)
    out["live_default_since"] = _summary(live)
    return out


def _version_at(client: Any, at_ms: int) -> int:
    """Return the last kept version committed at or before at_ms (binary search)."""
    lo, hi, found = 0, int(client.zcard(K.VERSIONS)) - 1, 0
    while lo <= hi:
        mid = (lo + hi) // 2
        member = client.zrange(K.VERSIONS, mid, mid)[0]
        v, _, t = member.partition(":")
        if int(t) <= at_ms:
            found, lo = int(v), mid + 1
        else:
            hi = mid - 1
    return found


def _memory(client: Any) -> int:
    return int(client.info("memory")["used_memory"])


def history_size(tmp: Path, n: int, setup: list[dict[str, Any]],
                 bodies: Callable[[list[dict[str, Any]], int], list[bytes]],
                 post_load: Callable[..., Any], samples: int = 200,
                 http_workers: int = 2, rng: random.Random | None = None) -> dict[str, Any]:
    """Run the phase for one number of cities on a fresh stack; return its figures."""
    rng = rng or random.Random(n)
    stack = Stack(tmp, http_workers=http_workers).start(workers=1)
    stop = mp.Event()
    live: mp.Process | None = None
    try:
        client = stack.redis.client()
        # Room for 30 days of 10,000 cities' history (noeviction: never dropped silently).
        client.config_set("maxmemory", "18gb")
        # The sweeper must not thin while we measure: the pass is timed below.
        client.set(K.HISTORY_COMPACTING, "1", ex=7200)
        token = stack.admin_token()
        t0 = time.time()
        post_load(stack, token, bodies(setup, 1000), 4)
        stack.wait_idle(900)
        base_s = time.time() - t0
        cities = sorted(client.smembers(K.CITIES))
        bases = {}
        pipe = client.pipeline(transaction=False)
        for city in cities:
            pipe.zrange(K.city_history(city), -1, -1)
        for city, got in zip(cities, pipe.execute()):
            bases[city] = loads(got[0])
        # The base load's own entries are replaced by the 30 days (their versions are not
        # older than the history's): a bulk load, so without the AOF (reads are measured).
        client.config_set("appendonly", "no")
        pipe = client.pipeline(transaction=False)
        for city in cities:
            pipe.delete(K.city_history(city))
        pipe.delete(K.VERSIONS)
        pipe.execute()
        mem0 = _memory(client)
        now_ms = HistoryStore(client).now_ms() // MINUTE * MINUTE
        t0 = time.time()
        written = write_history(client, cities, bases, now_ms, rng)
        write_s = time.time() - t0
        mem1 = _memory(client)
        sample_keys = rng.sample(cities, min(20, len(cities)))
        key_bytes = [int(client.memory_usage(K.city_history(c), samples=0)) for c in sample_keys]
        key_entries = [int(client.zcard(K.city_history(c))) for c in sample_keys]
        # A day at full resolution (1,440 one-indicator entries), and the steady state the
        # default tiers bound a city to after 400 days (each entry with its merged changes).
        ncodes = len(load_methodology().observed_indicator_codes())
        day_full = probe_bytes(client, bases, [1] * 1440, rng)
        steady = kept_minutes(now_ms, days=400)
        steady_bytes = probe_bytes(client, bases,
                                   [distinct_changes(mins, ncodes) for _, mins in steady], rng)
        # First with nothing arriving (the newest version stays put), then with one update
        # per city per minute arriving through the real ingest while we measure.
        seen: set[tuple[int, int]] = set()
        try:  # the worker is quiet again once the loaded version's bands are out
            wait_for(lambda: client.hget(K.INDEX, "bands") == str(written["last_version"]),
                     180, 0.5, what="bands of the loaded version")
        except TimeoutError as exc:
            log(f"history {n}: {exc}")
        quiet = measure(stack, cities, now_ms, max(samples // 5, 20), rng, seen)
        log(f"history {n}: quiet {quiet}")
        live = mp.Process(target=_live, args=(stack.ingest_url, token, cities, n / 60, stop),
                          daemon=True)
        live.start()
        time.sleep(3)
        t0, load0 = time.time(), os.getloadavg()[0]
        timings = measure(stack, cities, now_ms, samples, rng, seen)
        measure_s, load1 = time.time() - t0, os.getloadavg()[0]
        stop.set()
        live.join(30)
        try:  # a 10,000-city band run can hold the solo worker for ~20 s at a time
            stack.wait_idle(180)
        except TimeoutError as exc:
            log(f"history {n}: {exc}; thinning anyway")
        # One real thinning pass, as the sweeper runs it: the last pass at the time the
        # history was written, so it thins what aged into a coarser tier since.
        client.set(K.HISTORY_COMPACTED, now_ms)
        store = HistoryStore(client, TIERS)
        t0 = time.perf_counter()
        removed = store.thin()
        compact_s = time.perf_counter() - t0
        mem2 = _memory(client)
        entries = written["entries"]
        per_entry = (mem1 - mem0) / entries
        return {
            "cities": n, "samples": samples, "base_load_s": base_s, "write_s": write_s,
            "measure_s": measure_s, "loadavg_before_after": [load0, load1], **written,
            "used_memory_before": mem0, "used_memory_after": mem1,
            "used_memory_after_compact": mem2,
            "bytes_per_entry": per_entry,
            "bytes_per_city": (mem1 - mem0) / n,
            "memory_usage_per_key_bytes": statistics.mean(key_bytes),
            "memory_usage_per_key_entries": statistics.mean(key_entries),
            "full_resolution_day_bytes": day_full,
            "steady_state_entries": len(steady), "steady_state_bytes": steady_bytes,
            "compact_s": compact_s, "compact_removed": removed,
            "compact_window_s": (HistoryStore(client).now_ms() - now_ms) / 1000,
            **timings, "quiet": quiet,
        }
    finally:
        stop.set()
        if live is not None and live.is_alive():
            live.terminate()
        stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def log(text: str) -> None:
    print(f"{datetime.now(UTC):%H:%M:%S} {text}", flush=True)


def history_phase(tmp: Path, setup: Callable[[int], list[dict[str, Any]]],
                  bodies: Callable[[list[dict[str, Any]], int], list[bytes]],
                  post_load: Callable[..., Any], sizes: tuple[int, ...] = (100, 10_000),
                  samples: int = 200, http_workers: int = 2) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n in sizes:
        k = samples if n <= 1000 else max(samples // 2, 20)
        out[str(n)] = history_size(tmp / f"history-{n}", n, setup(n), bodies, post_load, k,
                                   http_workers)
        log(f"history {n}: {orjson.dumps(out[str(n)]).decode()}")
    return out


def report_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    """Return (measure, value) rows for the bench report."""
    rows = []
    def pp(v: dict[str, Any], key: str) -> str:
        return f"{v[key]['p50_ms']:.0f} / {v[key]['p95_ms']:.0f} ms"

    for n, v in r.items():
        rows += [
            (f"history {int(n):,} cities: as_of ranking cold / warm p50 / p95",
             f"{pp(v, 'as_of_cold')}; {pp(v, 'as_of_warm')}"),
            (f"history {int(n):,} cities: explain since a moment cold / warm p50 / p95",
             f"{pp(v, 'explain_cold')}; {pp(v, 'explain_warm')}"),
            (f"history {int(n):,} cities: live ranking (since today) p50 / p95",
             pp(v, "live_default_since")),
            (f"history {int(n):,} cities: kept entries per city; bytes per entry; per city",
             f"{v['entries_per_city']}; {v['bytes_per_entry']:.0f} B; "
             f"{v['bytes_per_city'] / 1e6:.2f} MB"),
            (f"history {int(n):,} cities: one thin() pass",
             f"{v['compact_s']:.2f} s ({v['compact_removed']:,} removed)"),
        ]
    return rows

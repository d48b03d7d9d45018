"""Bench phases: webhook delivery latency, from the ranking commit to a local receiver; and the
hooks lane: scoring and delivery latency while misbehaving receivers are registered."""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from shared.store.hooks import HookStore
from tests.support import metrics
from tests.support.procs import Stack, wait_for
from tests.support.receivers import BAD_PATHS, Receivers


class _Receiver:
    """Record (arrival ms, commit ms) for every delivery; answer 204."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would offer

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                arrived = time.time() * 1000
                receiver.seen.append((arrived, json.loads(body)["data"]["committed_ms"]))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def webhooks_phase(tmp: Path, setup: list[dict[str, Any]],
                   updates: Callable[[int], list[dict[str, Any]]],
                   seconds: float = 20.0, rate: float = 120.0,
                   http_workers: int = 2) -> dict[str, Any]:
    """Post indicator updates at `rate` events/s to 100 ranked cities with one rank_change
    hook; return the commit-to-receiver latency of the deliveries and their rate."""
    stack = Stack(tmp, http_workers=http_workers).start(workers=1)
    receiver = _Receiver()
    try:
        session, headers = _seed(stack, setup)
        HookStore(stack.redis.client()).create(receiver.url, "rank_change", None, 0)
        events, posted = _paced(stack, session, headers, updates, seconds, rate)
        stack.wait_idle(120)
        wait_for(lambda: _settled(lambda: len(receiver.seen)), 30, 0.5, what="deliveries settled")
        lat = [(arrived - committed) / 1000 for arrived, committed in receiver.seen]
        return {"offered_events_per_s": len(events) / posted,
                "rank_changes_delivered": len(lat),
                "rank_changes_per_s": len(lat) / posted,
                "p50_s": statistics.median(lat), "p99_s": _pct(lat, 0.99), "max_s": max(lat)}
    finally:
        receiver.server.shutdown()
        stack.stop()


def _seed(stack: Stack, setup: list[dict[str, Any]]) -> tuple[requests.Session, dict[str, str]]:
    """Load the setup events through ingest with an admin feed; return its session and headers."""
    token = stack.admin_token()
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}"}
    for i in range(0, len(setup), 1000):
        assert session.post(f"{stack.ingest_url}/v1/events", json=setup[i:i + 1000],
                            headers=headers, timeout=60).status_code == 202
    stack.wait_idle(300)
    return session, headers


def _paced(stack: Stack, session: requests.Session, headers: dict[str, str],
           updates: Callable[[int], list[dict[str, Any]]], seconds: float, rate: float
           ) -> tuple[list[dict[str, Any]], float]:
    """Post updates at `rate` events/s for `seconds`, one small batch every 100 ms; return
    the events and the seconds posting took."""
    tick = 0.1
    per_tick = max(1, round(rate * tick))
    events = updates(int(seconds / tick) * per_tick)
    start = time.time()
    for n in range(0, len(events), per_tick):
        delay = start + (n // per_tick) * tick - time.time()
        if delay > 0:
            time.sleep(delay)
        assert session.post(f"{stack.ingest_url}/v1/events", json=events[n:n + per_tick],
                            headers=headers, timeout=60).status_code == 202
    return events, time.time() - start


def _version(stack: Stack) -> int:
    doc = requests.get(f"{stack.web_url}/api/v1/rankings?limit=1", timeout=10).json()
    return int(doc["ranking_version"])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def hooks_lane_phase(tmp: Path, setup: list[dict[str, Any]],
                     updates: Callable[[int], list[dict[str, Any]]],
                     seconds: float = 20.0, rate: float = 20.0,
                     http_workers: int = 2) -> dict[str, Any]:
    """Scoring ack-to-visible and delivery latency with a good receiver only, then with
    receivers that hang, trickle, answer 300 MB or redirect, each with a score_change hook
    on every city (the same paced load both times)."""
    stack = Stack(tmp, http_workers=http_workers).start(workers=1)
    receivers = Receivers()
    scoring = list(stack.worker_ports.values())
    hooks_pid = stack.services["hooks"].proc.pid  # type: ignore[union-attr]
    name = "aicity_scoring_ack_to_visible_seconds"
    try:
        session, headers = _seed(stack, setup)
        store = HookStore(stack.redis.client())
        ok_id = store.create(receivers.url("/ok"), "score_change", None, 0).id
        out: dict[str, Any] = {"rate": rate, "seconds": seconds}
        bad: dict[str, str] = {}
        for window in ("good_only", "with_bad"):
            if window == "with_bad":
                bad = {p: store.create(receivers.url(p), "score_change", None, 0).id
                       for p in BAD_PATHS}
            rss_before = _rss_mb(hooks_pid)
            before = metrics.histogram(scoring, name)
            receivers.ok_latency_s.clear()
            version = _version(stack)
            events, posted = _paced(stack, session, headers, updates, seconds, rate)
            stack.wait_idle(120)
            after = metrics.histogram(scoring, name)
            wait_for(lambda: _settled(lambda: len(receivers.ok_latency_s)), 30, 0.5,
                     what="deliveries settled")
            lat = sorted(receivers.ok_latency_s)
            out[window] = {
                "events": len(events), "offered_per_s": len(events) / posted,
                "ack_p50_s": metrics.quantile(0.5, before, after),
                "ack_p99_s": metrics.quantile(0.99, before, after),
                "ack_within_250ms": metrics.share_within(0.25, before, after),
                "commits": _version(stack) - version,  # ranking versions: one per change
                "ok_deliveries": len(lat), "ok_dropped": store.backlog(ok_id)[1],
                "ok_p50_s": _pct(lat, 0.5) if lat else float("nan"),
                "ok_p99_s": _pct(lat, 0.99) if lat else float("nan"),
                "hooks_rss_mb": [round(rss_before, 1), round(_rss_mb(hooks_pid), 1)]}
        attempts = {p: store.deliveries(h, 200) for p, h in bad.items()}
        out["bad"] = {p: {"requests": receivers.count(p),
                          "outcomes": sorted({e["outcome"] for e in log}),
                          "max_attempt_ms": max((e["duration_ms"] for e in log), default=0),
                          "error": log[0]["error"][:60] if log else ""}
                      for p, log in attempts.items()}
        return out
    finally:
        receivers.close()
        stack.stop()


def _settled(count: Callable[[], int]) -> bool:
    """Tell whether no delivery arrived for a second (the dispatcher caught up)."""
    n = count()
    time.sleep(1.0)
    return count() == n


def lane_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    """Return the hooks lane phase's rows for the report table."""
    rows = []
    for window, label in (("good_only", "good receiver only"), ("with_bad", "bad receivers too")):
        if window in r:
            w = r[window]
            rows.append((f"hooks lane, {label}: ack-to-visible p50 / p99; delivery p50 / p99",
                         f"{w['ack_p50_s'] * 1000:.0f} / {w['ack_p99_s'] * 1000:.0f} ms; "
                         f"{w['ok_p50_s'] * 1000:.0f} / {w['ok_p99_s'] * 1000:.0f} ms"))
    return rows

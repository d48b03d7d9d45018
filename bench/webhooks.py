"""Bench phase: webhook delivery latency, from the ranking commit to a local receiver."""

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
from tests.support.procs import Stack, wait_for


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
        token = stack.admin_token()
        session = requests.Session()
        headers = {"Authorization": f"Bearer {token}"}
        for i in range(0, len(setup), 1000):
            assert session.post(f"{stack.ingest_url}/v1/events", json=setup[i:i + 1000],
                                headers=headers, timeout=60).status_code == 202
        stack.wait_idle(300)
        HookStore(stack.redis.client()).create(receiver.url, "rank_change", None, 0)
        tick = 0.1  # one small batch every 100 ms
        per_tick = max(1, round(rate * tick))
        events = updates(int(seconds / tick) * per_tick)
        start = time.time()
        for n in range(0, len(events), per_tick):
            delay = start + (n // per_tick) * tick - time.time()
            if delay > 0:
                time.sleep(delay)
            assert session.post(f"{stack.ingest_url}/v1/events", json=events[n:n + per_tick],
                                headers=headers, timeout=60).status_code == 202
        posted = time.time() - start
        stack.wait_idle(120)
        count = len(receiver.seen)
        wait_for(lambda: _settled(receiver, count), 30, 0.5, what="deliveries settled")
        lat = [(arrived - committed) / 1000 for arrived, committed in receiver.seen]
        return {"offered_events_per_s": len(events) / posted,
                "rank_changes_delivered": len(lat),
                "rank_changes_per_s": len(lat) / posted,
                "p50_s": statistics.median(lat), "p99_s": _pct(lat, 0.99), "max_s": max(lat)}
    finally:
        receiver.server.shutdown()
        stack.stop()


def _settled(receiver: _Receiver, count: int) -> bool:
    """Tell whether no delivery arrived for a second (the dispatcher caught up)."""
    n = len(receiver.seen)
    time.sleep(1.0)
    return len(receiver.seen) == n

"""Webhooks in their own lane (issue 18, finding 1), against the running stack.

Receivers that hang, trickle (from the status line, or the body), answer 300 MB (with and
without a length) or redirect, each with a hook on every city, while another feed posts
score changes: that feed's ack-to-visible p99 stays under 250 ms and scoring keeps up, the
hooks worker's memory stays flat, the bad receivers' deliveries are logged as retries or
failures naming why, a good receiver keeps being served, and a hook deleted while its
attempt hangs gets no further attempt.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.contract.methodology import load_methodology
from shared.store.hooks import HookStore
from tests.integration.test_pipeline import full_city
from tests.support import metrics
from tests.support.events import indicator, post
from tests.support.procs import Stack, wait_for
from tests.support.receivers import BAD_PATHS, Receivers

pytestmark = pytest.mark.e2e

M = load_methodology()
CITIES = [f"lane-{n:02d}" for n in range(30)]
ACK_P99_S = 0.25  # the acceptance bound (a bucket boundary of the histogram)
DEADLINE_MS = 5000  # the default attempt deadline
DEADLINE_ERRORS = ("/hang", "/trickle", "/trickle-body")
CAP_ERRORS = ("/huge", "/huge-stream")


@dataclass
class Lane:
    stack: Stack
    receivers: Receivers
    hooks: HookStore
    admin: str


@pytest.fixture
def lane(tmp_path: Path) -> Iterator[Lane]:
    """The whole stack (one scoring worker, the hooks worker), 30 ranked cities, receivers."""
    stack = Stack(tmp_path).start(workers=1)
    receivers = Receivers()
    try:
        admin = stack.admin_token()
        events = [e for n, c in enumerate(CITIES) for e in full_city(c, 0.2 + 0.6 * n / len(CITIES))]
        assert post(stack.ingest_url, admin, events).status_code == 202
        stack.wait_idle(120)
        wait_for(lambda: ranked(stack) == len(CITIES), 30, what="every city ranked")
        yield Lane(stack, receivers, HookStore(stack.redis.client()), admin)
    finally:
        receivers.close()
        stack.stop()


def rss_mb(pid: int) -> float:
    """Return a process's resident memory in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def updates(rng: random.Random, n: int, start: int) -> list[dict[str, Any]]:
    """Score-moving observations for random cities, each later than the one before."""
    codes = M.observed_indicator_codes()
    out = []
    for k in range(n):
        ind = M.indicator(rng.choice(codes))
        at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(1_748_736_000 + start + k))
        out.append(indicator(rng.choice(CITIES), ind.code,
                             ind.lo + (ind.hi - ind.lo) * rng.uniform(0.1, 0.9), at))
    return out


def test_bad_receivers_cost_only_their_own_hooks(lane: Lane) -> None:
    s, r, hooks = lane.stack, lane.receivers, lane.hooks
    ids = {path: hooks.create(r.url(path), "score_change", None, 0).id
           for path in ("/ok", *BAD_PATHS)}
    partner = s.admin_token("partner")  # another feed than the one that loaded the cities
    hooks_pid = s.services["hooks"].proc.pid  # type: ignore[union-attr]
    rss_before = rss_mb(hooks_pid)
    scoring = list(s.worker_ports.values())
    before = metrics.histogram(scoring, "aicity_scoring_ack_to_visible_seconds")
    first = ranking_version(s)

    rng = random.Random(18)
    posted = deleted_at = 0.0
    start = time.time()
    for tick in range(200):  # 20 s: two events every 100 ms
        delay = start + tick * 0.1 - time.time()
        if delay > 0:
            time.sleep(delay)
        resp = post(s.ingest_url, partner, updates(rng, 2, 2 * tick))
        assert resp.status_code == 202, resp.text
        posted += 2
        if tick == 100:  # halfway: delete the hanging hook while an attempt hangs on it
            wait_for(lambda: r.active.get("/hang", 0) > 0, 15, what="an attempt hanging")
            assert hooks.delete(ids["/hang"])
            deleted_at = time.time()
    s.wait_idle(60)
    after = metrics.histogram(scoring, "aicity_scoring_ack_to_visible_seconds")

    # The other feed's events became visible fast: p99 <= 250 ms, and scoring kept up.
    observed = after[float("inf")] - before.get(float("inf"), 0.0)
    assert observed >= posted * 0.95, (observed, posted)  # (a few share a recompute's lag)
    within = metrics.share_within(ACK_P99_S, before, after)
    assert within >= 0.99, (f"ack-to-visible p99 > {ACK_P99_S} s: {within:.3%} within; p99 "
                            f"{metrics.quantile(0.99, before, after):.3f} s\n" + s.logs())
    assert ranking_version(s) > first + 100

    # The good receiver heard of the changes, promptly, whatever the bad ones did.
    wait_for(lambda: r.count("/ok") >= 100, 30, what="deliveries to the good receiver")
    ok_log = hooks.deliveries(ids["/ok"], 200)
    assert ok_log and {e["outcome"] for e in ok_log} == {"sent"}
    ok = sorted(r.ok_latency_s)
    assert ok[int(0.99 * (len(ok) - 1))] < 2.5, ok[-20:]

    # Each bad receiver cost its own hook retries or failures, each naming its cause, and
    # no attempt outlived the deadline.
    for path in BAD_PATHS:
        if path == "/hang":
            continue  # deleted: checked below
        log = wait_for(lambda p=path: hooks.deliveries(ids[p], 200), 30,  # type: ignore[misc]
                       what=f"attempts logged for {path}")
        assert {e["outcome"] for e in log} <= {"retry", "failed"}, (path, log[:3])
        assert all(e["duration_ms"] <= DEADLINE_MS + 1500 for e in log), (path, log[:3])
        if path in DEADLINE_ERRORS:
            assert all(e["error"].startswith("DeadlineExceeded") for e in log), (path, log[:3])
        elif path in CAP_ERRORS:
            assert all(e["error"].startswith("ResponseTooLarge") for e in log), (path, log[:3])
        else:  # a redirect: final, never followed
            assert all(e["status"] == 302 and e["outcome"] == "failed"
                       and e["error"].endswith("not followed") for e in log), log[:3]
    assert r.count("/redirected") == 0
    hooks_ports = list(s.hooks_ports.values())
    assert metrics.counter(hooks_ports, "aicity_webhook_deliveries_total", 'outcome="retried"') > 0
    assert metrics.counter(hooks_ports, "aicity_webhook_deliveries_total", 'outcome="failed"') > 0

    # 300 MB answers were not read: the hooks worker's memory stayed where it was.
    rss_after = rss_mb(hooks_pid)
    assert rss_after - rss_before < 60, (rss_before, rss_after)

    # The deleted hook: the attempt in flight ended within its deadline, then no other
    # (at most one could have passed its check just before the deletion), nothing logged.
    assert r.last_hit("/hang") < deleted_at + 1.0, (r.last_hit("/hang"), deleted_at)
    assert hooks.get(ids["/hang"]) is None and hooks.deliveries(ids["/hang"]) == []
    assert hooks.queued(ids["/hang"]) == 0
    wait_for(lambda: r.active.get("/hang", 0) == 0, DEADLINE_MS / 1000 + 5,
             what="the deleted hook's last attempt closed")


def ranked(s: Stack) -> int:
    """Return how many cities the published ranking holds."""
    doc = requests.get(f"{s.web_url}/api/v1/rankings?limit=1000", timeout=10).json()
    return len(doc["items"])


def ranking_version(s: Stack) -> int:
    """Return the published ranking version (through the web API)."""
    doc = requests.get(f"{s.web_url}/api/v1/rankings?limit=1", timeout=10).json()
    return int(doc["ranking_version"])

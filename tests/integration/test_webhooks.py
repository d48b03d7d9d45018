"""Webhooks on a real Redis, scoring worker and hooks worker (their own lane), delivered to a
real local HTTP receiver that checks each signature with its own implementation of the
Standard Webhooks spec."""

from __future__ import annotations

import base64
import hmac
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from shared.store.feeds import FeedStore
from shared.store.hooks import HookStore
from tests.integration.conftest import Pipeline, fresh_pipeline, long_lived_stack
from tests.integration.test_hostile_feeds import inject_undecodable
from tests.integration.test_pipeline import M, full_city, score_of
from tests.support.events import indicator
from tests.support.procs import REPO, RedisProc, Stack, wait_for

pytestmark = pytest.mark.integration
TOLERANCE_S = 300  # receivers reject timestamps further than this from now (spec advice)


def verify(secret: str, headers: dict[str, str], body: bytes, now: float | None = None) -> bool:
    """Check a delivery as a receiver would, written from the spec, not from our code."""
    msg_id, ts = headers["webhook-id"], headers["webhook-timestamp"]
    if abs((time.time() if now is None else now) - int(ts)) > TOLERANCE_S:
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = msg_id.encode() + b"." + ts.encode() + b"." + body
    expected = base64.b64encode(hmac.digest(key, signed, "sha256")).decode()
    for part in headers["webhook-signature"].split(" "):
        version, _, sig = part.partition(",")
        if version == "v1" and hmac.compare_digest(sig, expected):
            return True
    return False


def test_the_receivers_verifier_accepts_the_published_vector() -> None:
    headers = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
               "webhook-signature": "v1,bm9wZQ== v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    assert verify(secret, headers, b'{"test": 2432232314}', now=1614265330)
    assert not verify(secret, headers, b'{"test": 2432232315}', now=1614265330)
    assert not verify(secret, headers, b'{"test": 2432232314}')  # too old


class Receiver:
    """A local HTTP server recording deliveries; answers with the statuses it is given."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.statuses: dict[str, list[int]] = {}  # path -> statuses to answer first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(
                    (self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                queue = receiver.statuses.get(self.path) or []
                status = queue.pop(0) if queue else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def at(self, path: str) -> list[tuple[dict[str, str], dict[str, Any], bytes]]:
        return [(h, json.loads(b), b) for p, h, b in self.received if p == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A local webhook receiver on a free port."""
    r = Receiver()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


@pytest.fixture(scope="module")
def hooks_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Real Redis, one scoring worker, the hooks worker and beat, started once for the module."""
    yield from long_lived_stack(tmp_path_factory, "hooks", hooks=True)


@pytest.fixture
def pipeline(hooks_stack: Stack) -> Pipeline:
    """The module's stack with the hooks worker, reset; the apps as test clients."""
    return fresh_pipeline(hooks_stack)


def cli(p: Pipeline, *args: str) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([sys.executable, "-m", "shared.cli.main", "hooks", *args,
                          "--redis-url", p.redis.url],
                         capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    return out


def create(p: Pipeline, url: str, *opts: str) -> tuple[str, str]:
    hook_id, secret = cli(p, "create", url, *opts).stdout.split()
    assert secret.startswith("whsec_")
    return hook_id, secret


def level(city_id: str, value: float, at: str = "2025-06-01T00:00:00+00:00") -> list[dict[str, Any]]:
    """Indicator events moving every indicator of a city to `value` between goalposts."""
    out = []
    for code in M.observed_indicator_codes():
        ind = M.indicator(code)
        out.append(indicator(city_id, code, ind.lo + (ind.hi - ind.lo) * value, at))
    return out


def seed(p: Pipeline, levels: dict[str, float]) -> None:
    events = [e for c, v in levels.items() for e in full_city(c, v)]
    assert p.ingest.post("/v1/events", json=events, headers=p.auth()).status_code == 202
    wait_for(lambda: all(score_of(p, c) is not None for c in levels), 30, what="seeded")


def post(p: Pipeline, events: list[dict[str, Any]]) -> None:
    assert p.ingest.post("/v1/events", json=events, headers=p.auth()).status_code == 202


def test_rank_change_is_delivered_signed_and_logged(pipeline: Pipeline, receiver: Receiver) -> None:
    p = pipeline
    seed(p, {"alpha": 0.5, "beta": 0.6})
    hook_id, secret = create(p, receiver.url("/rank"), "--on", "rank_change")
    post(p, level("alpha", 0.9))
    got = wait_for(lambda: receiver.at("/rank"), 20, what="delivery")
    headers, body, raw = got[0]
    assert verify(secret, headers, raw)
    assert not verify("whsec_" + base64.b64encode(b"another key").decode(), headers, raw)
    assert headers["content-type"] == "application/json"
    data = body["data"]
    assert body["type"] == "rank_change" and data["city_id"] == "alpha"
    assert (data["rank_before"], data["rank_after"]) == (2, 1)
    assert data["score_after"] == pytest.approx(score_of(p, "alpha"))
    assert data["score_before"] < data["score_after"]
    assert data["ranking_version"] >= 1
    drivers = data["top_drivers"]
    assert data["places_gained"] == 1 and data["pillar_changes"] == drivers  # alias kept
    assert drivers and all(d["after"] > d["before"] for d in drivers)
    assert [abs(d["delta"]) for d in drivers] == sorted((abs(d["delta"]) for d in drivers),
                                                        reverse=True)
    assert {d["pillar"] for d in drivers} <= {pl.code for pl in M.pillars}

    listed = cli(p, "list").stdout
    assert hook_id in listed and "rank_change" in listed and secret not in listed
    log = wait_for(lambda: cli(p, "deliveries", hook_id).stdout, 10)
    assert headers["webhook-id"] in log and "\t200\tsent" in log
    assert p.worker_metric("aicity_webhook_deliveries_total", 'outcome="sent"') >= 1
    assert "deleted" in cli(p, "delete", hook_id).stdout
    assert hook_id not in cli(p, "list").stdout


def test_a_500_is_retried_then_delivered(pipeline: Pipeline, receiver: Receiver) -> None:
    p = pipeline
    seed(p, {"alpha": 0.5, "beta": 0.6})
    receiver.statuses["/flaky"] = [500]
    hook_id, secret = create(p, receiver.url("/flaky"), "--on", "score_change")
    post(p, level("alpha", 0.55))
    got = wait_for(lambda: len(receiver.at("/flaky")) >= 2 and receiver.at("/flaky"), 30,
                   what="retry")
    first, second = got[0][0], got[1][0]
    assert first["webhook-id"] == second["webhook-id"]  # the same message, sent again
    assert verify(secret, second, got[1][2])
    log = cli(p, "deliveries", hook_id).stdout.splitlines()
    assert "attempt 2\t200\tsent" in log[0] and "attempt 1\t500\tretry" in log[1]
    assert p.worker_metric("aicity_webhook_deliveries_total", 'outcome="retried"') >= 1


def test_a_410_disables_the_hook(pipeline: Pipeline, receiver: Receiver) -> None:
    p = pipeline
    seed(p, {"alpha": 0.5, "beta": 0.6})
    receiver.statuses["/gone"] = [410]
    hook_id, _ = create(p, receiver.url("/gone"), "--on", "score_change")
    post(p, level("alpha", 0.55))
    wait_for(lambda: "DISABLED" in cli(p, "list").stdout, 20, what="disabled")
    post(p, level("alpha", 0.7, at="2025-06-02T00:00:00+00:00"))
    wait_for(lambda: score_of(p, "alpha") > score_of(p, "beta"), 20)  # type: ignore[operator]
    time.sleep(1.5)  # what a delivery would take; nothing may arrive
    assert len(receiver.at("/gone")) == 1
    assert "\t410\tdisabled" in cli(p, "deliveries", hook_id).stdout


def test_cities_and_min_move_filters(pipeline: Pipeline, receiver: Receiver) -> None:
    p = pipeline
    seed(p, {"alpha": 0.3, "beta": 0.4, "gamma": 0.6})
    create(p, receiver.url("/beta"), "--on", "rank_change", "--cities", "beta")
    create(p, receiver.url("/two"), "--on", "rank_change", "--min-move", "2")
    create(p, receiver.url("/three"), "--on", "rank_change", "--min-move", "3")
    create(p, receiver.url("/any"), "--on", "rank_change")
    post(p, level("alpha", 0.9))  # alpha 3 -> 1: a move of 2
    wait_for(lambda: receiver.at("/any"), 20, what="alpha delivered")
    wait_for(lambda: receiver.at("/two"), 10, what="min-move 2 delivered")
    assert [b["data"]["city_id"] for _, b, _ in receiver.at("/two")] == ["alpha"]
    post(p, level("beta", 0.95))  # beta 3 -> 1
    wait_for(lambda: receiver.at("/beta"), 20, what="beta delivered")
    wait_for(lambda: len(receiver.at("/any")) >= 2, 10)
    assert [b["data"]["city_id"] for _, b, _ in receiver.at("/beta")] == ["beta"]
    assert [(b["data"]["rank_before"], b["data"]["rank_after"])
            for _, b, _ in receiver.at("/any")] == [(3, 1), (3, 1)]
    assert receiver.at("/three") == []


def test_a_dead_letter_fires_failed_hooks(pipeline: Pipeline, receiver: Receiver) -> None:
    p = pipeline
    seed(p, {"alpha": 0.5, "beta": 0.6})
    _, secret = create(p, receiver.url("/failed"), "--on", "failed", "--cities", "alpha")
    create(p, receiver.url("/beta-failed"), "--on", "failed", "--cities", "beta")
    bad_id = inject_undecodable(p, "alpha")
    post(p, [indicator("alpha", "infra.gpu_pflops", 321, at="2025-06-03T00:00:00Z")])
    got = wait_for(lambda: receiver.at("/failed"), 20, what="failed delivered")
    headers, body, raw = got[0]
    assert verify(secret, headers, raw)
    assert body["type"] == "failed" and body["data"]["event_id"] == bad_id
    assert body["data"]["city_id"] == "alpha" and "ValueError" in body["data"]["reason"]
    assert receiver.at("/beta-failed") == []


def test_a_held_jump_fires_held_hooks(pipeline: Pipeline, receiver: Receiver) -> None:
    p = pipeline
    seed(p, {"alpha": 0.5})
    _, secret = create(p, receiver.url("/held"), "--on", "held")
    token = FeedStore(p.redis.client()).create("alpha-feed", ["alpha"])
    jump = indicator("alpha", "infra.gpu_pflops", 1, at="2025-06-02T00:00:00Z")
    resp = p.ingest.post("/v1/events", json=[jump], headers=p.auth(token)).get_json()
    assert resp["results"][0]["status"] == "held"
    got = wait_for(lambda: receiver.at("/held"), 20, what="held delivered")
    headers, body, raw = got[0]
    assert verify(secret, headers, raw)
    assert body["type"] == "held" and body["data"]["event_id"] == jump["event_id"]
    assert body["data"]["city_id"] == "alpha" and body["data"]["feed"] == "alpha-feed"
    assert body["data"]["proposed"] == 1 and body["data"]["indicator"] == "infra.gpu_pflops"
    assert body["data"]["current_points"] - body["data"]["proposed_points"] > 40


def test_the_delivery_lock_has_one_holder_and_checks_its_token(tmp_path: Path) -> None:
    """The store's side of 'one task per hook': on a real Redis, without workers."""
    redis_proc = RedisProc(tmp_path / "redis").start()
    try:
        store = HookStore(redis_proc.client())
        a = store.create("http://127.0.0.1:9/a", "rank_change", None, 0)
        b = store.create("http://127.0.0.1:9/b", "rank_change", None, 0)
        store.push([(a.id, {"hook": a.id, "id": "m1", "type": "rank_change", "attempt": 0,
                            "data": {"city_id": "alpha"}}),
                    (b.id, {"hook": b.id, "id": "m2", "type": "rank_change", "attempt": 0,
                            "data": {"city_id": "alpha"}})])
        token = store.lock(a.id, 60_000)
        assert token and store.lock(a.id, 60_000) is None  # one holder
        assert store.idle([a.id, b.id]) == [b.id]
        assert store.waiting() == [b.id]  # a has work but a task delivering it
        store.unlock(a.id, "not-the-token")  # someone else's release changes nothing
        assert store.lock(a.id, 60_000) is None
        store.unlock(a.id, token)
        assert sorted(store.waiting()) == sorted([a.id, b.id]) and store.queued(a.id) == 1
        short = store.lock(b.id, 50)  # a dead worker's lock expires
        assert short and wait_for(lambda: store.lock(b.id, 60_000), 5, what="lock expired")
        assert store.delete(a.id) and store.queued(a.id) == 0 and a.id not in store.waiting()
    finally:
        redis_proc.kill()

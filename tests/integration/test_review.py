"""Review of implausible jumps (issue 12, item 3): held events stay out of the ranking until
an operator releases them (then scored) or rejects them (the feed sees why)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.store.feeds import FeedStore
from tests.integration.conftest import Pipeline, run_pipeline
from tests.integration.test_hostile_feeds import _raw_value
from tests.integration.test_pipeline import _cli, full_city, score_of
from tests.support.events import indicator
from tests.support.procs import wait_for

pytestmark = pytest.mark.integration
GPU = "infra.gpu_pflops"  # seeded at 25,000 PFLOPS: about 94 points on its log scale


def _status(p: Pipeline, event_id: str, token: str) -> Any:
    return p.ingest.get(f"/v1/events/{event_id}", headers=p.auth(token)).get_json()


def _metric(p: Pipeline, name: str) -> float:
    for line in p.web.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


def test_a_jump_is_held_until_released_or_rejected(pipeline: Pipeline) -> None:
    p = pipeline
    seed = full_city("alpha") + full_city("beta")
    assert p.ingest.post("/v1/events", json=seed, headers=p.auth()).status_code == 202
    wait_for(lambda: score_of(p, "alpha") is not None and score_of(p, "beta") is not None, 30)
    seeded = _raw_value(p, "alpha", GPU)
    token = FeedStore(p.redis.client()).create("alpha-feed", ["alpha"])
    small = indicator("alpha", GPU, seeded * 1.1, at="2025-06-01T00:00:00Z")
    jump = indicator("alpha", GPU, 1, at="2025-06-02T00:00:00Z")

    dry = p.ingest.post("/v1/events?dry_run=true", json=[jump], headers=p.auth(token)).get_json()
    assert dry["results"][0]["status"] == "held" and dry["impact"] == []

    resp = p.ingest.post("/v1/events", json=[small, jump], headers=p.auth(token))
    body = resp.get_json()
    assert resp.status_code == 202 and body["held"] == 1 and body["accepted"] == 1
    assert [r["status"] for r in body["results"]] == ["accepted", "held"]
    assert _status(p, jump["event_id"], token)["status"] == "held"
    resent = p.ingest.post("/v1/events", json=[jump], headers=p.auth(token)).get_json()
    assert resent["results"][0]["status"] == "duplicate"  # the id is taken while held
    # An admin feed's jump is never held.
    admin_jump = indicator("beta", GPU, 1, at="2025-06-02T00:00:00Z")
    assert p.ingest.post("/v1/events", json=admin_jump,
                         headers=p.auth()).get_json()["results"][0]["status"] == "accepted"
    wait_for(lambda: _raw_value(p, "beta", GPU) == 1, 20, what="the admin jump scored")
    p.stack.wait_idle(30)
    assert _raw_value(p, "alpha", GPU) == small["data"]["value"]  # the jump is not in it
    assert _metric(p, "aicity_review_held_events") == 1
    assert _metric(p, "aicity_review_oldest_held_age_seconds") >= 0

    listed = _cli("review", "list", url=p.redis.url)
    assert listed.returncode == 0, listed.stderr
    row = listed.stdout.strip().split("\t")
    assert row[:3] == [jump["event_id"], "alpha", GPU] and row[4] == "alpha-feed"
    assert row[3].startswith(f"{seeded:g} -> 1 ")  # current: the city's scored value

    released = _cli("review", "release", jump["event_id"], url=p.redis.url)
    assert released.returncode == 0, released.stderr
    assert released.stdout.split() == [jump["event_id"], "released"]
    wait_for(lambda: _raw_value(p, "alpha", GPU) == 1, 20, what="the released jump scored")
    wait_for(lambda: _status(p, jump["event_id"], token).get("scored"), 20)
    assert _status(p, jump["event_id"], token)["status"] == "applied"
    again = _cli("review", "release", jump["event_id"], url=p.redis.url)
    assert again.returncode == 1 and "not held" in again.stdout

    back = indicator("alpha", GPU, 40000, at="2025-06-03T00:00:00Z")  # 1 -> 40,000: held
    assert p.ingest.post("/v1/events", json=back,
                         headers=p.auth(token)).get_json()["results"][0]["status"] == "held"
    rejected = _cli("review", "reject", back["event_id"], "--reason", "unit is TFLOPS, not PFLOPS",
                    url=p.redis.url)
    assert rejected.returncode == 0, rejected.stderr
    status = _status(p, back["event_id"], token)
    assert status["status"] == "rejected" and status["reason"] == "unit is TFLOPS, not PFLOPS"
    p.stack.wait_idle(30)
    assert _raw_value(p, "alpha", GPU) == 1
    assert _metric(p, "aicity_review_held_events") == 0
    report = p.ingest.get("/v1/feed", headers=p.auth(token)).get_json()
    assert report["counts"]["all_time"]["held"] == 2
    assert report["counts"]["all_time"]["rejected"]["review"] == 1
    latest = report["last_rejected"][0]
    assert latest["event_id"] == back["event_id"] and latest["index"] is None
    assert "unit is TFLOPS" in json.dumps(latest["errors"])


@pytest.fixture
def short_hold(tmp_path: Path) -> Iterator[Pipeline]:
    """A pipeline whose held events expire after 2 s (the sweeper rejects them)."""
    yield from run_pipeline(tmp_path, {"AICITY_REVIEW_HELD_RETENTION_SECONDS": "2"},
                            review_held_retention_seconds=2)


def test_a_held_event_expires_into_rejected(short_hold: Pipeline) -> None:
    """Issue 18, finding 3: held records do not wait forever; the feed sees 'expired'."""
    p = short_hold
    assert p.ingest.post("/v1/events", json=full_city("alpha"), headers=p.auth()).status_code == 202
    wait_for(lambda: score_of(p, "alpha") is not None, 30)
    token = FeedStore(p.redis.client()).create("alpha-feed", ["alpha"])
    jump = indicator("alpha", GPU, 1, at="2025-06-02T00:00:00Z")
    assert p.ingest.post("/v1/events", json=jump,
                         headers=p.auth(token)).get_json()["results"][0]["status"] == "held"
    wait_for(lambda: _status(p, jump["event_id"], token)["status"] == "rejected", 20,
             what="the held event expired")
    status = _status(p, jump["event_id"], token)
    assert status["reason"] == "expired" and status["type"] == "indicator.observed"
    assert p.worker_metric("aicity_review_expired_total") == 1
    report = p.ingest.get("/v1/feed", headers=p.auth(token)).get_json()
    assert report["counts"]["all_time"]["rejected"]["review"] == 1
    assert "expired" in json.dumps(report["last_rejected"][0]["errors"])
    assert p.redis.client().zcard("aicity:held:feed:alpha-feed") == 0

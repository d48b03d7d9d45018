"""The feed report (issue 12, item 2): GET /v1/feed and `aicity feeds report` after a mixed batch."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from shared.store.cities import CityStore
from shared.store.feeds import FeedStore
from tests.integration.conftest import Pipeline
from tests.integration.test_openapi_live import check
from tests.integration.test_pipeline import _cli, full_city, score_of
from tests.support.events import indicator
from tests.support.procs import wait_for

pytestmark = pytest.mark.integration
CODE = "infra.gpu_pflops"


def test_feed_report_counts_a_mixed_batch(pipeline: Pipeline) -> None:
    p = pipeline
    seed = full_city("alpha") + full_city("beta")
    assert p.ingest.post("/v1/events", json=seed, headers=p.auth()).status_code == 202
    wait_for(lambda: score_of(p, "alpha") is not None, 30)
    token = FeedStore(p.redis.client()).create("alpha-feed", ["alpha"])
    ok = indicator("alpha", CODE, 20_000, at="2025-06-01T00:00:00Z")  # no jump: not held
    taken = seed[1]  # an id the admin feed already used
    batch = [ok, indicator("alpha", "talent.ai_graduates", 12_000, at="2025-06-01T00:00:00Z"),
             dict(ok),  # duplicate
             {**indicator("alpha", CODE, 1), "event_id": "not-a-uuid"},  # validation
             indicator("beta", CODE, 1),  # scope
             {**indicator("alpha", CODE, 5), "event_id": taken["event_id"]}]  # conflict
    resp = p.ingest.post("/v1/events", json=batch, headers=p.auth(token))
    assert resp.status_code == 202
    assert [r["status"] for r in resp.get_json()["results"]] == [
        "accepted", "accepted", "duplicate", "rejected", "rejected", "rejected"]
    dry = p.ingest.post("/v1/events?dry_run=true", json=[indicator("alpha", CODE, 7)],
                        headers=p.auth(token))
    assert dry.status_code == 200  # a dry run counts nothing
    # One entry the worker cannot apply, sent by this feed: counted as failed.
    bad_id = str(uuid.uuid4())
    broken = json.dumps({"event_id": bad_id, "type": "indicator.observed", "city_id": "alpha",
                         "occurred_at": "2025-06-29t00:00:00z",
                         "data": {"indicator": CODE, "value": 5}})
    CityStore(p.redis.client()).push_raw("alpha", broken, bad_id, int(time.time() * 1000),
                                         feed="alpha-feed")
    p.stack.wait_idle(30)

    def report() -> dict:  # type: ignore[type-arg]
        r = p.ingest.get("/v1/feed", headers=p.auth(token))
        assert r.status_code == 200
        return dict(r.get_json())

    doc = wait_for(lambda: (d := report())["counts"]["all_time"]["failed"] == 1 and d, 20,
                   what="the dead letter counted")
    check(p.ingest.get("/openapi.json").get_json(), "FeedReport", doc)
    assert doc["feed"] == "alpha-feed" and doc["cities"] == ["alpha"] and not doc["admin"]
    for window in ("last_24h", "last_7d", "all_time"):
        counts = doc["counts"][window]
        assert counts == {"accepted": 2, "duplicates": 1, "rejected_total": 3, "failed": 1,
                          "held": 0, "rejected": {"validation": 1, "scope": 1, "conflict": 1,
                                                  "review": 0}}, window
    assert [r["index"] for r in doc["last_rejected"]] == [5, 4, 3]  # newest first
    assert list(doc["last_rejected"][0]["errors"]) == ["event_id"]
    assert list(doc["last_rejected"][1]["errors"]) == ["city_id"]
    assert doc["last_accepted_at"] is not None
    # The admin feed sees its own counts, not this feed's.
    admin = p.ingest.get("/v1/feed", headers=p.auth()).get_json()
    assert admin["counts"]["all_time"]["accepted"] == len(seed) and admin["cities"] is None
    assert p.ingest.get("/v1/feed").status_code == 401

    out = _cli("feeds", "report", "alpha-feed", url=p.redis.url)
    assert out.returncode == 0, out.stderr
    assert "all_time\t2\t1\t3 (validation 1, scope 1, conflict 1)\t0\t1" in out.stdout
    as_json = _cli("feeds", "report", "alpha-feed", "--json", url=p.redis.url)
    assert json.loads(as_json.stdout)["counts"] == doc["counts"]
    assert _cli("feeds", "report", "nobody", url=p.redis.url).returncode == 1


def test_the_rejection_list_is_capped(pipeline: Pipeline) -> None:
    p = pipeline
    bad = [{**indicator("alpha", CODE, 1), "event_id": f"bad-{n}"} for n in range(70)]
    assert p.ingest.post("/v1/events", json=bad, headers=p.auth()).status_code == 422
    doc = p.ingest.get("/v1/feed", headers=p.auth()).get_json()
    assert len(doc["last_rejected"]) == 50 and doc["last_rejected"][0]["index"] == 69
    assert doc["counts"]["all_time"]["rejected"]["validation"] == 70

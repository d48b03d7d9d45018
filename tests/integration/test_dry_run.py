"""The dry run (issue 12, item 1): the same checks as a real post, a predicted impact that
equals the real outcome at full precision, and nothing stored."""

from __future__ import annotations

from typing import Any

import pytest

from shared.store import keys as K
from shared.store.feeds import FeedStore
from shared.store.ranking import RankingReader
from tests.integration.conftest import Pipeline
from tests.integration.test_openapi_live import check
from tests.integration.test_pipeline import full_city, score_of
from tests.support.events import event, indicator
from tests.support.procs import wait_for

pytestmark = pytest.mark.integration


def _keyspace(p: Pipeline, skip: set[str]) -> dict[str, Any]:
    """Every key and its value, read by type (the rate-limit bucket of the feed left out)."""
    client = p.redis.client()
    out: dict[str, Any] = {}
    for key in client.scan_iter(count=1000):
        if key in skip:
            continue
        kind = client.type(key)
        if kind == "string":
            out[key] = client.get(key)
        elif kind == "hash":
            out[key] = client.hgetall(key)
        elif kind == "list":
            out[key] = client.lrange(key, 0, -1)
        elif kind == "set":
            out[key] = sorted(client.smembers(key))
        elif kind == "zset":
            out[key] = client.zrange(key, 0, -1, withscores=True)
        elif kind == "stream":
            out[key] = client.xrange(key)
        else:
            out[key] = kind
    return out


def _settled(p: Pipeline, skip: set[str]) -> dict[str, Any]:
    """Wait until nothing writes to the store any more (scoring and band tasks done)."""
    p.stack.wait_idle(30)
    last: list[dict[str, Any]] = [_keyspace(p, skip)]

    def still() -> bool:
        now = _keyspace(p, skip)
        same = now == last[0]
        last[0] = now
        # a task taken but not finished (kombu's unacked hash) is not quiet, however long
        # it runs: a band task of 1,000 draws can take more than the interval on a busy host
        return same and "unacked" not in now and not any(
            isinstance(v, list) and k in ("aicity.scoring", "aicity.hooks") and v
            for k, v in now.items())

    wait_for(still, 30, interval=1.0, what="a quiet store")
    return last[0]


def test_dry_run_predicts_the_real_outcome_and_stores_nothing(pipeline: Pipeline) -> None:
    p = pipeline
    seed = full_city("alpha", 0.45) + full_city("beta", 0.5) + full_city("gamma", 0.6)
    assert p.ingest.post("/v1/events", json=seed, headers=p.auth()).status_code == 202
    wait_for(lambda: all(score_of(p, c) is not None for c in ("alpha", "beta", "gamma")), 30)
    token = FeedStore(p.redis.client()).create("alpha-feed", ["alpha"])
    skip = {K.feed_quota("alpha-feed")}
    # alpha's indicators 7 points up (its score about 4.6, inside the review budget of 5):
    # alpha climbs from 3rd
    rises = [indicator("alpha", e["data"]["indicator"], e["data"]["value"],
                       at="2025-06-01T00:00:00Z")
             for e in full_city("alpha", 0.52) if e["type"] == "indicator.observed"]
    batch = [*rises,
             indicator("beta", "infra.gpu_pflops", 1, at="2025-06-01T00:00:00Z"),  # scope
             event("project.removed", "alpha", {"project_id": "never-had"}),
             dict(rises[0])]  # the same id twice in one batch: a duplicate
    before = _settled(p, skip)

    resp = p.ingest.post("/v1/events?dry_run=true", json=batch, headers=p.auth(token))
    body = resp.get_json()
    assert resp.status_code == 200, body
    assert body["dry_run"] is True
    n = len(rises)
    assert [r["status"] for r in body["results"]] == [
        *["accepted"] * n, "rejected", "rejected", "duplicate"]
    assert list(body["results"][n]["errors"]) == ["city_id"]
    assert list(body["results"][n + 1]["errors"]) == ["data"]
    doc = p.ingest.get("/openapi.json").get_json()
    check(doc, "DryRun", body)
    [impact] = body["impact"]
    check(doc, "Impact", impact)
    assert impact["city_id"] == "alpha" and impact["score_after"] > impact["score_before"]
    assert impact["rank_before"] == 3 and impact["rank_after"] < 3
    assert _keyspace(p, skip) == before  # nothing stored, nothing queued

    bad = p.ingest.post("/v1/events?dry_run=maybe", json=batch, headers=p.auth(token))
    assert bad.status_code == 400 and bad.get_json()["field"] == "dry_run"
    check(doc, "Error", bad.get_json())

    real = p.ingest.post("/v1/events", json=batch, headers=p.auth(token)).get_json()
    assert [r["status"] for r in real["results"]] == [r["status"] for r in body["results"]]
    ids = [e["event_id"] for e in rises]

    def scored() -> bool:
        docs = [p.ingest.get(f"/v1/events/{i}", headers=p.auth(token)).get_json() for i in ids]
        return all(d.get("scored") for d in docs)

    wait_for(scored, 30, what="the real batch scored")
    reader = RankingReader(p.redis.client())
    result = reader.result("alpha")
    assert result is not None
    assert result["score"] == impact["score_after"]  # full precision, not rounded
    assert {k: v["score"] for k, v in result["pillars"].items()} == {
        k: after for k, (_, after) in impact["pillars"].items()}
    assert reader.ranks()[1]["alpha"] == impact["rank_after"]


def test_dry_run_of_an_all_rejected_batch_answers_like_the_real_post(pipeline: Pipeline) -> None:
    p = pipeline
    resp = p.ingest.post("/v1/events?dry_run=true", json=[{"type": "nope"}], headers=p.auth())
    assert resp.status_code == 422
    assert resp.get_json()["impact"] == []


def test_a_dry_run_tracks_the_batchs_own_effects_without_writing(pipeline: Pipeline) -> None:
    """A project upserted then removed in one batch, a new city: answered as a real append."""
    p = pipeline
    project = {"project_id": "dry-p1", "name": "P", "organization": "Org", "sector": "health",
               "owner": "public", "stage": "pilot", "started_at": "2024-09-01",
               "deployed_at": None}
    batch = [*full_city("delta"), event("project.upserted", "delta", project),
             event("project.removed", "delta", {"project_id": "dry-p1"},
                   at="2025-05-02T00:00:00+00:00")]
    before = _settled(p, set())
    body = p.ingest.post("/v1/events?dry_run=true", json=batch, headers=p.auth()).get_json()
    assert body["accepted"] == len(batch), body["results"]
    [impact] = body["impact"]
    assert impact["city_id"] == "delta" and impact["score_before"] is None
    assert impact["score_after"] is not None and impact["rank_after"] == 1
    assert _keyspace(p, set()) == before
    real = p.ingest.post("/v1/events", json=batch, headers=p.auth()).get_json()
    assert real["accepted"] == len(batch)

"""What a careless or hostile feed can do to the pipeline: each finding of issue 8, on real Redis
and a real scoring worker."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.ingest.app import create_app as create_ingest
from shared.platform.settings import Settings
from shared.store.cities import CityStore
from shared.store.events_log import EventLog
from shared.store.feeds import FeedStore
from tests.integration.conftest import Pipeline
from tests.integration.test_pipeline import full_city, score_of
from tests.support.events import city, event, indicator
from tests.support.procs import wait_for

pytestmark = pytest.mark.integration


def _city_doc(p: Pipeline, city_id: str) -> dict[str, Any]:
    return dict(p.web.get(f"/api/v1/cities/{city_id}").get_json())


def _raw_value(p: Pipeline, city_id: str, code: str) -> float | None:
    doc = _city_doc(p, city_id)
    ind = (doc.get("indicators") or {}).get(code) or {}
    return ind.get("raw")


def _status(p: Pipeline, event_id: str, token: str | None = None) -> Any:
    return p.ingest.get(f"/v1/events/{event_id}", headers=p.auth(token))


def _seed(p: Pipeline, *cities: str) -> None:
    events = [e for c in cities for e in full_city(c)]
    assert p.ingest.post("/v1/events", json=events, headers=p.auth()).status_code == 202
    wait_for(lambda: all(score_of(p, c) is not None for c in cities), 30, what="seeded")


def _scoped(p: Pipeline, name: str, cities: list[str]) -> str:
    return FeedStore(p.redis.client()).create(name, cities)


def test_odd_but_valid_spellings_are_scored_like_any_event(pipeline: Pipeline) -> None:
    """A lower-case t/z, -00:00 and +14:00 timestamp used to freeze the city's scoring."""
    p = pipeline
    _seed(p, "alpha", "beta")
    odd = [indicator("alpha", "infra.datacenter_mw", 900, at="2025-06-29t00:00:00z"),
           indicator("beta", "infra.datacenter_mw", 800, at="2025-06-29T00:00:00.123456789-00:00"),
           indicator("alpha", "infra.gpu_pflops", 400, at="2025-06-30T09:00:00+14:00")]
    resp = p.ingest.post("/v1/events", json=odd, headers=p.auth())
    assert resp.status_code == 202, resp.get_json()
    wait_for(lambda: _raw_value(p, "alpha", "infra.datacenter_mw") == 900
             and _raw_value(p, "beta", "infra.datacenter_mw") == 800
             and _raw_value(p, "alpha", "infra.gpu_pflops") == 400, 20, what="odd events scored")
    for e in odd:
        assert _status(p, e["event_id"]).get_json()["status"] == "applied"
    # Later changes to the same cities are still scored (nothing is stuck behind them).
    later = indicator("alpha", "infra.datacenter_mw", 1000, at="2025-06-30T00:00:00Z")
    assert p.ingest.post("/v1/events", json=later, headers=p.auth()).status_code == 202
    wait_for(lambda: _raw_value(p, "alpha", "infra.datacenter_mw") == 1000, 20)


def test_future_and_pre_1970_times_are_refused_naming_occurred_at(pipeline: Pipeline) -> None:
    p = pipeline
    _seed(p, "alpha")
    now = datetime.now(UTC)
    far = indicator("alpha", "infra.datacenter_mw", 1, at="9999-12-31T23:59:59Z")
    soon = indicator("alpha", "infra.datacenter_mw", 1,
                     at=(now + timedelta(minutes=10)).isoformat())
    old = indicator("alpha", "infra.datacenter_mw", 1, at="1969-12-31T23:59:59Z")
    for e in (far, soon, old):
        resp = p.ingest.post("/v1/events", json=e, headers=p.auth())
        assert resp.status_code == 422, e
        errors = resp.get_json()["results"][0]["errors"]
        assert list(errors) == ["occurred_at"], errors
    within_skew = indicator("alpha", "infra.datacenter_mw", 1500,
                            at=(now + timedelta(minutes=1)).isoformat())
    assert p.ingest.post("/v1/events", json=within_skew, headers=p.auth()).status_code == 202
    # An admin correction a little later wins: nothing can lock a value into the future.
    time.sleep(0.01)
    fix = indicator("alpha", "infra.datacenter_mw", 1200,
                    at=(now + timedelta(minutes=1, seconds=1)).isoformat())
    assert p.ingest.post("/v1/events", json=fix, headers=p.auth()).status_code == 202
    wait_for(lambda: _raw_value(p, "alpha", "infra.datacenter_mw") == 1200, 20)


def test_far_future_message_names_the_rule(pipeline: Pipeline) -> None:
    p = pipeline
    e = indicator("alpha", "infra.datacenter_mw", 1, at="9999-12-31T23:59:59Z")
    resp = p.ingest.post("/v1/events", json=[city("alpha"), e], headers=p.auth())
    assert resp.status_code == 202
    message = resp.get_json()["results"][1]["errors"]["occurred_at"][0]
    assert "must not be later than now plus 300 s" in message


def test_an_event_id_names_one_event_of_one_feed(pipeline: Pipeline) -> None:
    p = pipeline
    _seed(p, "alpha", "beta")
    token_a = _scoped(p, "feed-a", ["alpha"])
    token_b = _scoped(p, "feed-b", ["beta"])
    first = indicator("alpha", "infra.datacenter_mw", 700, at="2025-06-01T00:00:00Z")
    assert p.ingest.post("/v1/events", json=first, headers=p.auth(token_a)).status_code == 202
    # The same event again from the same feed: a duplicate, as before.
    again = p.ingest.post("/v1/events", json=first, headers=p.auth(token_a)).get_json()
    assert again["duplicates"] == 1 and again["results"][0]["status"] == "duplicate"
    # The same id with other content: refused per item, naming event_id.
    other = {**first, "data": {"indicator": "infra.datacenter_mw", "value": 1}}
    resp = p.ingest.post("/v1/events", json=[other, indicator("alpha", "infra.gpu_pflops", 10)],
                         headers=p.auth(token_a))
    assert resp.status_code == 202  # the other item of the batch is stored
    assert resp.get_json()["results"][0]["status"] == "rejected"
    assert list(resp.get_json()["results"][0]["errors"]) == ["event_id"]
    # The same id and content from another feed (here the admin, who may write alpha).
    resp = p.ingest.post("/v1/events", json=first, headers=p.auth())
    assert resp.status_code == 422
    assert "another feed" in resp.get_json()["results"][0]["errors"]["event_id"][0]
    # Reading a submission needs a token, and a feed sees only its own events.
    assert p.ingest.get(f"/v1/events/{first['event_id']}").status_code == 401
    assert _status(p, first["event_id"], token_b).status_code == 404
    mine = _status(p, first["event_id"], token_a)
    assert mine.status_code == 200 and mine.get_json()["city_id"] == "alpha"
    assert _status(p, first["event_id"]).status_code == 200  # admin sees all
    wait_for(lambda: _raw_value(p, "alpha", "infra.datacenter_mw") == 700, 20)


def test_scoped_feed_cannot_create_a_city_through_any_event(pipeline: Pipeline) -> None:
    p = pipeline
    _seed(p, "alpha")
    token = _scoped(p, "ghost-feed", ["ghost"])
    for e in (indicator("ghost", "infra.datacenter_mw", 5),
              event("project.upserted", "ghost", {
                  "project_id": "g1", "name": "G", "organization": "O", "sector": "health",
                  "owner": "public", "stage": "deployed", "started_at": "2024-01-01"}),
              city("ghost")):
        resp = p.ingest.post("/v1/events", json=e, headers=p.auth(token))
        assert resp.status_code == 403, resp.get_json()
        assert "only an admin feed may create a city" in \
            resp.get_json()["results"][0]["errors"]["city_id"][0]
    time.sleep(0.3)
    doc = p.web.get("/api/v1/rankings").get_json()
    assert "ghost" not in {r["city_id"] for r in doc["items"] + doc["unranked"]}
    assert p.web.get("/api/v1/cities/ghost").status_code == 404


def test_scoped_feed_cannot_rename_a_city_but_keeps_the_rest(pipeline: Pipeline) -> None:
    p = pipeline
    _seed(p, "alpha")
    token = _scoped(p, "alpha-feed", ["alpha"])
    rename = city("alpha", name="Singapore", country="SG", region="Southeast Asia")
    resp = p.ingest.post("/v1/events", json=rename, headers=p.auth(token))
    assert resp.status_code == 403
    assert "only an admin feed may set or change a city's name" in \
        resp.get_json()["results"][0]["errors"]["data"][0]
    # Location is identity too (issue 18, finding 8): same name, country and region, but
    # drawn in Antarctica, or another population, is refused; a rounding nudge is not.
    for data in ({"lat": -89.9, "lon": 179.9, "population": 1}, {"population": 2_345_678},
                 {"lat": 37.52}):
        moved = city("alpha", **data)
        moved["occurred_at"] = "2025-06-01T00:00:00Z"
        resp = p.ingest.post("/v1/events", json=moved, headers=p.auth(token))
        assert resp.status_code == 403, data
        assert "only an admin feed may move a city" in \
            resp.get_json()["results"][0]["errors"]["data"][0]
    nudge = city("alpha", lat=37.505, lon=126.995)  # within 0.01 degrees of 37.5, 127.0
    nudge["occurred_at"] = "2025-06-01T00:00:00Z"
    assert p.ingest.post("/v1/events", json=nudge, headers=p.auth(token)).status_code == 202
    wait_for(lambda: (_city_doc(p, "alpha").get("lat") or
                      _city_doc(p, "alpha").get("profile", {}).get("lat")) == 37.505, 20,
             what="the nudge applied")
    assert _city_doc(p, "alpha")["name"] == "Alpha"
    assert (_city_doc(p, "alpha").get("population") or
            _city_doc(p, "alpha")["profile"]["population"]) == 1_000_000
    # The admin may rename.
    admin_rename = city("alpha", name="Alpha Metro")
    admin_rename["occurred_at"] = "2025-06-02T00:00:00Z"
    assert p.ingest.post("/v1/events", json=admin_rename, headers=p.auth()).status_code == 202
    wait_for(lambda: _city_doc(p, "alpha")["name"] == "Alpha Metro", 20)


def test_removing_a_project_the_city_never_had_is_refused(pipeline: Pipeline) -> None:
    p = pipeline
    _seed(p, "alpha")
    token = _scoped(p, "alpha-feed", ["alpha"])
    unknown = event("project.removed", "alpha", {"project_id": "never-seen-1"})
    resp = p.ingest.post("/v1/events", json=unknown, headers=p.auth(token))
    assert resp.status_code == 422
    assert "never had project 'never-seen-1'" in \
        resp.get_json()["results"][0]["errors"]["data"]["project_id"][0]
    known = event("project.removed", "alpha", {"project_id": "alpha-p0"},
                  at="2025-06-01T00:00:00Z")
    assert p.ingest.post("/v1/events", json=known, headers=p.auth(token)).status_code == 202
    wait_for(lambda: _status(p, known["event_id"], token).get_json()["status"] == "applied", 20)


def test_a_flooding_feed_gets_429_while_others_are_served(pipeline: Pipeline) -> None:
    p = pipeline
    _seed(p, "alpha", "beta")
    settings = Settings.from_env(redis_url=p.redis.url, feed_rate_limit=50.0, feed_burst=200)
    ingest = create_ingest(settings).test_client()
    flood_token = _scoped(p, "flood", ["alpha"])
    other_token = _scoped(p, "calm", ["beta"])

    def batch(n: int) -> list[dict[str, Any]]:
        return [indicator("alpha", "infra.broadband_mbps", 100 + k % 50) for k in range(n)]

    # 180 items plus the review gate's read of alpha's 30 project records (0.5 each): 195 of 200
    assert ingest.post("/v1/events", json=batch(180), headers=p.auth(flood_token)).status_code == 202
    resp = ingest.post("/v1/events", json=batch(100), headers=p.auth(flood_token))
    assert resp.status_code == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 3  # 100 events at 50/s
    assert "rate limit" in resp.get_json()["error"]
    calm = indicator("beta", "infra.datacenter_mw", 1999, at="2025-06-02T00:00:00Z")
    assert ingest.post("/v1/events", json=calm, headers=p.auth(other_token)).status_code == 202
    wait_for(lambda: _raw_value(p, "beta", "infra.datacenter_mw") == 1999, 20)


def inject_undecodable(p: Pipeline, city_id: str) -> str:
    """Put an event the codec never writes (lower-case t/z) in a city's inbox; return its id."""
    bad_id = str(uuid.uuid4())
    broken = json.dumps({"event_id": bad_id, "type": "indicator.observed", "city_id": city_id,
                         "occurred_at": "2025-06-29t00:00:00z",
                         "data": {"indicator": "infra.datacenter_mw", "value": 5}})
    CityStore(p.redis.client()).push_raw(city_id, broken, bad_id, int(time.time() * 1000),
                                         feed="admin")
    return bad_id


def test_an_event_that_cannot_be_applied_is_dead_lettered_and_the_rest_scored(
        pipeline: Pipeline) -> None:
    """An undecodable entry in a city's inbox fails alone: its city and the others score."""
    p = pipeline
    _seed(p, "alpha", "beta")
    bad_id = inject_undecodable(p, "alpha")
    both = [indicator("alpha", "infra.gpu_pflops", 321, at="2025-06-03T00:00:00Z"),
            indicator("beta", "infra.gpu_pflops", 123, at="2025-06-03T00:00:00Z")]
    assert p.ingest.post("/v1/events", json=both, headers=p.auth()).status_code == 202
    wait_for(lambda: _raw_value(p, "alpha", "infra.gpu_pflops") == 321
             and _raw_value(p, "beta", "infra.gpu_pflops") == 123, 20, what="both scored")
    status = _status(p, bad_id).get_json()
    assert status["status"] == "failed"
    assert "ValueError" in status["reason"] and "2025-06-29t00:00:00z" in status["reason"]
    assert _raw_value(p, "alpha", "infra.datacenter_mw") != 5
    wait_for(lambda: p.worker_metric("aicity_scoring_events_dead_lettered_total") == 1, 10)
    wait_for(lambda: EventLog(p.redis.client()).dirty_count() == 0, 10, what="all clean")

"""Past moments and explanations with the real worker: as_of returns exactly what was served,
since= moves, explain names the events and feeds, rank moves caused by others, retention."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.commands.recompute import seed_history
from shared.contract.methodology import load_methodology
from shared.domain.scoring.normalise import denormalise, normalise
from shared.store.feeds import FeedStore
from shared.store.history import HistoryStore
from shared.store.ranking import RankingReader
from tests.integration.conftest import Pipeline
from tests.integration.test_pipeline import load_cities
from tests.support.events import indicator
from tests.support.procs import wait_for

pytestmark = pytest.mark.integration

M = load_methodology()
LEVELS = {"alpha": 0.8, "bravo": 0.6, "charlie": 0.55, "delta": 0.3}
ROW_FIELDS = ("rank", "city_id", "name", "country", "region", "score", "pillars", "coverage",
              "reason", "last_data_at", "stale")


def _load(p: Pipeline) -> None:
    load_cities(p, LEVELS)


def _get(p: Pipeline, path: str, status: int = 200) -> Any:
    resp = p.web.get(path)
    assert resp.status_code == status, resp.get_data(as_text=True)
    return resp.get_json() if resp.mimetype == "application/json" else resp.get_data(as_text=True)


def _rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: item.get(k) for k in ROW_FIELDS} for item in doc["items"]]


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _raise(p: Pipeline, city: str, level: float, codes: list[str], token: str | None = None,
           at: str = "2025-06-01T00:00:00+00:00") -> list[dict[str, Any]]:
    """Post observations moving some of a city's indicators to `level`; return the events."""
    events = []
    for code in codes:
        ind = M.indicator(code)
        events.append(indicator(city, code, ind.lo + (ind.hi - ind.lo) * level, at=at))
    before = RankingReader(p.redis.client()).version()
    resp = p.ingest.post("/v1/events", json=events, headers=p.auth(token))
    assert resp.status_code == 202, resp.get_data(as_text=True)
    wait_for(lambda: RankingReader(p.redis.client()).version() > before, 15, 0.05,
             what="the change to be scored")
    p.stack.wait_idle(15)
    return events


def _lift(p: Pipeline, city: str, codes: list[str], points: float, token: str
          ) -> list[dict[str, Any]]:
    """Post observations lifting indicators by `points` normalised points (under the review
    threshold a scoped feed's jumps are held at)."""
    now = _get(p, f"/api/v1/cities/{city}")["indicators"]
    events = [indicator(city, c, denormalise(min(100.0, now[c]["normalised"] + points),
                                             M.indicator(c)), at="2025-06-01T00:00:00+00:00")
              for c in codes]
    before = RankingReader(p.redis.client()).version()
    resp = p.ingest.post("/v1/events", json=events, headers=p.auth(token))
    assert resp.status_code == 202 and resp.get_json()["accepted"] == len(events), resp.get_json()
    wait_for(lambda: RankingReader(p.redis.client()).version() > before, 15, 0.05,
             what="the change to be scored")
    p.stack.wait_idle(15)
    return events


def _research_codes() -> list[str]:
    return [i.code for i in M.pillar_indicators("research") if i.derived is None]


def test_as_of_returns_exactly_what_was_served_before_and_after_a_change(pipeline: Pipeline) -> None:
    p = pipeline
    _load(p)
    time.sleep(0.01)
    served = _get(p, "/api/v1/rankings")
    served_csv = _get(p, "/api/v1/rankings.csv")
    served_city = _get(p, "/api/v1/cities/delta")
    served_pillar = _get(p, "/api/v1/rankings?pillar=research")
    served_page = _get(p, "/api/v1/rankings?limit=2&offset=1")
    at_time = _now_iso()
    time.sleep(0.01)
    _raise(p, "delta", 0.99, _research_codes())
    after = _get(p, "/api/v1/rankings")
    assert _rows(after) != _rows(served)

    for as_of in (at_time, str(served["ranking_version"])):
        past = _get(p, f"/api/v1/rankings?as_of={as_of}")
        assert _rows(past) == _rows(served)  # ranks, scores, pillars: full precision
        assert past["ranking_version"] == served["ranking_version"]
        assert past["methodology_version"] == served["methodology_version"]
        assert past["point_in_time"]["ranking_version"] == served["ranking_version"]
        assert _get(p, f"/api/v1/rankings.csv?as_of={as_of}") == served_csv
        page = _get(p, f"/api/v1/rankings?limit=2&offset=1&as_of={as_of}")  # the light read
        assert _rows(page) == _rows(served_page) and len(page["items"]) == 2
        for key in ("total", "unranked", "methodology_version", "as_of", "ranking_version"):
            assert page[key] == served_page[key], key
        pillar = _get(p, f"/api/v1/rankings?pillar=research&as_of={as_of}")
        assert [(i["city_id"], i["rank"], i["pillar_score"]) for i in pillar["items"]] == [
            (i["city_id"], i["rank"], i["pillar_score"]) for i in served_pillar["items"]]
        city = _get(p, f"/api/v1/cities/delta?as_of={as_of}")
        for key in ("score", "rank", "region_rank", "coverage", "ranked", "methodology_version"):
            assert city[key] == served_city[key], key
        assert {k: (v["score"], v["rank"]) for k, v in city["pillars"].items()} == {
            k: (v["score"], v["rank"]) for k, v in served_city["pillars"].items()}
        assert {k: v["raw"] for k, v in city["indicators"].items()} == {
            k: v["raw"] for k, v in served_city["indicators"].items()}
    now = _get(p, f"/api/v1/rankings?as_of={_now_iso()}")
    assert _rows(now) == _rows(after)


def test_asking_before_the_oldest_point_or_badly_says_so(pipeline: Pipeline) -> None:
    p = pipeline
    _load(p)
    resp = p.web.get("/api/v1/rankings?as_of=2001-01-01T00:00:00Z")
    assert resp.status_code == 404
    message = resp.get_json()["error"]
    assert message.startswith("as_of:") and "oldest kept point" in message and "history starts at" in message
    assert p.web.get("/api/v1/cities/alpha?as_of=2001-01-01").status_code == 404
    for bad in ("yesterday", "2026-13-01T00:00:00Z", "-5"):
        resp = p.web.get(f"/api/v1/rankings?as_of={bad}")
        assert resp.status_code == 400 and resp.get_json()["error"].startswith("as_of:"), bad
    resp = p.web.get("/api/v1/rankings?as_of=2999-01-01T00:00:00Z")
    assert resp.status_code == 400 and "future" in resp.get_json()["error"]
    resp = p.web.get("/api/v1/cities/alpha/explain?since=soon")
    assert resp.status_code == 400 and resp.get_json()["error"].startswith("since:")
    assert p.web.get("/api/v1/cities/nowhere/explain").status_code == 404


def test_since_moves_follow_the_ranking(pipeline: Pipeline) -> None:
    p = pipeline
    _load(p)
    v0 = _get(p, "/api/v1/rankings")["ranking_version"]
    _raise(p, "delta", 0.99, _research_codes() + [i.code for i in M.pillar_indicators("talent")
                                                   if i.derived is None])
    doc = _get(p, f"/api/v1/rankings?since={v0}")
    assert doc["since"]["ranking_version"] == v0
    before = {i["city_id"]: i for i in _get(p, f"/api/v1/rankings?as_of={v0}")["items"]}
    for item in doc["items"]:
        then = before[item["city_id"]]
        assert item["change"]["rank_then"] == then["rank"]
        assert item["change"]["move"] == then["rank"] - item["rank"]
        assert item["change"]["score_change"] == item["score"] - then["score"]
        assert item["change"]["rank_before"] == then["rank"]
        assert item["change"]["rank_after"] == item["rank"]
        assert item["change"]["places_gained"] == item["change"]["move"]  # the alias
    delta = next(i for i in doc["items"] if i["city_id"] == "delta")
    assert delta["change"]["move"] > 0
    assert delta["change"]["places_gained"] > 0  # it rose
    # default: since the start of the current UTC day (history began today: its oldest point)
    assert _get(p, "/api/v1/rankings")["since"]["requested"] == "today"


def test_explain_names_the_events_feeds_and_who_passed(pipeline: Pipeline) -> None:
    p = pipeline
    _load(p)
    v0 = _get(p, "/api/v1/rankings")["ranking_version"]
    ranks0 = {i["city_id"]: i["rank"] for i in _get(p, "/api/v1/rankings")["items"]}
    # an operator's feed: these lifts move delta far past a scoped feed's review budget
    # (methodology section 9.1, tested in test_review.py), and would be held
    partner = FeedStore(p.redis.client()).create("delta-open-data", None)
    posted = _lift(p, "delta", _research_codes()[:2], 45, partner)
    posted += _lift(p, "delta", [i.code for pillar in ("talent", "infrastructure", "governance")
                                 for i in M.pillar_indicators(pillar) if i.derived is None],
                    45, partner)
    doc = _get(p, f"/api/v1/cities/delta/explain?since={v0}")
    assert doc["from"]["ranking_version"] == v0 and doc["from"]["rank"] == ranks0["delta"]
    assert doc["score_delta"] == pytest.approx(doc["to"]["score"] - doc["from"]["score"], abs=1e-9)
    assert sum(x["contribution"] for x in doc["pillars"]) == pytest.approx(doc["score_delta"], abs=1e-9)
    assert sum(x["contribution"] for x in doc["indicators"]) == pytest.approx(doc["score_delta"], abs=0.01)
    by_code = {x["indicator"]: x for x in doc["indicators"]}
    for event in posted:
        code = event["data"]["indicator"]
        named = by_code[code]
        assert named["event_id"] == event["event_id"]
        assert named["feed"] == "delta-open-data"
        assert named["to_value"] == event["data"]["value"]
        assert named["to_normalised"] == normalise(event["data"]["value"], M.indicator(code))
        assert named["occurred_at"].startswith("2025-06-01T00:00:00")
        assert named["contribution"] > 0
    assert doc["rank_delta"] < 0 and doc["rank_delta_own"] == doc["rank_delta"]
    assert doc["rank_delta_others"] == 0
    assert (doc["rank_before"], doc["rank_after"]) == (doc["from"]["rank"], doc["to"]["rank"])
    assert doc["places_gained"] == -doc["rank_delta"] > 0  # rose; the alias keeps its sign
    assert doc["places_gained_own"] == doc["places_gained"] and doc["places_gained_others"] == 0
    ranks1 = {i["city_id"]: i["rank"] for i in _get(p, "/api/v1/rankings")["items"]}
    assert {x["city_id"]: x["rank"] for x in doc["passed"]} == {
        c: ranks1[c] for c in ranks0 if ranks0[c] < ranks0["delta"] and ranks1[c] > ranks1["delta"]}
    assert doc["passed"] and not doc["passed_by"]
    # a city that fell only because delta rose: attributed to delta, none to itself
    victim = doc["passed"][0]["city_id"]
    other = _get(p, f"/api/v1/cities/{victim}/explain?since={v0}")
    assert other["score_delta"] == 0 and other["indicators"] == []
    assert other["rank_delta"] > 0 and other["rank_delta_own"] == 0
    assert other["rank_delta_others"] == other["rank_delta"]
    assert other["places_gained"] == -other["rank_delta"] < 0  # fell
    assert other["places_gained_own"] == 0
    assert other["places_gained_others"] == other["places_gained"]
    assert [x["city_id"] for x in other["passed_by"]] == ["delta"]
    # until= bounds the window: only the first batch
    v1 = _get(p, f"/api/v1/cities/delta/explain?since={v0}")["to"]["ranking_version"]
    first = next(e for e in _get(p, "/api/v1/cities/delta/history")["history"]
                 if e["ranking_version"] > v0)
    part = _get(p, f"/api/v1/cities/delta/explain?since={v0}&until={first['ranking_version']}")
    assert {x["indicator"] for x in part["indicators"]} == set(_research_codes()[:2])
    assert part["to"]["ranking_version"] == first["ranking_version"] <= v1


def test_change_messages_carry_the_delta_and_drivers(pipeline: Pipeline) -> None:
    p = pipeline
    _load(p)
    reader = RankingReader(p.redis.client())
    last = reader.last_change_id()
    posted = _raise(p, "delta", 0.99, _research_codes()[:1])
    changes = [c for _, c in reader.changes_between(last, None)]
    change = next(json.loads(c) for c in changes if json.loads(c)["city_id"] == "delta")
    assert change["score_delta"] == pytest.approx(change["score"] - change["old_score"], abs=1e-9)
    assert change["rank_delta"] == change["rank"] - change["old_rank"]
    assert change["drivers"]["pillars"][0]["pillar"] == "research"
    top = change["drivers"]["indicators"][0]
    assert top["indicator"] == posted[0]["data"]["indicator"]
    assert top["event_id"] == posted[0]["event_id"] and top["feed"] == "admin"
    assert top["contribution"] == pytest.approx(change["score_delta"], abs=1e-9)


def test_retention_thins_history_and_keeps_kept_moments_exact(pipeline: Pipeline) -> None:
    p = pipeline
    _load(p)
    client = p.redis.client()
    served: list[tuple[int, list[dict[str, Any]]]] = []
    for n in range(6):
        _raise(p, "delta", 0.5 + n * 0.08, _research_codes()[:1],
               at=f"2025-06-01T00:00:0{n}+00:00")
        doc = _get(p, "/api/v1/rankings")
        served.append((doc["ranking_version"], _rows(doc)))
        time.sleep(0.4)
    history = HistoryStore(client, "1s=all,1h=2s,2h=1d", thin_interval_s=3600)
    before = history.size("delta")
    now = history.now_ms() + 1_500
    client.delete("aicity:hist-compacting", "aicity:hist-pass")  # the worker's own pass
    history.thin_step(max_cities=1, now_ms=now)  # a slice per sweep, as the worker does
    while client.exists("aicity:hist-pass"):
        history.thin_step(max_cities=1)
    assert history.thin_step(max_cities=1) == 0  # and the next one is not due yet
    kept = history.size("delta")
    assert kept < before
    versions = {e.version for e in history.entries("delta")}
    # every kept version still answers exactly what was served at it
    for version, rows in served:
        if version in versions:
            assert _rows(_get(p, f"/api/v1/rankings?as_of={version}")) == rows
    # entries older than the last tier go, each city keeping the one that is its present
    HistoryStore(client, "1s=all,2s=1s").thin(now + 10_000)
    assert history.size("delta") == 1 and history.size("alpha") == 1
    assert _rows(_get(p, f"/api/v1/rankings?as_of={served[-1][0]}")) == served[-1][1]
    assert p.web.get(f"/api/v1/rankings?as_of={served[0][0] - 1}").status_code == 404


def test_a_store_written_before_history_gets_its_present_as_the_first_point(
        pipeline: Pipeline) -> None:
    p = pipeline
    _load(p)
    client = p.redis.client()
    served = _get(p, "/api/v1/rankings")
    client.delete(*client.keys("aicity:hist:*"), "aicity:versions")  # as an older version wrote it
    history = HistoryStore(client)
    assert len(history.without_history()) == len(LEVELS)
    assert seed_history(history, history.without_history()) == len(LEVELS)
    assert history.without_history() == []
    assert seed_history(history, history.without_history()) == 0
    past = _get(p, f"/api/v1/rankings?as_of={served['ranking_version']}")
    assert _rows(past) == _rows(served)
    assert [e["rank"] for e in _get(p, "/api/v1/cities/alpha/history")["history"]] == [
        next(i["rank"] for i in served["items"] if i["city_id"] == "alpha")]

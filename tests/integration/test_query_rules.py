"""Query rules with the real worker: a bad query is a 400 naming the parameter and the rule
(JSON for the API, the site's page for pages), an unknown city or a moment not kept a 404
saying why, and a since= span resolves against now, so its answer and its ETag move."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from shared.store.ranking import RankingReader
from tests.integration.conftest import Pipeline
from tests.integration.test_pipeline import load_cities
from tests.support.procs import wait_for

pytestmark = pytest.mark.integration

# (path, parameter at fault, words the rule says)
BAD_API = (
    ("/api/v1/rankings?as_of=" + "9" * 4301, "as_of", "at most 35 characters"),
    ("/api/v1/rankings?as_of=" + "9" * 19, "as_of", "at most 18 digits"),
    ("/api/v1/rankings?as_of=%D9%A3", "as_of", "RFC 3339"),
    ("/api/v1/rankings?as_of=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%95", "as_of", "RFC 3339"),
    ("/api/v1/rankings?as_of=2026W483", "as_of", "RFC 3339"),
    ("/api/v1/rankings?as_of=2026-12-02T10", "as_of", "RFC 3339"),
    ("/api/v1/rankings?as_of=2026-11-20T10:00:00%2B0900", "as_of", "RFC 3339"),
    ("/api/v1/rankings?as_of=2999-01-01", "as_of", "2999-01-01 is in the future"),
    ("/api/v1/rankings?as_of=2999-01-01T00:00:00Z", "as_of", "in the future"),
    ("/api/v1/rankings?as_of=7d", "as_of", "ranking version"),
    ("/api/v1/rankings?as_of=-5", "as_of", "must not be negative"),
    ("/api/v1/rankings?since=1969-12-31", "since", "before 1970"),
    ("/api/v1/rankings?since=1y", "since", "span back from now"),
    ("/api/v1/rankings?since=" + "9" * 5000 + "d", "since", "at most 35 characters"),
    ("/api/v1/rankings?pillar=bogus", "pillar", "must be one of infrastructure"),
    ("/api/v1/rankings?limit=x", "limit", "whole number from 1 to 100000"),
    ("/api/v1/rankings?limit=%D9%A3", "limit", "ASCII digits"),
    ("/api/v1/rankings?offset=" + "9" * 5000, "offset", "whole number"),
    ("/api/v1/rankings?fresh=maybe", "fresh", "true or false"),
    ("/api/v1/rankings?weights=foo:1", "weights", "unknown pillar 'foo'"),
    ("/api/v1/rankings?weights=research:%D9%A1", "weights", "plain decimal"),
    ("/api/v1/rankings?weights=research:1e3", "weights", "plain decimal"),
    ("/api/v1/rankings?weights=research:nan", "weights", "plain decimal"),
    ("/api/v1/rankings?aggregation=median", "aggregation", "arithmetic, geometric"),
    ("/api/v1/rankings.csv?as_of=nonsense", "as_of", "RFC 3339"),
    ("/api/v1/cities/alpha?as_of=0x10", "as_of", "RFC 3339"),
    ("/api/v1/cities/alpha/explain?since=soon", "since", "span back from now"),
    ("/api/v1/cities/alpha/explain?until=" + "1" * 4301, "until", "at most 35 characters"),
    ("/api/v1/stream?once=maybe", "once", "true or false"),
)
BAD_PAGES = (
    ("/map?pillar=bogus", "pillar"), ("/map?limit=x", "limit"), ("/map?weights=foo:1", "weights"),
    ("/map?fresh=maybe", "fresh"), ("/map?colour=bogus", "colour"), ("/?sort=bogus", "sort"),
    ("/?dir=sideways", "dir"), ("/?as_of=" + "9" * 4301, "as_of"),
    ("/cities/alpha?since=%D9%A3", "since"), ("/cities/alpha.csv?as_of=nonsense", "as_of"),
    ("/explore?research=abc", "weights"), ("/explore?weights=research:-1", "weights"),
    ("/explore?aggregation=median", "aggregation"),
)


def _load(p: Pipeline, levels: dict[str, float]) -> int:
    """Load cities and return the ranking version then."""
    load_cities(p, levels)
    return RankingReader(p.redis.client()).version()


def test_bad_queries_are_400s_naming_the_parameter_and_the_rule(pipeline: Pipeline) -> None:
    p = pipeline
    _load(p, {"alpha": 0.7, "bravo": 0.4})
    for path, field, words in BAD_API:
        resp = p.web.get(path)
        body = resp.get_json()
        assert resp.status_code == 400, (path, resp.get_data(as_text=True)[:300])
        assert body["status"] == 400 and body["field"] == field, (path, body)
        assert body["error"].startswith(f"{field}: ") and words in body["error"], (path, body)
    for path, field in BAD_PAGES:
        resp = p.web.get(path)
        text = resp.get_data(as_text=True)
        assert resp.status_code == 400 and resp.mimetype == "text/html", path
        assert "Bad request" in text and f"{field}: " in text, (path, text[-600:])
    # the same moment spelled as the parser reads it: -0 is version 0, a '+' sent unescaped
    # is an offset, a date-time without seconds (a browser's field) is read
    assert p.web.get("/api/v1/rankings?as_of=-0").get_json()["error"].startswith("as_of: 0 ")
    v = p.web.get("/api/v1/rankings").get_json()["ranking_version"]
    doc = p.web.get(f"/api/v1/rankings?as_of={v}").get_json()
    assert doc["point_in_time"]["ranking_version"] == v
    now = datetime.fromisoformat(doc["updated_at"])
    for spelling in (now.isoformat(), now.astimezone(timezone(timedelta(hours=9))).isoformat(),
                     now.isoformat().replace("+00:00", "Z").replace("T", "t").lower()):
        got = p.web.get(f"/api/v1/rankings?as_of={spelling}")  # '+' unescaped: a space
        assert got.status_code == 200, (spelling, got.get_json())
        assert got.get_json()["point_in_time"]["ranking_version"] == v
    weights = p.web.get("/api/v1/rankings?weights=research:-0,talent:1").get_json()["weights"]
    assert weights["research"] == 0 and str(weights["research"]) == "0.0"


def test_unknown_cities_and_moments_not_kept_are_404s_saying_why(pipeline: Pipeline) -> None:
    p = pipeline
    before = _load(p, {"alpha": 0.7, "bravo": 0.4})
    _load(p, {"echo": 0.5})
    history = p.web.get("/api/v1/cities/echo/history").get_json()["history"]
    first = history[0]["ranking_version"]
    assert before < first
    resp = p.web.get(f"/api/v1/cities/echo/explain?until={before}")
    body = resp.get_json()
    assert resp.status_code == 404 and body["field"] == "until", body
    assert body["error"].startswith(f"until: {before} is before echo's history starts")
    assert f"ranking version {first}" in body["error"], body
    # since before the city's history is fine: the city entered in between
    doc = p.web.get(f"/api/v1/cities/echo/explain?since={before}").get_json()
    assert doc["from"]["rank"] is None and doc["to"]["rank"] is not None

    for path in ("/api/v1/cities/nowhere", "/api/v1/cities/nowhere?as_of=1",
                 f"/api/v1/cities/nowhere?as_of={before}", "/api/v1/cities/nowhere/history",
                 "/api/v1/cities/nowhere/explain", "/api/v1/cities/nowhere/explain?until=1",
                 f"/api/v1/cities/nowhere/explain?since={before}&until={first}"):
        resp = p.web.get(path)
        assert resp.status_code == 404, (path, resp.get_data(as_text=True)[:300])
        assert resp.get_json()["error"] == "city 'nowhere' is not in the index", path
    for path in ("/cities/nowhere", "/cities/nowhere?as_of=1", "/cities/nowhere.csv",
                 "/cities/nowhere.csv?as_of=1", f"/cities/nowhere.csv?as_of={before}",
                 "/cities/nowhere.csv?as_of=2001-01-01"):
        resp = p.web.get(path)
        assert resp.status_code == 404 and "is in the index" in resp.get_data(as_text=True), path
    # a known city before the oldest kept point: 404 naming the parameter and the start
    for path in ("/api/v1/rankings?as_of=0", "/api/v1/cities/alpha?as_of=0",
                 "/cities/alpha.csv?as_of=0", "/map?as_of=0", "/?as_of=2001-01-01"):
        resp = p.web.get(path)
        assert resp.status_code == 404, path
        assert "as_of: " in resp.get_data(as_text=True) and "history starts at" in \
            resp.get_data(as_text=True), path


def _redis_ms(p: Pipeline) -> int:
    sec, usec = p.redis.client().time()
    return int(sec) * 1000 + int(usec) // 1000


def _iso_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def _change(doc: dict[str, Any], city_id: str) -> dict[str, Any]:
    return dict(next(i for i in doc["items"] if i["city_id"] == city_id)["change"])


def _bands_caught_up(p: Pipeline) -> bool:
    """Tell whether the rank bands are those of the current ranking (nothing left to move)."""
    doc = p.web.get("/api/v1/rankings").get_json()
    band = doc["items"][0]["rank_band"]
    return band is not None and band["ranking_version"] == doc["ranking_version"]


def test_a_since_span_resolves_against_now_and_its_etag_moves(pipeline: Pipeline) -> None:
    p = pipeline
    _load(p, {"alpha": 0.7, "bravo": 0.4})
    version = RankingReader(p.redis.client()).version()
    # the rank bands follow the ranking within about 12 s; once they have, nothing moves
    wait_for(lambda: _bands_caught_up(p), 20, 0.1, what="the rank bands to catch up")

    path = "/api/v1/rankings?since=20s"
    first = p.web.get(path)
    doc = first.get_json()
    committed = _iso_ms(doc["updated_at"])
    assert doc["ranking_version"] == version
    # the load is inside the last 20 s (a span reaching back before the history starts
    # starts at its oldest point)
    assert doc["since"]["ranking_version"] < version
    assert _change(doc, "bravo")["rank_then"] is None  # bravo was not ranked 20 s ago
    asked = _redis_ms(p)
    fixed = p.web.get(f"/api/v1/rankings?since={version}")
    page = p.web.get("/?since=20s")

    # Nothing is committed meanwhile; once 20 s have passed since the load, "the last 20 s"
    # holds no change, and a client revalidating its copy must not get a 304.
    wait_for(lambda: _redis_ms(p) > max(committed + 21_000, asked + 2_000), 30, 0.1,
             what="the clock to move past the span")
    again = p.web.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200
    later = again.get_json()
    assert later["ranking_version"] == version  # a quiet index
    assert later["items"][0]["rank_band"] == doc["items"][0]["rank_band"]  # bands too
    assert later["since"]["resolved_at"] != doc["since"]["resolved_at"]
    assert _iso_ms(later["since"]["resolved_at"]) >= committed
    assert later["since"]["ranking_version"] == version
    assert _iso_ms(later["since"]["resolved_at"]) % 1000 == 0  # a span resolves to the second
    for item in later["items"]:
        assert item["change"]["move"] == 0 and item["change"]["score_change"] == 0, item
    assert again.headers["ETag"] != first.headers["ETag"]
    assert p.web.get("/?since=20s", headers={"If-None-Match": page.headers["ETag"]}
                     ).status_code == 200
    # a fixed moment still revalidates to a 304 on a quiet index
    assert p.web.get(f"/api/v1/rankings?since={version}",
                     headers={"If-None-Match": fixed.headers["ETag"]}).status_code == 304

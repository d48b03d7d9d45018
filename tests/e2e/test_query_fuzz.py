"""Every GET route of the running stack, against hostile query strings: never a 5xx.

The routes come from the apps' own `url_map` (web, and ingest's GET routes), so a new route
fails this test until its parameters are listed here. Each parameter a route takes gets
every hostile value alone; then every parameter at once, repeated parameters, and the
reported cases (finding 6 of issue 18).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
import requests
from flask import Flask

from services.ingest.app import create_app as create_ingest
from services.web.app import create_app as create_web
from shared.contract.methodology import load_methodology
from shared.platform.settings import Settings
from tests.support.procs import Stack

pytestmark = pytest.mark.e2e

CODES = [p.code for p in load_methodology().pillars]
RANKING = ("pillar", "region", "limit", "offset", "fresh", "weights", "aggregation", "as_of",
           "since")
# The query parameters each GET route reads (web, then ingest).
WEB_PARAMS: dict[str, tuple[str, ...]] = {
    "api.rankings": RANKING, "api.rankings_csv": RANKING,
    "api.city": ("as_of",), "api.city_history": (), "api.city_explain": ("since", "until"),
    "api.city_gap": ("to", "rank"),
    "api.methodology": (), "stream.stream": ("last_event_id", "once"),
    "views.ranking": (*RANKING, "sort", "dir", "q"), "views.city": ("as_of", "since", "to", "rank"),
    "views.city_csv": ("as_of",), "views.compare": ("c",),
    "views.world_map": (*RANKING, "colour"),
    "views.explore": ("weights", "aggregation", *CODES),
    "views.methodology": (), "ops.healthz": (), "ops.readyz": (), "ops.metrics": (),
    "openapi_json": (), "static": (),
}
INGEST_PARAMS: dict[str, tuple[str, ...]] = {
    "ingest.get_event": (), "ingest.get_feed": (), "ops.healthz": (), "ops.readyz": (),
    "ops.metrics": (), "openapi.openapi_json": (), "static": (),
}
# Path values: a known and an unknown city, odd spellings; static files and event ids.
PATH_VALUES: dict[str, tuple[str, ...]] = {
    "city_id": ("seoul", "nowhere", "٣", "-0", "a" * 300, "SEOUL", "seoul%00"),
    "filename": ("style.css", "../../shared/platform/settings.py", "nope.js", "a" * 300, "٣"),
    "event_id": ("00000000-0000-4000-8000-000000000000", "٣", "a" * 300, "-0"),
}

HOSTILE = (
    "", " ", "bogus", "x", "-0", "0", "-1", "1", "00", "+1", "1.5", "1e3", "0x10", "1_000",
    "NaN", "nan", "inf", "-inf", "Infinity", "٣", "١", "２０２５", "9" * 19, "9" * 5000,
    "1" * 4301, "-" + "9" * 4400, "2999-01-01", "2999-01-01T00:00:00Z", "2026W483",
    "2026-12-02T10", "2026-13-01T00:00:00Z", "2026-02-30", "2025-06-30T12:00:00+0900",
    "2025-06-30T12:00:00+09:00", "2025-06-30t12:00:00z", "1969-12-31T23:59:59Z", "0000-01-01",
    "9999-12-31T23:59:59.999999999-23:59", "2001-01-01", "20s", "7d", "7D", "-7d", "1y",
    "999999999d", "9" * 5000 + "d", "true", "maybe", "TRUE", "research:1", "foo:1",
    "research:١", "research:-0", "research:nan", "research:inf", "research:1e308",
    "research:" + "9" * 5000, "research:1,research:2", ":", ",", "research", "talent",
    "Talent", "geometric", "median", "asc", "sideways", "overall", "seoul,tokyo",
    "seoul,seoul,nowhere", ",,,", "a,b,c,d,e", "\x00", "%", "<script>alert(1)</script>",
    "' OR 1=1 --", "a" * 5000, "1700000000000-0", "99999999999999999999-99999999999999999999",
)
# Sent as written: invalid UTF-8 (a lone surrogate, a stray byte) and broken escapes.
RAW = ("%ED%A0%80", "%FF", "%C0%AF", "%", "%%", "%2", "+", "%2B0", "-%30")


def _apps(stack: Stack) -> tuple[Flask, Flask]:
    settings = Settings.from_env(redis_url=stack.redis.url)
    return create_web(settings), create_ingest(settings)


def _paths(app: Flask, endpoint: str) -> list[str]:
    """Return the paths of a GET route: one per path value of its arguments."""
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    adapter = app.url_map.bind("localhost")
    if not rule.arguments:
        return [adapter.build(endpoint)]
    (name,) = rule.arguments
    return [rule.rule.replace(f"<{'path:' if name == 'filename' else ''}{name}>",
                              quote(value, safe="/")) for value in PATH_VALUES[name]]


def _queries(names: tuple[str, ...]) -> Iterator[list[tuple[str, str]]]:
    """Yield query strings: each parameter with each hostile value, then all at once and
    repeated."""
    yield []
    for name in names:
        for value in HOSTILE:
            yield [(name, quote(value, safe=""))]
        for raw in RAW:
            yield [(name, raw)]
        yield [(name, "1"), (name, "bogus")]  # repeated: the first wins, still checked
        yield [(name, "bogus"), (name, "1")]
    if names:
        for value in ("bogus", "9" * 5000, "-0", "٣", "2999-01-01"):
            yield [(name, quote(value, safe="")) for name in names]


def _encode(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k)}={v}" for k, v in pairs)


def _walk(base: str, app: Flask, table: dict[str, tuple[str, ...]],
          headers: dict[str, str | bytes] | None = None) -> list[tuple[str, int]]:
    """GET every route of app with every query; return (url, status) of each answer."""
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if "GET" in (r.methods or ())}
    assert endpoints == set(table), f"routes not listed here: {endpoints ^ set(table)}"
    urls: list[str] = []
    for endpoint, names in sorted(table.items()):
        for n, path in enumerate(_paths(app, endpoint)):
            for pairs in (_queries(names) if n == 0 else
                          iter([[], [("as_of", "1")], [("as_of", "nonsense")], [("since", "7d")],
                                [("until", "1")]])):
                urls.append(f"{base}{path}" + (f"?{_encode(pairs)}" if pairs else ""))
    session = requests.Session()

    def get(url: str) -> tuple[str, int]:
        stream = "/api/v1/stream" in url
        with session.get(url, headers=headers, timeout=30, stream=stream) as resp:
            if not stream:
                _check_body(url, resp)
            return url, resp.status_code

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(get, urls))


def _check_body(url: str, resp: requests.Response) -> None:
    """A refused API query answers JSON naming the rule; a page, the site's error page."""
    if resp.status_code not in (400, 404) or "/static/" in url:
        return
    if "/api/" in url or "/v1/" in url:
        body = resp.json()
        assert body["status"] == resp.status_code and body["error"], url
    else:
        assert "text/html" in resp.headers["content-type"], url


def _no_5xx(answers: list[tuple[str, int]], what: str) -> None:
    bad = [(status, url[:160]) for url, status in answers if status >= 500]
    assert not bad, f"{len(bad)} of {len(answers)} {what} answers were 5xx: {bad[:20]}"


def test_no_hostile_query_string_gets_a_5xx_from_the_web(loaded_stack: tuple[Stack, str]) -> None:
    stack, _ = loaded_stack
    web, _ = _apps(stack)
    answers = _walk(stack.web_url, web, WEB_PARAMS)
    _no_5xx(answers, "web")
    statuses = {status for _, status in answers}
    assert 400 in statuses and 404 in statuses and 200 in statuses


def test_no_hostile_request_gets_a_5xx_from_ingests_get_routes(
        loaded_stack: tuple[Stack, str]) -> None:
    stack, token = loaded_stack
    _, ingest = _apps(stack)
    variants: list[dict[str, str | bytes]] = [
        {}, {"Authorization": f"Bearer {token}"},
        {"Authorization": ("Bearer " + "٣" * 100).encode()}]  # raw UTF-8
    for headers in variants:
        _no_5xx(_walk(stack.ingest_url, ingest, INGEST_PARAMS, headers), "ingest")


REPORTED: tuple[tuple[str, int], ...] = (
    ("/map?pillar=bogus", 400), ("/map?limit=x", 400), ("/map?as_of=0", 404),
    ("/map?weights=foo:1", 400), ("/map?fresh=maybe", 400),
    ("/cities/seoul.csv?as_of=nonsense", 400), ("/cities/seoul.csv?as_of=0", 404),
    ("/cities/nowhere.csv?as_of=1", 404), ("/cities/nowhere?as_of=1", 404),
    ("/api/v1/cities/nowhere?as_of=1", 404), ("/api/v1/cities/nowhere/explain?until=1", 404),
    ("/api/v1/rankings?as_of=" + "9" * 4301, 400), ("/api/v1/rankings?since=" + "9" * 4301, 400),
    ("/api/v1/cities/seoul/explain?until=" + "9" * 4301, 400),
    ("/?as_of=" + "9" * 4301, 400), ("/cities/seoul?since=" + "9" * 4301, 400),
    ("/api/v1/rankings?as_of=%D9%A3", 400), ("/api/v1/rankings?as_of=%EF%BC%92%EF%BC%90", 400),
    ("/api/v1/rankings?weights=research:%D9%A1", 400), ("/api/v1/rankings?as_of=2026W483", 400),
    ("/api/v1/rankings?as_of=2026-12-02T10", 400), ("/api/v1/rankings?as_of=2999-01-01", 400),
)


@pytest.mark.parametrize(("path", "status"), REPORTED, ids=[p[:48] for p, _ in REPORTED])
def test_the_reported_queries_are_4xx(loaded_stack: tuple[Stack, str], path: str,
                                      status: int) -> None:
    stack, _ = loaded_stack
    resp = requests.get(f"{stack.web_url}{path}", timeout=30)
    assert resp.status_code == status, (path, resp.text[:300])

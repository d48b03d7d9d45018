"""The HTML pages over plain HTTP: server rendering without JavaScript, headers, escaping."""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any

import pytest
import requests

from shared.contract.methodology import DEFAULT_VERSION
from tests.support.events import city, event, post
from tests.support.procs import Stack, wait_for

pytestmark = pytest.mark.e2e

ROW = re.compile(r'<tr data-city="([^"]+)">')


def get(stack: Stack, path: str, **kw: Any) -> requests.Response:
    """GET a path from the web service."""
    return requests.get(f"{stack.web_url}{path}", timeout=10, **kw)


def row_ids(body: str) -> list[str]:
    """Return the city ids of the server-rendered ranking rows (the template row is empty)."""
    return [c for c in ROW.findall(body) if c]


def test_ranking_renders_the_urls_view_without_javascript(
        loaded_stack: tuple[Stack, str]) -> None:
    stack, _ = loaded_stack
    resp = get(stack, "/")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    doc = get(stack, "/api/v1/rankings").json()
    assert row_ids(resp.text) == [i["city_id"] for i in doc["items"]]
    assert "84.2" in resp.text and DEFAULT_VERSION in resp.text

    view = get(stack, "/?sort=talent&region=Europe")
    api = get(stack, "/api/v1/rankings?pillar=talent&region=Europe").json()
    assert row_ids(view.text) == [i["city_id"] for i in api["items"]]
    assert 'href="/api/v1/rankings.csv?region=Europe&amp;pillar=talent"' in view.text

    searched = get(stack, "/?q=tok")
    assert row_ids(searched.text) == ["tokyo"]


def test_pages_send_a_strict_content_security_policy(loaded_stack: tuple[Stack, str]) -> None:
    stack, _ = loaded_stack
    for path in ("/", "/cities/seoul", "/compare?c=seoul,tokyo", "/methodology", "/explore",
                 "/map"):
        resp = get(stack, path)
        assert resp.status_code == 200, path
        policy = resp.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        # Every script and stylesheet is served from this site's /static.
        assert not re.search(r'<script(?![^>]*type="application/json")(?![^>]*src="/static/)',
                             resp.text), path
        assert re.findall(r'<link[^>]+href="([^"]+)"', resp.text) == [
            "/static/favicon.svg", "/static/style.css"]
        assert "style=" not in resp.text  # no inline styles: the policy would block them


def test_unknown_city_and_bad_compare_are_html_errors(loaded_stack: tuple[Stack, str]) -> None:
    stack, _ = loaded_stack
    resp = get(stack, "/cities/atlantis")
    assert resp.status_code == 404 and resp.headers["content-type"].startswith("text/html")
    assert "atlantis" in resp.text
    assert get(stack, "/cities/atlantis.csv").status_code == 404
    assert get(stack, "/compare?c=seoul,atlantis").status_code == 404
    assert get(stack, "/compare?c=a,b,c,d,e").status_code == 400
    assert get(stack, "/api/v1/cities/atlantis").headers["content-type"] == "application/json"
    redirect = get(stack, "/compare?c=seoul&c=tokyo&c=", allow_redirects=False)
    assert redirect.status_code == 302
    assert redirect.headers["location"].endswith("/compare?c=seoul,tokyo")


def test_city_csv_matches_the_api(loaded_stack: tuple[Stack, str]) -> None:
    stack, _ = loaded_stack
    detail = get(stack, "/api/v1/cities/bengaluru").json()
    resp = get(stack, "/cities/bengaluru.csv")
    assert resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    overall = rows[0]
    assert overall["level"] == "overall" and int(overall["rank"]) == 26
    assert float(overall["score"]) == detail["score"]
    indicators = {r["code"]: r for r in rows if r["level"] == "indicator"}
    assert set(indicators) == set(detail["indicators"])
    for code, r in indicators.items():
        assert float(r["raw"]) == detail["indicators"][code]["raw"]


def test_methodology_page_lists_every_indicator_and_goalpost(
        loaded_stack: tuple[Stack, str]) -> None:
    stack, _ = loaded_stack
    m = get(stack, "/api/v1/methodology").json()
    body = get(stack, "/methodology").text
    for ind in m["indicators"]:
        assert f'data-ind="{ind["code"]}"' in body
        assert html.escape(ind["name"], quote=False) in body
    assert "2,000" in body and "80 → 10" in body  # goalposts, flipped where lower is better


def test_names_are_escaped_in_the_html(loaded_stack: tuple[Stack, str]) -> None:
    stack, token = loaded_stack
    name = '<script>alert("x")</script>'
    resp = post(stack.ingest_url, token, [city("escaped-ville", name, country="FR",
                                               region="Europe")])
    assert resp.status_code == 202
    stack.wait_idle(30)
    for path in ("/", "/cities/escaped-ville"):
        body = get(stack, path).text
        assert name not in body
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in body, path


def test_movement_counts_from_the_previous_edition(loaded_stack: tuple[Stack, str]) -> None:
    stack, token = loaded_stack
    before = {i["city_id"]: i["rank"] for i in get(stack, "/api/v1/rankings").json()["items"]}
    resp = post(stack.ingest_url, token,
                [event("index.ticked", None, {"date": "2025-12-31"},
                       at="2025-12-31T00:00:00+00:00")])
    assert resp.status_code == 202, resp.text
    wait_for(lambda: get(stack, "/api/v1/rankings").json()["as_of"] == "2025-12-31", 30)
    stack.wait_idle(60)
    after = get(stack, "/api/v1/rankings").json()["items"]
    body = get(stack, "/").text
    assert "since the ranking of 30 Jun 2025" in body
    moved = [i for i in after if i["city_id"] in before and before[i["city_id"]] != i["rank"]]
    assert moved, "the new index date should move someone"
    for item in moved[:10]:
        row = body[body.index(f'<tr data-city="{item["city_id"]}">'):]
        row = row[:row.index("</tr>")]
        delta = before[item["city_id"]] - item["rank"]
        assert (f"▲ {delta}" if delta > 0 else f"▼ {-delta}") in row, item["city_id"]

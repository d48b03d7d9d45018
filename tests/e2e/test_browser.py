"""The web pages in a real browser (Debian's Chromium through Playwright) on the whole stack.

One stack with the reference dataset and one browser serve the module. Tests that read the
reference ranking come first; the ones that post events (live update, hostile names,
reconnect) come after them, in file order.
"""

from __future__ import annotations

import csv
import io
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from playwright.sync_api import Browser, Page, Request

from shared.contract.methodology import DEFAULT_VERSION, load_methodology
from tests.support.browser import DESKTOP, LOCAL_HOSTS, PHONE, have_chromium
from tests.support.events import city, event, indicator, post
from tests.support.procs import Stack, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
XSS_NAME = "<script>alert(1)</script>"
XSS_PROJECT = "<img src=x onerror=alert(3)>"
XSS_UNRANKED = "<img src=x onerror=alert(2)>"
LATER = "2025-07-01T00:00:00+00:00"  # after every reference observation, so it wins

if not have_chromium():  # pragma: no cover - the CI image installs it
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)


class Session:
    """Pages opened in the browser, with every request, console error and dialog they saw."""

    def __init__(self, browser: Browser, base: str) -> None:
        self.browser = browser
        self.base = base
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []

    def open(self, path: str, viewport: dict[str, int] = DESKTOP) -> Page:
        """Open a path in a fresh context, recording what the page does."""
        context = self.browser.new_context(viewport=viewport)
        page = context.new_page()
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("pageerror", lambda e: self.errors.append(f"{path}: {e}"))
        page.on("console", lambda m: self.errors.append(f"{path}: {m.text}")
                if m.type == "error" else None)

        def dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()
        page.on("dialog", dialog)
        response = page.goto(self.base + path)
        assert response is not None
        page.wait_for_load_state("load")
        return page

    def check(self) -> None:
        """Assert nothing left localhost, nothing logged an error and no dialog opened."""
        hosts = {urlsplit(u).hostname for u in self.requests if not u.startswith(("data:", "about:"))}
        assert hosts <= LOCAL_HOSTS, f"requests left localhost: {sorted(hosts - LOCAL_HOSTS)}"
        assert not self.errors, self.errors
        assert not self.dialogs, self.dialogs


@pytest.fixture
def session(browser: Browser, loaded_stack: tuple[Stack, str]) -> Iterator[Session]:
    """Pages on the loaded stack's web service; checked for stray requests and errors."""
    s = Session(browser, loaded_stack[0].web_url)
    yield s
    s.check()
    for context in browser.contexts:
        context.close()


def api(stack: Stack, path: str, **params: Any) -> Any:
    """GET a JSON document from the web API."""
    resp = requests.get(f"{stack.web_url}{path}", params=params, timeout=10)
    resp.raise_for_status()
    return resp.json()


def shown_ids(page: Page) -> list[str]:
    """Return the city ids of the ranking rows in display order."""
    return list(page.eval_on_selector_all("#rows tr", "rows => rows.map(r => r.dataset.city)"))


def row_text(page: Page, city_id: str, field: str) -> str:
    """Return the text of one field of a city's ranking row."""
    return str(page.locator(f"#rows tr[data-city='{city_id}'] [data-f='{field}']").inner_text())


def screenshot(page: Page, name: str) -> None:
    """Write a full-page screenshot to tests/artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def fits_width(page: Page, width: int) -> bool:
    """Tell whether the page needs no horizontal scrolling at this width."""
    return bool(page.evaluate(f"document.documentElement.scrollWidth <= {width}"))


def wait_live(page: Page) -> None:
    """Wait until the page's stream reports itself live and a ranking has its data."""
    page.wait_for_selector("#live-status[data-state='live']", timeout=10_000)
    if page.locator("#ranking").count():
        page.wait_for_selector("html[data-ready]", state="attached", timeout=10_000)


# ---------------------------------------------------------------- the reference ranking

def test_ranking_page_lists_the_reference_cities(session: Session,
                                                 loaded_stack: tuple[Stack, str]) -> None:
    stack, _ = loaded_stack
    doc = api(stack, "/api/v1/rankings")
    page = session.open("/")
    wait_live(page)
    ids = shown_ids(page)
    assert len(ids) == 100
    assert ids == [i["city_id"] for i in doc["items"]]
    assert ids[0] == "singapore"
    assert row_text(page, "singapore", "rank") == "1"
    assert row_text(page, "singapore", "score") == "84.2"
    assert round(float(row_text(page, "singapore", "score"))) == 84
    assert row_text(page, "singapore", "link") == "Singapore"
    for item in doc["items"][:20]:
        assert row_text(page, item["city_id"], "score") == f"{item['score']:.1f}"
    # One bar and value per pillar in each row, semantic headers, metadata shown.
    assert page.locator("#rows tr[data-city='seoul'] td[data-p]").count() == 5
    assert page.locator("#ranking thead th[scope='col']").count() == 11
    assert page.locator("#rows th[scope='row']").count() == 100
    assert page.locator("#as-of").inner_text() == "30 Jun 2025"
    assert page.locator("#methodology-version").inner_text() == DEFAULT_VERSION
    assert page.locator("#ranking-version").inner_text() == str(doc["ranking_version"])
    assert "Live" in page.locator("#live-status").inner_text()
    assert page.locator("#unranked").is_hidden()  # the reference set ranks every city
    screenshot(page, "ranking-desktop")

    phone = session.open("/", PHONE)
    wait_live(phone)
    assert len(shown_ids(phone)) == 100
    assert fits_width(phone, PHONE["width"])
    assert phone.locator("#rows tr[data-city='singapore'] .c-city .sub").is_visible()
    screenshot(phone, "ranking-phone")


def test_sorting_filtering_and_search_match_the_api(session: Session,
                                                    loaded_stack: tuple[Stack, str]) -> None:
    stack, _ = loaded_stack
    page = session.open("/")
    wait_live(page)
    page.select_option("#sort", "research")
    by_research = api(stack, "/api/v1/rankings", pillar="research")
    assert shown_ids(page) == [i["city_id"] for i in by_research["items"]]
    assert shown_ids(page) != [i["city_id"] for i in api(stack, "/api/v1/rankings")["items"]]
    assert page.locator("th[aria-sort='descending'] button[data-sort='research']").count() == 1

    page.select_option("#region", "Europe")
    europe = api(stack, "/api/v1/rankings", region="Europe", pillar="research")
    assert shown_ids(page) == [i["city_id"] for i in europe["items"]]
    assert 0 < len(europe["items"]) < 100
    assert set(page.eval_on_selector_all(
        "#rows td[data-f='region']", "tds => tds.map(t => t.textContent)")) == {"Europe"}
    assert "sort=research" in page.url and "region=Europe" in page.url

    # A header button works from the keyboard: Enter on the talent column sorts by talent.
    page.locator("button[data-sort='talent']").focus()
    page.keyboard.press("Enter")
    talent = api(stack, "/api/v1/rankings", region="Europe", pillar="talent")
    assert shown_ids(page) == [i["city_id"] for i in talent["items"]]
    page.keyboard.press("Enter")  # again: ascending
    assert shown_ids(page) == [i["city_id"] for i in reversed(talent["items"])]
    assert "dir=asc" in page.url

    # The URL carries the view: opening it renders the same rows (server side, then live).
    shared = session.open(urlsplit(page.url).path + "?" + urlsplit(page.url).query)
    assert shown_ids(shared) == shown_ids(page)
    assert shared.locator("#region").input_value() == "Europe"
    assert shared.locator("#sort").input_value() == "talent"

    page.select_option("#region", "")
    page.select_option("#sort", "overall")
    page.fill("#q", "san")
    every = api(stack, "/api/v1/rankings")["items"]
    expected = [i["city_id"] for i in every
                if "san" in i["name"].lower() or "san" in i["country"].lower()
                or "san" in i["city_id"]]
    assert expected and shown_ids(page) == expected
    assert "q=san" in page.url
    page.fill("#q", "no such city")
    assert shown_ids(page) == []
    assert page.locator("#no-rows").is_visible()


def test_downloads_return_the_api_numbers(session: Session,
                                          loaded_stack: tuple[Stack, str]) -> None:
    stack, _ = loaded_stack
    page = session.open("/?sort=governance&region=East+Asia")
    wait_live(page)
    csv_href = page.get_attribute("#dl-csv", "href")
    json_href = page.get_attribute("#dl-json", "href")
    assert csv_href and json_href
    doc = api(stack, "/api/v1/rankings", pillar="governance", region="East Asia")
    from_link = page.request.get(stack.web_url + json_href).json()
    assert from_link["items"] == doc["items"]
    rows = list(csv.DictReader(io.StringIO(page.request.get(stack.web_url + csv_href).text())))
    assert [r["city_id"] for r in rows] == [i["city_id"] for i in doc["items"]]
    for row, item in zip(rows, doc["items"]):
        assert float(row["score"]) == item["score"]
        assert float(row["governance"]) == item["pillars"]["governance"]
        assert int(row["rank"]) == item["rank"]
    shown = {i: row_text(page, i, "score") for i in shown_ids(page)}
    assert shown == {i["city_id"]: f"{i['score']:.1f}" for i in doc["items"]}

    city_page = session.open("/cities/tokyo")
    detail = api(stack, "/api/v1/cities/tokyo")
    href = city_page.get_attribute("#dl-city-json", "href")
    assert href and city_page.request.get(stack.web_url + href).json()["score"] == detail["score"]
    href = city_page.get_attribute("#dl-city-csv", "href")
    assert href
    lines = list(csv.DictReader(io.StringIO(city_page.request.get(stack.web_url + href).text())))
    overall = next(r for r in lines if r["level"] == "overall")
    assert float(overall["score"]) == detail["score"] and int(overall["rank"]) == detail["rank"]
    for r in lines:
        if r["level"] == "pillar":
            assert float(r["score"]) == detail["pillars"][r["code"]]["score"]
        if r["level"] == "indicator":
            ind = detail["indicators"][r["code"]]
            assert float(r["raw"]) == ind["raw"] and float(r["score"]) == ind["normalised"]
    assert {r["code"] for r in lines if r["level"] == "indicator"} == set(detail["indicators"])


def test_city_page_shows_pillars_indicators_projects_and_history(
        session: Session, loaded_stack: tuple[Stack, str]) -> None:
    stack, _ = loaded_stack
    detail = api(stack, "/api/v1/cities/seoul")
    page = session.open("/cities/seoul")
    wait_live(page)
    assert page.locator("h1").inner_text() == "Seoul"
    figs = page.locator("#keyfigs")
    assert figs.locator("[data-f='score']").inner_text() == f"{detail['score']:.1f}"
    assert figs.locator("[data-f='rank']").inner_text() == "2"
    assert figs.locator("[data-f='region-rank']").inner_text() == str(detail["region_rank"])
    for code, p in detail["pillars"].items():
        row = page.locator(f"#pillar-table tr[data-p='{code}']")
        assert row.locator("[data-f='score']").inner_text() == f"{p['score']:.1f}"
        assert row.locator("[data-f='rank']").inner_text() == str(p["rank"])
    assert page.locator("#indicator-table tr[data-ind]").count() == 22
    datacentre = detail["indicators"]["infra.datacenter_mw"]
    row = page.locator("#indicator-table tr[data-ind='infra.datacenter_mw']")
    assert "MW" in row.inner_text() and f"{datacentre['normalised']:.1f}" in row.inner_text()
    assert "18 Jun 2025" in row.inner_text()  # observed date
    assert "coverage 100%" in page.locator("#indicator-table").inner_text()
    # Projects: the sector x stage chart and its table, the owner split, the latest ones.
    projects = detail["projects"]
    assert str(projects["total"]) in page.locator("#projects .hint").inner_text()
    assert page.locator("#sector-chart .hbar-row").count() == len(projects["by_sector_stage"])
    assert page.locator("#sector-table tbody tr").count() == len(projects["by_sector_stage"])
    owners = page.locator("#owner-chart").inner_text()
    for owner, count in projects["by_owner"].items():
        assert owner in owners and str(count) in owners
    assert page.locator("#latest-projects tbody tr").count() == len(projects["latest"])
    assert projects["latest"][0]["name"] in page.locator("#latest-projects").inner_text()
    # History: a chart with a text alternative (a title and a table).
    chart = page.locator("svg#history-score")
    assert chart.get_attribute("role") == "img"
    assert chart.locator("circle.dot").count() >= 1
    assert page.locator("#history-table tbody tr").count() == len(detail["history"])
    assert page.locator("svg#history-rank circle.dot").count() >= 1
    # Peers and strengths.
    peers = page.locator("table.peers").inner_text()
    assert "Singapore" in peers and "Beijing" in peers
    assert "Strengths" in page.locator(".sw").inner_text()
    screenshot(page, "city-desktop")

    phone = session.open("/cities/seoul", PHONE)
    assert fits_width(phone, PHONE["width"])
    screenshot(phone, "city-phone")


def test_compare_shows_two_cities_side_by_side(session: Session,
                                               loaded_stack: tuple[Stack, str]) -> None:
    stack, _ = loaded_stack
    seoul, singapore = api(stack, "/api/v1/cities/seoul"), api(stack, "/api/v1/cities/singapore")
    page = session.open("/compare?c=seoul,singapore")
    assert page.locator("h1").inner_text() == "Seoul vs Singapore"
    assert page.locator("#compare-cities li").count() == 2
    assert page.locator(".dotplot use").count() == 2 * 6  # overall + 5 pillars, two cities
    header = page.locator("#pillar-compare thead").inner_text()
    assert "Seoul" in header and "Singapore" in header
    research = page.locator("#pillar-compare tr[data-p='research']").inner_text()
    assert f"{seoul['pillars']['research']['score']:.1f}" in research
    assert f"{singapore['pillars']['research']['score']:.1f}" in research
    assert page.locator("#indicator-compare tr[data-ind]").count() == 22
    assert page.locator("#c0").input_value() == "seoul"
    assert page.locator("#c1").input_value() == "singapore"
    screenshot(page, "compare-desktop")

    # The picker makes a shareable URL of the form c=a,b,c.
    page.select_option("#c2", "tokyo")
    page.click("form.picker button[type='submit']")
    page.wait_for_url(lambda url: url.endswith("/compare?c=seoul,singapore,tokyo"))
    assert page.locator("#compare-cities li").count() == 3

    phone = session.open("/compare?c=seoul,singapore", PHONE)
    assert fits_width(phone, PHONE["width"])
    screenshot(phone, "compare-phone")


def test_methodology_page_and_unknown_city(session: Session,
                                           loaded_stack: tuple[Stack, str]) -> None:
    stack, _ = loaded_stack
    m = api(stack, "/api/v1/methodology")
    page = session.open("/methodology")
    text = page.locator("main").inner_text()
    assert m["version"] in text and "65%" in text
    for p in m["pillars"]:
        assert p["name"] in text
    assert page.locator("tr[data-ind]").count() == len(m["indicators"])
    screenshot(page, "methodology-desktop")

    missing = session.browser.new_page()
    response = missing.goto(stack.web_url + "/cities/atlantis")
    assert response is not None and response.status == 404
    assert "text/html" in response.headers["content-type"]
    assert "atlantis" in missing.locator("h1").inner_text()
    missing.close()


def test_keyboard_and_structure(session: Session) -> None:
    page = session.open("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    page.wait_for_function("location.hash === '#main'", timeout=5000)  # navigation is async
    assert page.locator("table#ranking caption").count() == 1
    # The table's scrolling wrapper takes focus and is named by the caption (issue 14).
    wrapper = page.get_by_role("region", name="AI City Index ranking", exact=False)
    assert wrapper.get_attribute("tabindex") == "0"
    assert wrapper.locator("table#ranking").count() == 1
    assert page.locator("label[for='q']").count() == 1
    assert page.locator("label[for='region']").count() == 1


# ---------------------------------------------------------------- live updates

def _mid_table_city(stack: Stack) -> dict[str, Any]:
    items = api(stack, "/api/v1/rankings")["items"]
    return dict(items[49])


def test_posted_indicators_update_the_page_within_two_seconds(
        session: Session, loaded_stack: tuple[Stack, str]) -> None:
    stack, token = loaded_stack
    target = _mid_table_city(stack)
    page = session.open("/")
    city_page = session.open(f"/cities/{target['city_id']}")
    wait_live(page)
    wait_live(city_page)
    page.evaluate("window.__notReloaded = true")
    old_score = row_text(page, target["city_id"], "score")
    version = page.locator("#ranking-version").inner_text()

    best = {"research.ai_papers": 20000, "research.citation_impact": 3,
            "research.ai_patents": 10000, "research.top_institutes": 10,
            "talent.ai_workforce_per_100k": 1500, "talent.ai_job_postings_per_100k": 300}
    started = time.monotonic()
    resp = post(stack.ingest_url, token,
                [indicator(target["city_id"], k, v, at=LATER) for k, v in best.items()])
    assert resp.status_code == 202, resp.text
    page.wait_for_function(
        """([id, oldScore, oldRank]) => {
             const tr = document.querySelector(`#rows tr[data-city="${id}"]`);
             return tr && tr.querySelector('[data-f=score]').textContent !== oldScore
                    && Number(tr.querySelector('[data-f=rank]').textContent) < oldRank;
           }""", arg=[target["city_id"], old_score, target["rank"]], timeout=2000)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, elapsed
    assert page.evaluate("window.__notReloaded") is True
    assert "flash" in (page.get_attribute(f"#rows tr[data-city='{target['city_id']}']", "class")
                       or "")
    assert page.locator("#ranking-version").inner_text() != version
    page.locator(f"#rows tr[data-city='{target['city_id']}']").scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ranking-live-update.png"))  # the highlighted row

    stack.wait_idle(30)
    doc = api(stack, "/api/v1/rankings")
    page.wait_for_function("v => document.getElementById('ranking-version').textContent == v",
                           arg=str(doc["ranking_version"]), timeout=2000)
    assert shown_ids(page) == [i["city_id"] for i in doc["items"]]
    now = next(i for i in doc["items"] if i["city_id"] == target["city_id"])
    assert row_text(page, target["city_id"], "score") == f"{now['score']:.1f}"
    moved = row_text(page, target["city_id"], "mv")
    assert moved == f"▲ {target['rank'] - now['rank']}"

    city_page.wait_for_function(
        "s => document.querySelector('#keyfigs [data-f=score]').textContent === s",
        arg=f"{now['score']:.1f}", timeout=2000)
    assert city_page.locator("#keyfigs [data-f='rank']").inner_text() == str(now["rank"])
    assert city_page.locator("#stale-note").is_visible()


def _hostile_city_events(city_id: str) -> list[dict[str, Any]]:
    """A ranked city whose name and project name are HTML payloads."""
    m = load_methodology()
    events = [city(city_id, XSS_NAME, country="GB", region="Europe")]
    events += [indicator(city_id, i.code, (i.lo + i.hi) / 2, at=LATER)
               for i in m.indicators if i.derived is None]
    events.append(event("project.upserted", city_id, {
        "project_id": f"{city_id}:1", "name": XSS_PROJECT, "organization": "<b>Org</b>",
        "sector": "health", "owner": "public", "stage": "deployed",
        "started_at": "2024-01-01", "deployed_at": "2025-01-01"}, at=LATER))
    return events


def test_hostile_names_render_as_text(session: Session, loaded_stack: tuple[Stack, str]) -> None:
    stack, token = loaded_stack
    page = session.open("/")
    wait_live(page)
    scripts = page.locator("script").count()
    resp = post(stack.ingest_url, token, _hostile_city_events("xss-town")
                + [city("xss-unranked", XSS_UNRANKED, country="GB", region="Europe")])
    assert resp.status_code == 202, resp.text
    # Rows added live by the script: the name is text, nothing is parsed as markup.
    page.wait_for_selector("#rows tr[data-city='xss-town']", timeout=5000)
    assert row_text(page, "xss-town", "link") == XSS_NAME
    page.wait_for_function(
        "n => [...document.querySelectorAll('#unranked-list a')].some(a => a.textContent === n)",
        arg=XSS_UNRANKED, timeout=5000)
    assert page.locator("script").count() == scripts
    assert page.locator("img").count() == 0

    reloaded = session.open("/")  # the server-rendered version of the same rows
    assert row_text(reloaded, "xss-town", "link") == XSS_NAME
    assert XSS_UNRANKED in reloaded.locator("#unranked-list").inner_text()
    assert reloaded.locator("img").count() == 0

    profile = session.open("/cities/xss-town")
    assert profile.locator("h1").inner_text() == XSS_NAME
    assert XSS_PROJECT in profile.locator("#latest-projects").inner_text()
    assert profile.locator("img").count() == 0
    compare = session.open("/compare?c=xss-town,seoul")
    assert XSS_NAME in compare.locator("h1").inner_text()
    unranked = session.open("/cities/xss-unranked")
    assert unranked.locator("h1").inner_text() == XSS_UNRANKED
    assert "Not ranked" in unranked.locator(".callout").inner_text()
    assert session.dialogs == []


def test_stream_reconnects_and_resumes(session: Session, loaded_stack: tuple[Stack, str]) -> None:
    stack, token = loaded_stack
    page = session.open("/")
    wait_live(page)
    streams: list[Request] = []
    page.on("request", lambda r: streams.append(r) if "/api/v1/stream" in r.url else None)
    target = _mid_table_city(stack)
    old_score = row_text(page, target["city_id"], "score")

    stack.services["web"].stop(signal.SIGKILL)
    page.wait_for_selector("#live-status:not([data-state='live'])", timeout=10_000)
    # A change made while the web service is down reaches the page once it is back.
    resp = post(stack.ingest_url, token,
                [indicator(target["city_id"], "infra.datacenter_mw", 2000, at=LATER)])
    assert resp.status_code == 202
    stack.wait_idle(30)
    stack.start_service("web")
    wait_for(lambda: requests.get(f"{stack.web_url}/readyz", timeout=1).ok, 30, what="web")
    wait_live(page)
    page.wait_for_function(
        "([id, old]) => document.querySelector(`#rows tr[data-city='${id}'] [data-f=score]`)"
        ".textContent !== old", arg=[target["city_id"], old_score], timeout=5000)
    # The browser resumed from the last event id it had seen.
    resumed = [r.all_headers().get("last-event-id") or parse_qs(urlsplit(r.url).query).get(
        "last_event_id") for r in streams]
    assert any(resumed), [r.url for r in streams]
    now = api(stack, f"/api/v1/cities/{target['city_id']}")
    assert row_text(page, target["city_id"], "score") == f"{now['score']:.1f}"
    # The killed server cut the open stream mid-chunk; the browser rightly logged it.
    session.errors = [e for e in session.errors if "net::ERR_" not in e]

"""The world map and the freshness badges in a real browser (Debian's Chromium) on the whole stack.

One stack with the reference dataset serves the module; the tests that post events come last.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Browser, Page

from shared.contract.methodology import load_methodology
from tests.support.browser import DESKTOP, LOCAL_HOSTS, PHONE, have_chromium
from tests.support.events import city, event, indicator, post
from tests.support.procs import Stack, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

if not have_chromium():  # pragma: no cover - the CI image installs it
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

M = load_methodology()
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
OLD = "2023-03-01T00:00:00+00:00"  # more than stale_after_days before the index date


class Opened:
    """Pages opened in fresh contexts, with every request and error they saw."""

    def __init__(self, browser: Browser, base: str) -> None:
        self.browser, self.base = browser, base
        self.requests: list[str] = []
        self.errors: list[str] = []

    def open(self, path: str, viewport: dict[str, int] = DESKTOP, ready: bool = True) -> Page:
        """Open a path and wait until it loaded (and, if ready, its script read the ranking)."""
        page = self.browser.new_context(viewport=viewport).new_page()
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("pageerror", lambda e: self.errors.append(f"{path}: {e}"))
        page.on("console", lambda m: self.errors.append(f"{path}: {m.text}")
                if m.type == "error" else None)
        page.goto(self.base + path)
        page.wait_for_load_state("load")
        if ready:
            page.wait_for_selector("html[data-ready]")
        return page


@pytest.fixture
def opened(browser: Browser, loaded_stack: tuple[Stack, str]) -> Iterator[Opened]:
    """Pages on the loaded stack; afterwards nothing left localhost and nothing logged an error."""
    o = Opened(browser, loaded_stack[0].web_url)
    yield o
    hosts = {urlsplit(u).hostname for u in o.requests if not u.startswith(("data:", "about:"))}
    assert hosts <= LOCAL_HOSTS, f"requests left localhost: {sorted(hosts - LOCAL_HOSTS)}"
    assert not o.errors, o.errors
    for context in browser.contexts:
        context.close()


def ranking(stack: Stack, **params: Any) -> dict[str, Any]:
    """GET the rankings document."""
    resp = requests.get(f"{stack.web_url}/api/v1/rankings", params=params, timeout=10)
    resp.raise_for_status()
    return dict(resp.json())


def test_map_draws_outlines_and_a_linked_marker_per_city(
        opened: Opened, loaded_stack: tuple[Stack, str]) -> None:
    stack, _ = loaded_stack
    items = ranking(stack)["items"]
    page = opened.open("/map")
    page.wait_for_function("Number(document.getElementById('world-map').dataset.outlines) > 100")
    assert page.locator("#countries path.country").count() > 100  # Natural Earth 110m: 177
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map.png"), full_page=True)
    markers = page.locator("#markers a.mk")
    assert markers.count() == len(items) > 0
    assert sorted(markers.evaluate_all("ms => ms.map(m => m.dataset.city)")) == \
        sorted(i["city_id"] for i in items)
    # The list fallback holds the same cities, in rank order, as links.
    assert page.locator("#map-list li a").count() == len(items)
    assert page.eval_on_selector_all("#map-list li", "ls => ls.map(l => l.dataset.city)") == \
        [i["city_id"] for i in items]
    # A marker sits where its coordinates say: Seoul east of London, London north of Singapore.
    pos = {c: page.locator(f"#markers a.mk[data-city='{c}'] circle").bounding_box()
           for c in ("seoul", "london", "singapore")}
    assert pos["seoul"] and pos["london"] and pos["singapore"]
    assert pos["seoul"]["x"] > pos["london"]["x"] and pos["london"]["y"] < pos["singapore"]["y"]
    top = items[0]
    # Keyboard focus shows the tooltip: name, rank and score.
    page.locator(f"#markers a.mk[data-city='{top['city_id']}']").focus()
    tip = page.locator("#map-tip")
    tip.wait_for(state="visible")
    assert top["name"] in tip.inner_text() and "Rank 1" in tip.inner_text()
    assert f"{top['score']:.1f}" in tip.inner_text()
    page.keyboard.press("Escape")
    assert tip.is_hidden()
    # Hovering another marker shows it too; clicking it opens the city page.
    other = items[1]["city_id"]
    page.locator(f"#markers a.mk[data-city='{other}']").hover()
    tip.wait_for(state="visible")
    assert items[1]["name"] in tip.inner_text()
    page.locator(f"#markers a.mk[data-city='{other}']").click()
    page.wait_for_url(f"**/cities/{other}")
    assert page.locator("#city-name").inner_text() == items[1]["name"]


def test_colour_by_pillar_recolours_and_keeps_the_choice_in_the_url(
        opened: Opened, loaded_stack: tuple[Stack, str]) -> None:
    stack, _ = loaded_stack
    items = {i["city_id"]: i for i in ranking(stack)["items"]}
    page = opened.open("/map")
    page.select_option("#colour", "talent")
    assert page.url.endswith("/map?colour=talent")
    assert page.locator("#legend-title").inner_text() == M.pillars[2].name
    for city_id, cls in page.eval_on_selector_all(
            "#markers a.mk", "ms => ms.map(m => [m.dataset.city, m.querySelector('circle')"
                             ".getAttribute('class')])"):
        value = items[city_id]["pillars"]["talent"]
        assert cls == f"bin-{min(4, int(value // 20))}", (city_id, value, cls)
    # The server renders the same colouring for that URL.
    fresh = opened.open("/map?colour=talent")
    server = fresh.eval_on_selector_all(
        "#markers a.mk circle", "cs => cs.map(c => c.getAttribute('class'))")
    assert server == page.eval_on_selector_all(
        "#markers a.mk circle", "cs => cs.map(c => c.getAttribute('class'))")


def test_map_fits_a_phone(opened: Opened) -> None:
    page = opened.open("/map", PHONE)
    page.wait_for_function("Number(document.getElementById('world-map').dataset.outlines) > 100")
    assert page.evaluate(f"document.documentElement.scrollWidth <= {PHONE['width']}")


def _stale_city(city_id: str) -> list[dict[str, Any]]:
    """A complete city whose every record is dated OLD: ranked, and stale at the index date."""
    events = [event("city.upserted", city_id, {
        "name": "Oldtown", "country": "NO", "region": "Europe", "population": 500_000,
        "lat": 69.65, "lon": 18.96}, at=OLD)]
    for code in M.observed_indicator_codes():
        ind = M.indicator(code)
        events.append(indicator(city_id, code, ind.lo + (ind.hi - ind.lo) * 0.6, at=OLD))
    for k in range(20):
        events.append(event("project.upserted", city_id, {
            "project_id": f"{city_id}-p{k}", "name": f"Project {k}", "organization": "Org",
            "sector": M.projects.sectors[k % 12], "owner": ("public", "private")[k % 2],
            "stage": "deployed", "started_at": "2022-01-01", "deployed_at": "2022-06-01"},
            at=OLD))
    return events


def test_a_stale_city_gets_badges_and_the_filter_hides_it(
        opened: Opened, loaded_stack: tuple[Stack, str]) -> None:
    stack, token = loaded_stack
    assert post(stack.ingest_url, token, _stale_city("oldtown")).status_code == 202
    wait_for(lambda: any(i["city_id"] == "oldtown" for i in ranking(stack)["items"]), 30)
    row = next(i for i in ranking(stack)["items"] if i["city_id"] == "oldtown")
    assert row["stale"] is True and row["last_data_at"] == "2023-03-01T00:00:00+00:00"
    assert all(i["stale"] is False for i in ranking(stack)["items"] if i["city_id"] != "oldtown")
    assert "oldtown" not in [i["city_id"] for i in ranking(stack, fresh="true")["items"]]
    bad = requests.get(f"{stack.web_url}/api/v1/rankings?fresh=maybe", timeout=10)
    assert bad.status_code == 400 and "fresh" in bad.json()["error"]

    page = opened.open("/")
    badge = page.locator("#rows tr[data-city='oldtown'] [data-f='stale']")
    assert badge.is_visible() and badge.inner_text() == "Stale data"
    assert page.locator("#rows tr[data-city='seoul'] [data-f='stale']").is_hidden()
    page.check("#fresh")
    page.wait_for_function("!document.querySelector(\"#rows tr[data-city='oldtown']\")"
                           " || document.querySelector(\"#rows tr[data-city='oldtown']\")"
                           ".offsetParent === null")
    assert "fresh=true" in page.url
    ids = page.eval_on_selector_all("#rows tr", "rs => rs.filter(r => r.offsetParent)"
                                                ".map(r => r.dataset.city)")
    assert "oldtown" not in ids and len(ids) == len(ranking(stack, fresh="true")["items"])
    served = opened.open("/?fresh=true")  # the server honours the same URL
    assert served.locator("#fresh").is_checked()
    assert served.locator("#rows tr[data-city='oldtown']").count() == 0 or \
        served.locator("#rows tr[data-city='oldtown']").is_hidden()

    city_page = opened.open("/cities/oldtown", ready=False)
    assert city_page.locator("#freshness").inner_text() == "Stale data · newest 1 Mar 2023"
    assert "Current data" in opened.open("/cities/seoul", ready=False).locator("#freshness").inner_text()


def test_the_map_follows_the_stream(opened: Opened, loaded_stack: tuple[Stack, str]) -> None:
    stack, token = loaded_stack
    page = opened.open("/map")
    before = ranking(stack)["items"]
    assert page.locator("#markers a.mk").count() == len(before)
    # A new city appears as a marker; a changed score changes a marker's label.
    new = [city("newtown", lat=-33.9, lon=18.4, region="Africa", country="ZA")]
    for code in M.observed_indicator_codes():
        ind = M.indicator(code)
        new.append(indicator("newtown", code, ind.hi, at="2025-06-01T00:00:00+00:00"))
    for k in range(20):
        new.append(event("project.upserted", "newtown", {
            "project_id": f"newtown-p{k}", "name": f"Project {k}", "organization": "Org",
            "sector": M.projects.sectors[k % 12], "owner": ("public", "private")[k % 2],
            "stage": "scaled", "started_at": "2024-09-01", "deployed_at": "2025-02-01"}))
    assert post(stack.ingest_url, token, new).status_code == 202
    wait_for(lambda: any(i["city_id"] == "newtown" for i in ranking(stack)["items"]), 30)
    page.wait_for_selector("#markers a.mk[data-city='newtown']", timeout=10_000)
    label = page.locator("#markers a.mk[data-city='newtown']").get_attribute("aria-label") or ""
    assert label.startswith("Newtown: rank ")
    assert page.locator("#map-list li[data-city='newtown'] a").inner_text() == "Newtown"
    assert page.locator("#markers a.mk").count() == len(before) + 1

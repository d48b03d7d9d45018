"""/explore in a real browser: the sliders re-rank, the numbers equal the API's, and the URL
reproduces the state; rank bands show on the ranking and city pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Browser, Page

from tests.support.browser import DESKTOP, LOCAL_HOSTS, have_chromium
from tests.support.procs import Stack, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

if not have_chromium():  # pragma: no cover - the CI image installs it
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)


class Tab:
    def __init__(self, browser: Browser, base: str) -> None:
        self.base = base
        self.context = browser.new_context(viewport=DESKTOP)
        self.page = self.context.new_page()
        self.hosts: set[str | None] = set()
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.hosts.add(urlsplit(r.url).hostname)
                     if not r.url.startswith(("data:", "about:")) else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

    def open(self, path: str) -> Page:
        resp = self.page.goto(self.base + path)
        assert resp is not None and resp.status == 200
        self.page.wait_for_selector("html[data-ready]", state="attached")
        return self.page

    def close(self) -> None:
        assert self.hosts <= LOCAL_HOSTS, self.hosts
        assert not self.errors, self.errors
        self.context.close()


def table(page: Page) -> list[list[str]]:
    return list(page.evaluate("""() => [...document.querySelectorAll('#whatif-rows tr')].map(tr =>
        [tr.dataset.city, ...[...tr.querySelectorAll('[data-f]')].filter(e => e.dataset.f !== 'move')
          .map(e => e.textContent.trim())])"""))


def fmt1(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}"


def expected(stack: Stack, query: str) -> list[list[str]]:
    doc = requests.get(f"{stack.web_url}/api/v1/rankings?{query}", timeout=10).json()
    return [[i["city_id"], str(i["rank"]), i["name"], fmt1(i["score"]), str(i["official_rank"]),
             fmt1(i["official_score"])] for i in doc["items"]]


def test_sliders_rerank_like_the_api_and_the_url_keeps_the_state(
        browser: Browser, loaded_stack: tuple[Stack, str]) -> None:
    stack, _ = loaded_stack
    tab = Tab(browser, stack.web_url)
    try:
        page = tab.open("/explore")
        official = table(page)
        assert len(official) >= 90
        assert all(r[1] == r[4] for r in official)  # official weights: nobody moves
        # Push adoption to the top of its slider from the keyboard.
        page.focus("#w-adoption")
        page.keyboard.press("End")
        page.wait_for_function("() => location.search.includes('adoption:100')")
        page.wait_for_function(
            "() => document.documentElement.dataset.ready === location.search.slice(1)")
        query = urlsplit(page.url).query
        shown = table(page)
        assert shown == expected(stack, query)
        assert shown != official and any(r[1] != r[4] for r in shown)
        assert page.locator("#movers-up li a").count() > 0
        # The aggregation switch, too.
        page.check("input[name=aggregation][value=geometric]")
        page.wait_for_function("() => location.search.includes('aggregation=geometric')")
        page.wait_for_function(
            "() => document.documentElement.dataset.ready === location.search.slice(1)")
        query = urlsplit(page.url).query
        shown = table(page)
        assert shown == expected(stack, query)
        # The shared URL reproduces the state: sliders, switch and table.
        again = Tab(browser, stack.web_url)
        try:
            p2 = again.open("/explore?" + query)
            assert p2.input_value("#w-adoption") == "100"
            assert p2.is_checked("input[name=aggregation][value=geometric]")
            assert table(p2) == shown
        finally:
            again.close()
        # Reset brings back the official ranking.
        page.click("#reset")
        wait_for(lambda: table(page) == official, 10, 0.1, what="reset to official")
    finally:
        tab.close()


def test_rank_bands_show_on_the_ranking_and_city_pages(
        browser: Browser, loaded_stack: tuple[Stack, str]) -> None:
    stack, _ = loaded_stack

    def band_of(city: str) -> Any:
        doc = requests.get(f"{stack.web_url}/api/v1/cities/{city}", timeout=10).json()
        return doc["rank_band"]

    wait_for(lambda: band_of("seoul") is not None, 30, 0.5, what="bands published")
    tab = Tab(browser, stack.web_url)
    try:
        page = tab.open("/")
        glyph = page.locator("tr[data-city=seoul] [data-f=band]")
        wait_for(lambda: glyph.get_attribute("title") not in (None, ""), 10, 0.1, what="band glyph")
        band = band_of("seoul")
        assert f"{band['p05']}" in (glyph.get_attribute("title") or "")
        page.goto(stack.web_url + "/cities/seoul")
        sentence = page.locator("#rank-band").inner_text()
        assert "in 90% of plausible weightings" in sentence
        assert str(band["p05"]) in sentence and str(band["p95"]) in sentence
    finally:
        tab.close()


def test_the_page_without_script_ranks_like_the_api(loaded_stack: tuple[Stack, str]) -> None:
    """The no-script form sends one field per pillar; the server folds them into weights=."""
    import re

    stack, _ = loaded_stack
    form = "infrastructure=10&research=40&talent=5&adoption=5&governance=40&aggregation=geometric"
    html = requests.get(f"{stack.web_url}/explore?{form}", timeout=10).text
    order = re.findall(r'<tr data-city="([^"]+)">', html)
    weights = "infrastructure:10,research:40,talent:5,adoption:5,governance:40"
    assert [r[0] for r in expected(stack, f"weights={weights}&aggregation=geometric")] == order
    assert requests.get(f"{stack.web_url}/explore?weights=cooking:1", timeout=10).status_code == 400

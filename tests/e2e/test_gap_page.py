"""The city page's "What it takes" section (issue 21) in a real browser on the whole stack:
the sentences and numbers of the API, links to the indicator rows, the target control, a
live update with the ranking, and no serious axe finding at 1280 and 390 px."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page

from tests.support import axe
from tests.support.browser import DESKTOP, PHONE, have_chromium
from tests.support.events import indicator, post
from tests.support.procs import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
LATER = "2025-07-01T00:00:00+00:00"  # after every reference observation, so it wins

if not have_chromium():  # pragma: no cover - the CI image installs it
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)


def gap(stack: Stack, city: str, query: str = "") -> dict[str, Any]:
    resp = requests.get(f"{stack.web_url}/api/v1/cities/{city}/gap{query}", timeout=10)
    assert resp.status_code == 200, resp.text
    doc: dict[str, Any] = resp.json()
    return doc


@pytest.fixture
def open_page(browser: Browser, loaded_stack: tuple[Stack, str]) -> Iterator[Any]:
    """Open a path of the loaded stack in a fresh context; check no page error was logged."""
    contexts: list[Any] = []
    errors: list[str] = []

    def opener(path: str, viewport: dict[str, int] = DESKTOP) -> Page:
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(loaded_stack[0].web_url + path)
        page.wait_for_load_state("load")
        return page

    yield opener
    for context in contexts:
        context.close()
    assert not errors, errors


def test_the_section_says_the_apis_numbers_with_links(open_page: Any,
                                                       loaded_stack: tuple[Stack, str]) -> None:
    stack, _ = loaded_stack
    doc = gap(stack, "seoul")
    page = open_page("/cities/seoul")
    headline = page.locator("#gap-headline").inner_text()
    assert headline.startswith("Seoul is 2.10 points behind Singapore (1st). Any one of these")
    sufficient = [lv for lv in doc["levers"] if lv["sufficient"]]
    items = page.locator("#gap-sufficient li")
    assert items.count() == len(sufficient)
    first = sufficient[0]
    assert items.first.inner_text().startswith(f"{first['count']} more ")
    short = page.locator("#gap-short li a")
    assert short.count() == len(doc["levers"]) - len(sufficient)
    papers = page.locator("#gap-short a[href='#ind-research.ai_papers']")
    assert "AI publications per year: at most" in papers.inner_text()
    papers.click()
    assert page.evaluate("location.hash") == "#ind-research.ai_papers"
    assert page.locator("[id='ind-research.ai_papers']").is_visible()
    assert page.locator("#gap-json").get_attribute("href") == (
        "/api/v1/cities/seoul/gap?to=singapore")


def test_the_control_picks_another_target(open_page: Any) -> None:
    page = open_page("/cities/seoul")
    page.select_option("#gap-to", "tokyo")
    page.click("#gap-form button")
    page.wait_for_url("**/cities/seoul?to=tokyo*")
    assert page.locator("#gap-headline").inner_text().startswith("Seoul leads Tokyo (7th) by ")
    assert page.locator("#gap-sufficient").count() == 0
    assert page.locator("#gap-to").input_value() == "tokyo"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_no_serious_accessibility_finding(open_page: Any, viewport: dict[str, int]) -> None:
    page = open_page("/cities/bengaluru?to=tokyo", viewport)
    assert page.locator("#what-it-takes").is_visible()
    blocking = [f for f in axe.audit(page) if f.blocking]
    assert not blocking, "\n".join(f.details() for f in blocking)


def test_the_section_follows_the_ranking(open_page: Any, loaded_stack: tuple[Stack, str]
                                         ) -> None:
    """Bengaluru passes the city above it (its first indicator lever, posted): the section
    names the next city above, without a reload."""
    stack, token = loaded_stack
    doc = gap(stack, "bengaluru")
    page = open_page("/cities/bengaluru")
    page.wait_for_selector("#live-status[data-state='live']", timeout=10_000)
    page.evaluate("window.__notReloaded = true")
    before = page.locator("#gap-headline").inner_text()
    assert doc["target"]["name"] in before
    lever = next(lv for lv in doc["levers"] if lv["kind"] == "indicator" and lv["sufficient"])
    event = indicator("bengaluru", lever["indicator"], lever["required"], at=LATER)
    event["event_id"] = str(uuid.uuid4())
    assert post(stack.ingest_url, token, [event]).status_code == 202
    stack.wait_idle(30)
    after = gap(stack, "bengaluru")
    assert after["rank"] < doc["rank"] and after["target"]["city_id"] != doc["target"]["city_id"]
    page.wait_for_function(
        "name => document.getElementById('gap-headline').textContent.includes(name)",
        arg=after["target"]["name"], timeout=5000)
    assert page.evaluate("window.__notReloaded") is True

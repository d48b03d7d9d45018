"""axe-core audits every HTML page of the web service in Debian's Chromium, at desktop and phone
widths, once the page's live scripts have run; any serious or critical violation fails.

Minor and moderate findings do not fail: each page's are printed and raised as an
`AxeNotice` warning, so they appear in pytest's warnings summary. axe-core is evaluated in
the page through Playwright (tests/support/axe.py): the Content-Security-Policy is not loosened.
"""

from __future__ import annotations

import warnings
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page

from services.web import views
from tests.support import axe
from tests.support.browser import LOCAL_HOSTS, PHONE, VIEWPORTS, have_chromium
from tests.support.events import city, post
from tests.support.procs import Stack, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

if not have_chromium():  # pragma: no cover - the CI image installs it
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

UNRANKED = "axe-unranked"  # a city with a profile and no indicators: its page says why
STREAM = "/api/v1/stream"  # the live pages' EventSource: open for as long as the page is

# Every HTML page the web service serves, with the status it answers: each page template in
# each state it can be in. test_every_html_route_is_audited fails when a route of the views
# blueprint is missing here, so a new page gets audited the day it is added.
PAGES: dict[str, tuple[str, int]] = {
    "ranking": ("/", 200),
    "ranking-by-pillar": ("/?sort=talent&region=Europe", 200),
    "ranking-bad-query": ("/?pillar=nope", 400),
    "city": ("/cities/seoul", 200),
    "city-unranked": (f"/cities/{UNRANKED}", 200),
    "city-not-found": ("/cities/atlantis", 404),
    "compare": ("/compare?c=seoul,singapore", 200),
    "compare-four": ("/compare?c=seoul,singapore,tokyo,beijing", 200),
    "compare-picker": ("/compare", 200),
    "compare-one": ("/compare?c=seoul", 200),
    "compare-not-found": ("/compare?c=seoul,atlantis", 404),
    "explore": ("/explore", 200),
    "explore-weights": ("/explore?weights=research:30,talent:10&aggregation=geometric", 200),
    "explore-bad-weights": ("/explore?weights=cooking:1", 400),
    "methodology": ("/methodology", 200),
    "map": ("/map", 200),
    "map-by-pillar": ("/map?colour=talent", 200),
    "ranking-fresh-only": ("/?fresh=true", 200),
    "ranking-as-of": ("/?as_of=100", 200),  # a past ranking (the last version at or before 100)
    "ranking-since-week": ("/?since=7d&sort=talent", 200),
    "ranking-not-kept": ("/?as_of=2001-01-01", 404),
    "city-since-week": ("/cities/seoul?since=7d", 200),
    "city-as-of": ("/cities/seoul?as_of=999999", 200),  # as of the last version at or before
    "city-gap-target": ("/cities/bengaluru?to=tokyo", 200),  # What it takes, another target
    "city-first": ("/cities/singapore", 200),  # What it takes: the first city leads
    "city-gap-unknown-target": ("/cities/seoul?to=atlantis", 404),
    "unknown-path": ("/no-such-page", 404),  # Flask's own not-found page
}
NOT_HTML = {"views.city_csv"}  # routes of the views blueprint that serve no HTML page


class AxeNotice(UserWarning):
    """A minor or moderate axe finding: listed, not failed."""


class Visit:
    """One page in a fresh browser context, with what it requested and logged."""

    def __init__(self, browser: Browser, base: str, path: str, viewport: dict[str, int]) -> None:
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.pending: set[Any] = set()
        self.hosts: set[str | None] = set()
        self.errors: list[tuple[str, str]] = []
        page = self.page
        page.on("request", self._request)
        page.on("requestfinished", lambda r: self.pending.discard(r))
        page.on("requestfailed", lambda r: self.pending.discard(r))
        page.on("pageerror", lambda e: self.errors.append((str(e), "")))
        page.on("console", lambda m: self.errors.append((m.text, m.location.get("url", "")))
                if m.type == "error" else None)
        response = page.goto(base + path)
        assert response is not None
        self.url = response.url
        self.status = response.status
        self.headers = response.headers
        page.wait_for_load_state("load")

    def unexpected_errors(self) -> list[tuple[str, str]]:
        """Return what the page logged as errors, less an error page's own status."""
        return [(text, url) for text, url in self.errors
                if not (text.startswith("Failed to load resource") and self.status >= 400
                        and (url == self.url or url.endswith("/favicon.ico")))]

    def _request(self, r: Any) -> None:
        if not r.url.startswith(("data:", "about:")):
            self.hosts.add(urlsplit(r.url).hostname)
        if STREAM not in r.url:
            self.pending.add(r)

    def settle(self) -> None:
        """Wait until the live scripts have run: stream live, data shown, no fetch in flight."""
        page = self.page
        if page.locator("#live-status").count():
            page.wait_for_selector("#live-status[data-state='live']", timeout=10_000)
        if page.locator("#ranking").count():
            page.wait_for_selector("html[data-ready]", state="attached", timeout=10_000)
        quiet = 0
        for _ in range(200):  # the open stream never finishes, so no "networkidle": our own
            quiet = quiet + 1 if not self.pending else 0
            if quiet >= 10:
                break
            page.wait_for_timeout(50)
        assert not self.pending, [r.url for r in self.pending]

    def close(self) -> None:
        self.context.close()


def scroll_regions(page: Page) -> list[dict[str, Any]]:
    """Describe every element that can scroll its overflow (not the page itself)."""
    return list(page.evaluate("""() => [...document.body.querySelectorAll('*')].filter(el => {
        const s = getComputedStyle(el);
        return ['auto', 'scroll'].includes(s.overflowX) || ['auto', 'scroll'].includes(s.overflowY);
      }).map(el => {
        const ids = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean);
        const named = ids.map(i => (document.getElementById(i) || {}).textContent || '').join(' ');
        return {html: el.outerHTML.slice(0, 120), tabindex: el.getAttribute('tabindex'),
                role: el.getAttribute('role'),
                name: ((el.getAttribute('aria-label') || '') + named).trim(),
                scrolls: el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight};
      })"""))


@pytest.fixture(scope="module")
def site(loaded_stack: tuple[Stack, str]) -> str:
    """The loaded stack's web address, with one city that has a profile and no score."""
    stack, token = loaded_stack
    resp = post(stack.ingest_url, token, [city(UNRANKED, "Unranked Town", country="GB",
                                               region="Europe")])
    assert resp.status_code == 202, resp.text
    stack.wait_idle(30)
    return stack.web_url


@pytest.mark.parametrize("width", list(VIEWPORTS))
@pytest.mark.parametrize("name", list(PAGES))
def test_page_has_no_serious_accessibility_violation(browser: Browser, site: str, name: str,
                                                     width: str) -> None:
    path, status = PAGES[name]
    visit = Visit(browser, site, path, VIEWPORTS[width])
    try:
        assert visit.status == status, (path, visit.status)
        if name != "unknown-path":  # Flask's own 404 is not one of our views
            assert visit.headers["content-security-policy"] == views.CSP
        visit.settle()
        # Content behind a disclosure is audited too: open every <details> first.
        visit.page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        findings = axe.audit(visit.page)
        where = f"{path} at {width} ({VIEWPORTS[width]['width']} px)"
        listed = [f for f in findings if not f.blocking]
        if listed:
            report = "\n".join(f.line() for f in listed)
            print(f"axe {axe.version(visit.page)} on {where}, not failing:\n{report}")
            warnings.warn(AxeNotice(f"axe on {where}:\n{report}"), stacklevel=1)
        blocking = [f for f in findings if f.blocking]
        assert not blocking, (f"axe {axe.version(visit.page)}: serious or critical on {where}:\n"
                              + "\n".join(f.details() for f in blocking))
        # Whatever the width, a scrolling region is reachable by keyboard and named.
        for region in scroll_regions(visit.page):
            assert region["tabindex"] == "0" and region["role"] == "region" and region["name"], (
                where, region)
        assert visit.hosts <= LOCAL_HOSTS, visit.hosts
        assert not visit.unexpected_errors(), visit.errors  # a CSP violation would show here
    finally:
        visit.close()


@pytest.mark.parametrize("path", ["/methodology", "/cities/seoul"])
def test_wide_tables_scroll_from_the_keyboard_on_a_phone(browser: Browser, site: str,
                                                         path: str) -> None:
    visit = Visit(browser, site, path, PHONE)
    try:
        visit.settle()
        page = visit.page
        wide = [r for r in scroll_regions(page) if r["scrolls"]]
        assert wide, f"nothing scrolls on {path} at {PHONE['width']} px"
        focused = None
        for _ in range(400):
            page.keyboard.press("Tab")
            focused = page.evaluate("""() => {
                const el = document.activeElement;
                return el && el.scrollWidth > el.clientWidth && el.getAttribute('role') === 'region'
                    ? {name: el.getAttribute('aria-labelledby'), outline: getComputedStyle(el).outlineStyle,
                       width: getComputedStyle(el).outlineWidth}
                    : null}""")
            if focused or page.evaluate("document.activeElement === document.body"):
                break
        assert focused, f"Tab never reached a scrolling table on {path}"
        assert focused["outline"] == "solid" and focused["width"] == "3px", focused  # visible focus
        assert page.evaluate("document.activeElement.scrollLeft") == 0
        page.keyboard.press("ArrowRight")
        # Polled from here: wait_for_function evaluates its predicate with eval(), which the
        # page's script-src 'self' rightly refuses.
        wait_for(lambda: page.evaluate("document.activeElement.scrollLeft") > 0, 2,
                 what="the focused table to scroll")
        assert not visit.unexpected_errors(), visit.errors
    finally:
        visit.close()


def test_every_html_route_is_audited() -> None:
    app = Flask(__name__)
    app.register_blueprint(views.bp)
    urls = app.url_map.bind("localhost")
    audited = set()
    for path, _ in PAGES.values():
        try:
            audited.add(urls.match(urlsplit(path).path, "GET")[0])
        except Exception:  # noqa: BLE001 - a path no view serves (the unknown-path page)
            continue
    routes = {r.endpoint for r in app.url_map.iter_rules()
              if r.endpoint.startswith("views.") and "GET" in (r.methods or ())}
    assert routes - audited - NOT_HTML == set(), "add these pages to PAGES in this file"

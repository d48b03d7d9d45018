"""Past moments and explanations on the pages, in a real browser on the whole stack: the date
control shows the ranking as it was, a city says in words what changed and links the data,
and a live row says why it just moved (issue "Explain every move and travel in time")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page

from shared.contract.methodology import load_methodology
from shared.store.feeds import FeedStore
from tests.e2e.test_browser import (
    ARTIFACTS,
    LATER,
    Session,
    api,
    row_text,
    screenshot,
    session,
    shown_ids,
    wait_live,
)
from tests.support.events import indicator, post
from tests.support.procs import Stack, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

__all__ = ["session"]  # the fixture, shared with test_browser.py

BEST = {"research.ai_papers": 20000, "research.citation_impact": 3,
        "research.ai_patents": 10000, "research.top_institutes": 10,
        "talent.ai_workforce_per_100k": 1500, "talent.ai_job_postings_per_100k": 300}


def scores(page: Page) -> dict[str, str]:
    """Return each shown row's score text."""
    return {c: row_text(page, c, "score") for c in shown_ids(page)}


def wait_ready(page: Page) -> None:
    """Wait until the ranking script has read its data."""
    page.wait_for_selector("html[data-ready]", state="attached", timeout=10_000)


def boost(stack: Stack, token: str, city_id: str) -> None:
    """Post the best research and talent values for a city and wait until it is scored."""
    resp = post(stack.ingest_url, token, [indicator(city_id, k, v, at=LATER)
                                          for k, v in BEST.items()])
    assert resp.status_code == 202, resp.text
    stack.wait_idle(30)


def test_the_date_control_shows_the_past_ranking(session: Session,
                                                 loaded_stack: tuple[Stack, str]) -> None:
    stack, token = loaded_stack
    page = session.open("/")
    wait_live(page)
    before = api(stack, "/api/v1/rankings")
    order, shown = shown_ids(page), scores(page)
    assert order == [i["city_id"] for i in before["items"]]
    # A moment after the captured ranking and before the change, to the second (UTC).
    moment = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    wait_for(lambda: datetime.now(UTC) >= moment + timedelta(seconds=1), 5, what="a second")
    target = before["items"][60]["city_id"]
    boost(stack, token, target)
    after = api(stack, "/api/v1/rankings")
    assert [i["city_id"] for i in after["items"]] != order
    wait_for(lambda: shown_ids(page) == [i["city_id"] for i in after["items"]], 10, 0.1,
             what="the live page to show the new order")

    streams_before = sum("/api/v1/stream" in u for u in session.requests)
    page.fill("#as-of-input", moment.strftime("%Y-%m-%dT%H:%M:%S"))
    page.click("#time-travel button[type=submit]")
    page.wait_for_url(lambda url: "as_of=" in url)
    wait_ready(page)
    assert parse_qs(urlsplit(page.url).query)["as_of"] == [moment.strftime("%Y-%m-%dT%H:%M:%S")]
    assert shown_ids(page) == order
    assert scores(page) == shown
    banner = page.locator("#past-banner").inner_text()
    assert "Ranking as of" in banner and f"version {before['ranking_version']}" in banner
    assert f"methodology {before['methodology_version']}" in banner
    assert page.locator("#live-status").count() == 0  # a past ranking does not go live
    page.screenshot(path=str(ARTIFACTS / "ranking-as-of.png"))  # the banner and control
    assert page.locator("#ranking-version").inner_text() == str(before["ranking_version"])
    # The downloads give the same past ranking.
    href = page.get_attribute("#dl-json", "href")
    assert href and "as_of=" in href
    assert [i["city_id"] for i in page.request.get(stack.web_url + href).json()["items"]] == order
    # Sorting the past ranking keeps the moment in the URL.
    page.select_option("#sort", "talent")
    assert "as_of=" in page.url and "sort=talent" in page.url
    assert sum("/api/v1/stream" in u for u in session.requests) == streams_before

    page.click("#back-to-live")
    page.wait_for_url(lambda url: "as_of" not in url)
    wait_live(page)
    assert shown_ids(page) == [i["city_id"] for i in api(stack, "/api/v1/rankings")["items"]]
    assert page.locator("#past-banner").count() == 0

    # Too old or malformed: the site's error page with the API's message, never a 500.
    old = session.open("/?as_of=2001-01-01T00:00:00")
    assert "before the oldest kept point" in old.locator("h1").inner_text()
    bad = session.open("/?as_of=yesterday-ish")
    assert bad.locator("h1").inner_text().startswith("as_of:")
    session.errors = [e for e in session.errors if "status of 40" not in e]


def test_the_city_page_says_what_changed_and_links_the_data(
        session: Session, loaded_stack: tuple[Stack, str]) -> None:
    stack, _ = loaded_stack
    city_id, code = "seoul", "research.ai_papers"
    name = load_methodology().indicator(code).name
    detail = api(stack, f"/api/v1/cities/{city_id}")
    version = detail["ranking_version"]
    feed = FeedStore(stack.redis.client()).create("seoul-open-data", [city_id])
    raw = detail["indicators"][code]["raw"]
    moved = round(raw * 0.8)  # a moderate revision: no review hold for a scoped feed
    resp = post(stack.ingest_url, feed, [indicator(city_id, code, moved, at=LATER)])
    assert resp.status_code == 202, resp.text
    stack.wait_idle(30)
    assert api(stack, f"/api/v1/cities/{city_id}")["indicators"][code]["raw"] == moved

    page = session.open(f"/cities/{city_id}?since={version}")
    wait_live(page)
    text = page.locator("#changed-text").inner_text()
    assert name in text and "seoul-open-data" in text, text
    assert f"{moved:,}" in text and f"{raw:,.0f}" in text, text
    assert "Seoul" in text and "research capability" in text.lower(), text
    # The sentence links the indicator row on the page and the explanation's JSON.
    row_link = page.locator(f"#changed-text a[href='#ind-{code}']")
    assert row_link.inner_text() == name
    assert page.locator(f"[id='ind-{code}']").count() == 1
    href = page.get_attribute("#changed-text a.data-link", "href")
    assert href and href.startswith(f"/api/v1/cities/{city_id}/explain?since={version}")
    explained = page.request.get(stack.web_url + href).json()
    assert explained["indicators"][0]["indicator"] == code
    assert explained["indicators"][0]["feed"] == "seoul-open-data"
    # The contribution tables, named by their captions.
    table = page.get_by_role("region", name="Indicator changes", exact=False)
    assert name in table.inner_text() and "seoul-open-data" in table.inner_text()
    assert page.get_by_role("region", name="Pillar contributions", exact=False).count() == 1
    # The history chart marks the point that moved, naming the change.
    marks = page.locator("svg#history-score circle.moved title").all_text_contents()
    assert any(name in m and "seoul-open-data" in m for m in marks), marks
    page.locator("#what-changed").screenshot(path=str(ARTIFACTS / "city-what-changed.png"))
    screenshot(page, "city-history-marked")
    # The since choices keep the page's other parameters.
    week = page.get_attribute("#city-since-nav a[data-since='7d']", "href")
    assert week == f"/cities/{city_id}?since=7d"
    page.click("#city-since-nav a[data-since='7d']")
    page.wait_for_url(lambda url: url.endswith("since=7d"))
    assert name in page.locator("#changed-indicators").inner_text()

    # A past profile: the banner, the way back, and the score it had then.
    past = session.open(f"/cities/{city_id}?as_of={version}")
    assert "Seoul as of" in past.locator("#past-banner").inner_text()
    assert past.locator("#keyfigs [data-f='score']").inner_text() == f"{detail['score']:.1f}"
    assert past.locator("#live-status").count() == 0
    assert past.get_attribute("#back-to-live", "href") == f"/cities/{city_id}"


def test_a_live_row_says_why_it_moved(session: Session, loaded_stack: tuple[Stack, str]) -> None:
    stack, token = loaded_stack
    now: dict[str, Any] = api(stack, "/api/v1/rankings")
    version = now["ranking_version"]
    target = now["items"][70]
    page = session.open(f"/?since={version}&region=")
    wait_live(page)
    wait_ready(page)
    # Since this version nobody has moved yet; rank then is on the cell.
    assert row_text(page, target["city_id"], "mv") == "–"
    cell = page.locator(f"#rows tr[data-city='{target['city_id']}'] [data-f='move']")
    assert cell.get_attribute("data-rank-then") == str(target["rank"])
    # The since choices keep the other parameters of the view.
    page.select_option("#sort", "talent")
    week = page.get_attribute("#since-nav a[data-since='7d']", "href") or ""
    assert parse_qs(urlsplit(week).query) == {"sort": ["talent"], "since": ["7d"]}
    page.select_option("#sort", "overall")

    boost(stack, token, target["city_id"])
    doc = api(stack, "/api/v1/rankings", since=version)
    item = next(i for i in doc["items"] if i["city_id"] == target["city_id"])
    assert item["change"]["move"] > 0
    why = page.locator(f"#rows tr[data-city='{target['city_id']}'] [data-f='why']")
    why.wait_for(state="visible", timeout=5000)
    text = why.inner_text()
    m = load_methodology()
    pillar_names = {p.name for p in m.pillars if p.code in ("research", "talent")}
    assert text.startswith("▲") and any(n in text for n in pillar_names), text
    assert "feed admin" in text and any(m.indicator(c).name in text for c in BEST), text
    assert text in (page.locator("#why-live").text_content() or "")  # announced politely
    assert page.get_attribute("#why-live", "aria-live") == "polite"
    wait_for(lambda: row_text(page, target["city_id"], "mv") == f"▲ {item['change']['move']}",
             5, 0.1, what="the move since the chosen version")
    assert cell.get_attribute("data-rank-then") == str(target["rank"])
    page.locator(f"#rows tr[data-city='{target['city_id']}']").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "ranking-why.png"))
    title = page.get_attribute(f"#rows tr[data-city='{target['city_id']}'] [data-f='mv']",
                               "title") or ""
    assert title.startswith("Score +"), title

    # The default Move column counts from the start of the UTC day, as the API does; when
    # nobody was ranked then (history began later today), from when the page was opened.
    today = api(stack, "/api/v1/rankings")["items"]
    fresh = session.open("/")
    wait_live(fresh)
    if any(i["change"]["rank_then"] is not None for i in today):
        for i in today[:30]:
            move = i["change"]["move"]
            expected = ("new" if i["change"]["rank_then"] is None else "–" if not move
                        else f"▲ {move}" if move > 0 else f"▼ {-move}")
            assert row_text(fresh, i["city_id"], "mv") == expected, i["city_id"]
    else:
        assert "since you opened this page" in fresh.locator("#move-since").inner_text()
        assert {row_text(fresh, i["city_id"], "mv") for i in today[:30]} == {"–"}

"""`aicity run --demo` (what `make demo` calls): a simulated contributor moves the live page.

The stack is started with tests/e2e/test_runner.py's Runner, as `make run` is; first
without --demo (no `demo` feed, no demo process), then again on the same data dir with
--demo, where a real Chromium watches the live ranking change without a reload and the
ingest API says the events came from the feed `demo`.
"""

from __future__ import annotations

import random
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser

from shared.cli.demo import DEMO, TOKEN_FILE, decimals_of, demo_token, retry_after, revise
from shared.contract.methodology import load_methodology
from shared.domain.scoring.normalise import normalise
from shared.store.feeds import FeedStore
from tests.e2e.test_runner import Runner, aicity
from tests.support.browser import DESKTOP, have_chromium
from tests.support.procs import RedisProc, wait_for


@contextmanager
def run_args(*extra: str) -> Iterator[None]:
    """While open, a Runner started here passes extra arguments to `aicity run`."""
    popen = subprocess.Popen

    def with_extra(argv: list[str], *args: Any, **kw: Any) -> Any:
        if argv[2:4] == ["shared.cli.main", "run"]:
            argv = [*argv, *extra]
        return popen(argv, *args, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(subprocess, "Popen", with_extra)
        yield


def stop(runner: Runner) -> None:
    code = runner.interrupt()
    assert code in (0, 130, -2), runner.output()[-2000:]


def feed_names(data: Path) -> list[str]:
    listed = aicity("feeds", "list", data_dir=data)
    assert listed.returncode == 0, listed.stderr
    return [line.split("\t")[0] for line in listed.stdout.splitlines()]


SCORES = """() => Object.fromEntries([...document.querySelectorAll('#rows tr')].map(tr =>
    [tr.dataset.city, tr.querySelector('[data-f=score]').textContent.trim()]))"""


@pytest.mark.e2e
@pytest.mark.browser
@pytest.mark.skipif(not have_chromium(), reason="Debian's chromium is not installed")
def test_demo_contributor_moves_the_live_page_as_feed_demo(browser: Browser,
                                                           tmp_path: Path) -> None:
    data = tmp_path / "var"
    plain = Runner(data)  # `make run`: no demo process, no demo feed
    try:
        wait_for(lambda: "READY" in plain.output(), 180, 0.2, what="runner READY")
        assert "admin" in feed_names(data) and DEMO not in feed_names(data)
        assert "demo started" not in plain.output() and "demo:" not in plain.output()
    finally:
        stop(plain)

    with run_args("--demo", "--demo-interval", "1"):
        runner = Runner(data)
    try:
        wait_for(lambda: "READY" in runner.output(), 180, 0.2, what="demo runner READY")
        web, ingest = runner.url("web"), runner.url("ingest")
        context = browser.new_context(
            viewport={"width": DESKTOP["width"], "height": DESKTOP["height"]})
        page = context.new_page()
        try:
            resp = page.goto(f"{web}/")
            assert resp is not None and resp.status == 200, runner.output()[-3000:]
            page.wait_for_selector("#live-status[data-state='live']", timeout=10_000)
            page.wait_for_selector("html[data-ready]", state="attached", timeout=10_000)
            page.evaluate("() => { window.__notReloaded = true; }")
            before: dict[str, str] = page.evaluate(SCORES)
            assert len(before) == 100
            page.wait_for_function(  # a row's score changes, without a reload
                """before => window.__notReloaded === true
                     && [...document.querySelectorAll('#rows tr')].some(tr =>
                          tr.dataset.city in before && before[tr.dataset.city]
                            !== tr.querySelector('[data-f=score]').textContent.trim())""",
                arg=before, timeout=30_000)
            after: dict[str, str] = page.evaluate(SCORES)
        finally:
            context.close()
        moved = sorted(c for c in before if c in after and after[c] != before[c])
        assert moved, (before, after)

        # The revisions came from the feed `demo`, through the ingest API.
        token = (data / TOKEN_FILE).read_text().strip()
        assert (data / TOKEN_FILE).stat().st_mode & 0o777 == 0o600
        auth = {"Authorization": f"Bearer {token}"}
        report = requests.get(f"{ingest}/v1/feed", headers=auth, timeout=10).json()
        assert report["feed"] == DEMO and report["cities"] and len(report["cities"]) == 100
        day = report["counts"]["last_24h"]
        assert day["accepted"] > 0 and day["held"] == 0 and day["rejected_total"] == 0, report
        assert report["last_accepted_at"]
        out = runner.output()
        assert "demo: posted" in out and "-> 202 (accepted" in out, out[-3000:]
        ours = []  # a moved city's winning indicator events that are the demo feed's own
        for city_id in moved:
            doc = requests.get(f"{web}/api/v1/cities/{city_id}", timeout=10).json()
            for info in doc["indicators"].values():
                if info.get("event_id") and not info.get("derived"):
                    status = requests.get(f"{ingest}/v1/events/{info['event_id']}", headers=auth,
                                          timeout=10)
                    if status.status_code == 200:  # a feed sees only its own events
                        ours.append((city_id, status.json()))
        assert ours, moved
        assert DEMO in feed_names(data)
    finally:
        stop(runner)
    wait_for(lambda: "demo: stopped" in runner.output(), 5, what="the demo stopped cleanly")


# ---------------------------------------------------------------- the contributor's pieces

@pytest.mark.integration
def test_demo_feed_is_reused_across_restarts_and_widened_for_new_cities(tmp_path: Path) -> None:
    redis_proc = RedisProc(tmp_path / "redis").start()
    try:
        client = redis_proc.client()
        feeds = FeedStore(client)
        first = demo_token(client, tmp_path, ["seoul", "tokyo"])
        assert demo_token(client, tmp_path, ["tokyo", "seoul"]) == first  # a restart reuses it
        assert demo_token(client, tmp_path, ["seoul"]) == first
        feed = feeds.authenticate(first)
        assert feed is not None and feed.name == DEMO and feed.cities == frozenset({"seoul", "tokyo"})
        wider = demo_token(client, tmp_path, ["seoul", "tokyo", "paris"])  # a new city
        assert wider != first and feeds.authenticate(first) is None
        assert [f.name for f in feeds.list()].count(DEMO) == 1
        assert (tmp_path / TOKEN_FILE).read_text().strip() == wider
        feeds.revoke(DEMO)  # revoked by an operator: created again on the next start
        again = demo_token(client, tmp_path, ["seoul"])
        assert again != wider and feeds.authenticate(again) is not None
    finally:
        redis_proc.kill()


def test_revisions_are_small_plausible_and_never_held_for_review() -> None:
    methodology = load_methodology()
    rng = random.Random(7)
    limit = methodology.review_jump_points
    for ind in methodology.indicators:
        if ind.derived is not None:
            continue
        assert ind.plausible_min is not None and ind.plausible_max is not None
        for raw in (ind.lo, ind.hi, (ind.lo + ind.hi) / 2, ind.plausible_min, ind.plausible_max,
                    *(rng.uniform(ind.lo, ind.hi) for _ in range(50))):
            value = revise(ind, raw, rng, limit)
            if value is None:
                continue
            assert ind.is_plausible(value) and value != raw and abs(value) >= abs(raw) / 2
            assert decimals_of(value) <= decimals_of(raw)  # a count stays whole
            unit = 10.0 ** -decimals_of(raw)
            assert abs(value - raw) <= max(0.08 * (abs(raw) or abs(ind.hi - ind.lo) * 0.05),
                                           unit) + unit / 2
            moved = abs(normalise(value, ind) - normalise(raw, ind))
            assert 0 < moved <= limit / 2, (ind.code, raw, value)
        mid = (ind.lo + ind.hi) / 2
        assert any(revise(ind, mid, rng, limit) is not None for _ in range(5)), ind.code


def test_retry_after_is_honoured_within_bounds() -> None:
    def answer(header: str | None) -> requests.Response:
        resp = requests.Response()
        resp.status_code = 429
        if header is not None:
            resp.headers["Retry-After"] = header
        return resp

    assert retry_after(answer("7"), 1.0) == 7.0
    assert retry_after(answer("0"), 1.0) == 1.0
    assert retry_after(answer(None), 3.0) == 3.0
    assert retry_after(answer("soon"), 2.0) == 2.0
    assert retry_after(answer("86400"), 1.0) == 300.0

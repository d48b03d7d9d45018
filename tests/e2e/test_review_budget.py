"""A scoped feed cannot walk its city up past the review, nor fill Redis with held events
(issue 18, findings 2 and 3): the whole stack as processes, over HTTP."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.contract.methodology import load_methodology
from shared.domain.scoring.normalise import denormalise, normalise
from shared.store.feeds import FeedStore
from tests.integration.test_pipeline import full_city
from tests.support.events import event, indicator, post
from tests.support.procs import REPO, Stack, wait_for

pytestmark = pytest.mark.e2e
M = load_methodology("2025.2")
LEVELS = {f"c{k:02d}": 0.1 + 0.08 * k for k in range(10)}  # c00 last ... c09 first


def _doc(stack: Stack, city_id: str) -> dict[str, Any]:
    return dict(requests.get(f"{stack.web_url}/api/v1/cities/{city_id}", timeout=10).json())


def _seeded(tmp_path: Path, **env: str) -> Stack:
    stack = Stack(tmp_path, extra_env=env).start(workers=1)
    events: list[dict[str, Any]] = []
    for c, level in LEVELS.items():
        events += full_city(c, level)
    assert post(stack.ingest_url, stack.admin_token(), events).status_code == 202
    stack.wait_idle(60)
    return stack


def _cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shared.cli.main", *args,
                           "--redis-url", stack.redis.url],
                          capture_output=True, text=True, cwd=REPO, timeout=120)


def _statuses(resp: requests.Response) -> list[str]:
    assert resp.status_code in (200, 202, 422), resp.text
    return [r["status"] for r in resp.json()["results"]]


def test_steps_under_the_jump_and_a_project_batch_cannot_walk_a_city_up(tmp_path: Path) -> None:
    stack = _seeded(tmp_path)
    try:
        start = _doc(stack, "c00")
        assert start["rank"] == 10
        token = FeedStore(stack.redis.client()).create("c00-feed", ["c00"])
        codes = list(M.observed_indicator_codes())
        points = {code: normalise(_doc(stack, "c00")["indicators"][code]["raw"],
                                  M.indicator(code)) for code in codes}
        held = 0
        t0 = time.monotonic()
        # Six batches, each moving every indicator just under review_jump_points further
        # than the last (the walk that took a city from rank 97 to rank 5 in 0.42 s).
        for step in range(1, 7):
            batch = []
            for code in codes:
                target = min(100.0, points[code] + step * (M.review_jump_points - 1) / 6)
                batch.append(indicator("c00", code, denormalise(target, M.indicator(code)),
                                       at=f"2025-06-0{step}T00:00:00Z"))
            statuses = _statuses(post(stack.ingest_url, token, batch))
            held += statuses.count("held")
        stack.wait_idle(30)
        after = _doc(stack, "c00")
        assert held > 0
        assert after["score"] - start["score"] <= M.review_score_points + 1e-9, \
            (start["score"], after["score"])
        assert after["rank"] >= 9, after["rank"]  # one or two places at most, not 10 -> 5
        print(f"step walk: {held} events held, score {start['score']:.2f} -> "
              f"{after['score']:.2f}, rank {start['rank']} -> {after['rank']} "
              f"in {time.monotonic() - t0:.2f} s")

        # Two posts 0.1 s apart: 15 -> 60 -> 100 on one indicator of another city.
        code = "talent.ai_graduates"
        feed2 = FeedStore(stack.redis.client()).create("c01-feed", ["c01"])
        fifteen = indicator("c01", code, denormalise(15.0, M.indicator(code)),
                            at="2025-05-30T00:00:00Z")
        assert post(stack.ingest_url, stack.admin_token("admin2"), [fifteen]).status_code == 202
        stack.wait_idle(30)
        first = indicator("c01", code, denormalise(60.0, M.indicator(code)),
                          at="2025-06-01T00:00:00Z")
        second = indicator("c01", code, denormalise(100.0, M.indicator(code)),
                           at="2025-06-01T00:00:01Z")
        assert _statuses(post(stack.ingest_url, feed2, [first])) == ["accepted"]
        time.sleep(0.1)
        assert _statuses(post(stack.ingest_url, feed2, [second])) == ["held"]

        # 400 project records in one batch (adoption 9.7 -> 100, rank 99 -> 28 before).
        projects = [event("project.upserted", "c00", {
            "project_id": f"walk-{k}", "name": f"Walk {k}", "organization": "Org",
            "sector": M.projects.sectors[k % len(M.projects.sectors)],
            "owner": ("public", "private")[k % 2], "stage": "scaled",
            "started_at": "2024-09-01", "deployed_at": "2025-03-01"}) for k in range(400)]
        before = _doc(stack, "c00")
        assert set(_statuses(post(stack.ingest_url, token, projects))) == {"held"}
        stack.wait_idle(30)
        now = _doc(stack, "c00")
        assert now["score"] == before["score"] and now["pillars"] == before["pillars"]
        status = requests.get(f"{stack.ingest_url}/v1/events/{projects[0]['event_id']}",
                              headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        assert status["status"] == "held" and status["type"] == "project.upserted"
        listed = _cli(stack, "review", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert sum('"rule": "score_budget"' in line or '"rule": "pillar_budget"' in line
                   for line in listed.stdout.splitlines()) >= 400

        # An operator releases the batch: applied, and the window restarts from there.
        released = _cli(stack, "review", "release", *[p["event_id"] for p in projects])
        assert released.returncode == 0, released.stderr[-2000:]
        wait_for(lambda: _doc(stack, "c00")["pillars"]["adoption"]["score"]
                 > before["pillars"]["adoption"]["score"], 30, what="the released batch scored")
        one_more = [event("project.upserted", "c00", {
            "project_id": "after-release", "name": "After", "organization": "Org",
            "sector": "health", "owner": "public", "stage": "pilot",
            "started_at": "2025-01-01", "deployed_at": None})]
        assert _statuses(post(stack.ingest_url, token, one_more)) == ["accepted"]
    finally:
        stack.stop()


def test_held_events_are_capped_per_feed_and_rejected_in_bulk(tmp_path: Path) -> None:
    stack = _seeded(tmp_path)
    try:
        client = stack.redis.client()
        token = FeedStore(client).create("flood-feed", ["c00", "c01"])
        gpu = M.indicator("infra.gpu_pflops")
        statuses: dict[str, int] = {}
        t0 = time.monotonic()
        for b in range(6):  # 3,000 would-be-held jumps: the cap (1,000) holds, the rest refused
            batch = [indicator(("c00", "c01")[k % 2], gpu.code, gpu.lo,
                               at=f"2025-06-01T00:{b:02d}:{k % 60:02d}Z") for k in range(500)]
            resp = post(stack.ingest_url, token, batch)
            assert resp.status_code in (202, 422), resp.text
            for r in resp.json()["results"]:
                statuses[r["status"]] = statuses.get(r["status"], 0) + 1
                if r["status"] == "rejected":
                    assert "already has 1000 events held" in r["errors"]["event_id"][0]
        assert statuses == {"held": 1000, "rejected": 2000}, statuses
        assert client.zcard("aicity:held:since") == 1000
        held_bytes = int(client.memory_usage("aicity:held") or 0)
        assert held_bytes < 2_000_000, held_bytes  # the cap bounds what one feed can hold
        report = requests.get(f"{stack.ingest_url}/v1/feed", timeout=10,
                              headers={"Authorization": f"Bearer {token}"}).json()
        assert report["counts"]["all_time"]["held"] == 1000
        assert report["counts"]["all_time"]["rejected"]["review"] == 2000
        # Another feed is not affected by this one's cap.
        other = FeedStore(client).create("other-feed", ["c02"])
        jump = indicator("c02", gpu.code, gpu.lo, at="2025-06-02T00:00:00Z")
        assert _statuses(post(stack.ingest_url, other, [jump])) == ["held"]
        print(f"held flood: {statuses} in {time.monotonic() - t0:.2f} s; held hash "
              f"{held_bytes / 1e6:.2f} MB for 1,000 events")

        # Bulk rejection: one city's first, then the rest of the feed's, in seconds.
        t1 = time.monotonic()
        done = _cli(stack, "review", "reject", "--feed", "flood-feed", "--city", "c01",
                    "--reason", "flood")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "rejected 500 held event(s) of feed flood-feed"
        young = _cli(stack, "review", "reject", "--feed", "flood-feed", "--older-than", "1d",
                     "--reason", "flood")
        assert young.stdout.strip() == "rejected 0 held event(s) of feed flood-feed"
        rest = _cli(stack, "review", "reject", "--feed", "flood-feed", "--reason", "flood")
        assert rest.stdout.strip() == "rejected 500 held event(s) of feed flood-feed"
        bulk_s = time.monotonic() - t1
        assert client.zcard("aicity:held:since") == 1  # the other feed's event stays held
        print(f"bulk reject of 1,000 held events: {bulk_s:.2f} s (three CLI runs)")
        # With room under the cap again, the feed's next jump is held, not refused.
        again = indicator("c00", gpu.code, gpu.lo, at="2025-06-03T00:00:00Z")
        assert _statuses(post(stack.ingest_url, token, [again])) == ["held"]
    finally:
        stack.stop()

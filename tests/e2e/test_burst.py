"""1,000 simultaneous connections cannot make ingest answer 500 (issue 18, finding 4).

The whole stack as processes. Most of the burst carries bogus tokens (one token sent
again and again, and fresh random ones that no cache can know); among them a legitimate
feed posts 100 real events. Nothing answers 500; each legitimate event is stored (202) or
refused for now with 503/429 and a Retry-After, and stored when resent after it; /readyz
stays ready all along.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import requests

from shared.store.feeds import FeedStore
from tests.integration.test_pipeline import full_city
from tests.support.events import indicator, post
from tests.support.httpload import Answer, burst
from tests.support.procs import Stack, wait_for

pytestmark = pytest.mark.e2e

CONNECTIONS = 1000
LEGIT = 100
CITIES = ("burst-a", "burst-b", "burst-c", "burst-d")


def _request(token: str, body: object) -> tuple[str, str, dict[str, str], bytes]:
    return ("POST", "/v1/events", {"Authorization": f"Bearer {token}",
                                   "Content-Type": "application/json"},
            json.dumps(body).encode())


def _poll_ready(url: str, stop: threading.Event, seen: Counter[int]) -> None:
    while not stop.is_set():
        try:
            seen[requests.get(f"{url}/readyz", timeout=10).status_code] += 1
        except requests.RequestException:
            seen[0] += 1
        time.sleep(0.05)


def test_a_burst_of_connections_gets_no_500_and_loses_no_legitimate_event(
        tmp_path: Path) -> None:
    stack = Stack(tmp_path).start(workers=1)
    try:
        seed = [e for c in CITIES for e in full_city(c)]
        assert post(stack.ingest_url, stack.admin_token(), seed).status_code == 202
        stack.wait_idle(60)
        token = FeedStore(stack.redis.client()).create("legit", list(CITIES))
        legit = [indicator(CITIES[k % len(CITIES)], "infra.datacenter_mw", 100 + k,
                           at=f"2025-06-01T00:{k // 60:02d}:{k % 60:02d}Z")
                 for k in range(LEGIT)]
        reqs = [_request(token, e) for e in legit]
        bogus = legit[0]
        reqs += [_request("aci_bogus-token" if n % 2 else f"aci_{uuid.uuid4().hex}", bogus)
                 for n in range(CONNECTIONS - LEGIT)]
        order = list(range(CONNECTIONS))
        random.Random(18).shuffle(order)  # legitimate posts spread through the burst

        ready: Counter[int] = Counter()
        stop = threading.Event()
        poller = threading.Thread(target=_poll_ready, args=(stack.ingest_url, stop, ready))
        poller.start()
        try:
            shuffled = asyncio.run(burst(stack.ingest_url, [reqs[i] for i in order], 90))
        finally:
            stop.set()
            poller.join(30)
        answers: list[Answer] = [Answer()] * CONNECTIONS
        for position, i in enumerate(order):
            answers[i] = shuffled[position]

        statuses = Counter(a.status for a in answers)
        print(f"burst statuses {dict(statuses)}; /readyz during it {dict(ready)}")
        assert 500 not in statuses and all(a.status for a in answers), (
            statuses, [a.error for a in answers if not a.status][:3])
        assert all(a.status == 401 for a in answers[LEGIT:]), statuses
        assert ready and set(ready) == {200}, ready
        retry = []
        for event, answer in zip(legit, answers[:LEGIT]):
            if answer.status == 202:
                continue
            assert answer.status in (429, 503), (answer.status, answer.body[:300])
            assert answer.headers.get("retry-after", "").isdigit(), answer.headers
            retry.append((event, int(answer.headers["retry-after"])))
        # What was refused for now is stored when sent again after its Retry-After.
        if retry:
            time.sleep(max(wait for _, wait in retry))
        for event, _ in retry:
            resp = wait_for(lambda e=event: (r := requests.post(  # type: ignore[misc]
                f"{stack.ingest_url}/v1/events", json=e, timeout=30,
                headers={"Authorization": f"Bearer {token}"})).status_code == 202 and r,
                60, 1.0, what="a refused event accepted when resent")
            assert resp.json()["accepted"] == 1
        for event in legit:
            got = requests.get(f"{stack.ingest_url}/v1/events/{event['event_id']}", timeout=10,
                               headers={"Authorization": f"Bearer {token}"})
            assert got.status_code == 200, got.text
        print(f"legitimate events: {LEGIT - len(retry)} stored at once, {len(retry)} after "
              "their Retry-After")
    finally:
        stack.stop()

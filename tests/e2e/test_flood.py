"""One feed floods the ingest API as fast as it can: it is throttled, everyone else is served.

The whole stack as processes (gunicorn ingest and web, a Celery worker, beat, Redis).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.store.feeds import FeedStore
from tests.integration.test_pipeline import full_city
from tests.support.events import event, indicator, post_ndjson
from tests.support.procs import Stack, wait_for

pytestmark = pytest.mark.e2e


def _raw(stack: Stack, city_id: str, code: str) -> Any:
    doc = requests.get(f"{stack.web_url}/api/v1/cities/{city_id}", timeout=5).json()
    return ((doc.get("indicators") or {}).get(code) or {}).get("raw")


def test_a_flooding_feed_cannot_delay_another_citys_change(tmp_path: Path) -> None:
    stack = Stack(tmp_path).start(workers=1)
    try:
        admin = stack.admin_token()
        seed = full_city("flooded") + full_city("quiet")
        assert post_ndjson(stack.ingest_url, admin, seed).status_code == 202
        wait_for(lambda: _raw(stack, "quiet", "infra.datacenter_mw") is not None, 30)
        feeds = FeedStore(stack.redis.client())
        flood_token = feeds.create("flooder", ["flooded"])
        quiet_token = feeds.create("quiet-feed", ["quiet"])
        statuses: Counter[int] = Counter()
        retry_after: set[str] = set()
        stop = threading.Event()

        def flood() -> None:
            session = requests.Session()
            n = 0
            while not stop.is_set():
                batch = []
                for _ in range(1000):
                    n += 1
                    if n % 10 == 0:  # removals of projects the city never had: refused
                        batch.append(event("project.removed", "flooded",
                                           {"project_id": f"ghost-{uuid.uuid4().hex}"}))
                    else:
                        batch.append(event("project.upserted", "flooded", {
                            "project_id": f"f-{n}", "name": "Flood", "organization": "F",
                            "sector": "health", "owner": "private", "stage": "deployed",
                            "started_at": "2024-01-01", "deployed_at": "2024-06-01"}))
                resp = post_ndjson_session(session, stack.ingest_url, flood_token, batch)
                statuses[resp.status_code] += 1
                if resp.status_code == 429:
                    retry_after.add(resp.headers.get("Retry-After", ""))

        flooders = [threading.Thread(target=flood) for _ in range(3)]
        for t in flooders:
            t.start()
        lags = []
        try:
            time.sleep(2)  # the flood is on
            for k in range(8):
                value = 1000 + k
                change = indicator("quiet", "infra.datacenter_mw", value,
                                   at=f"2025-06-01T00:00:{k:02d}Z")
                sent = time.monotonic()
                resp = requests.post(f"{stack.ingest_url}/v1/events", json=change, timeout=10,
                                     headers={"Authorization": f"Bearer {quiet_token}"})
                assert resp.status_code == 202, resp.text
                wait_for(lambda v=value: _raw(stack, "quiet", "infra.datacenter_mw") == v,  # type: ignore[misc]
                         10, interval=0.01)
                lags.append(time.monotonic() - sent)
                time.sleep(0.5)
        finally:
            stop.set()
            for t in flooders:
                t.join(30)
        assert max(lags) < 1.0, lags
        assert statuses[429] > 0 and statuses[202] > 0, statuses
        # 422 once the city holds its limit of projects (every item refused); never a 500
        assert statuses.keys() <= {202, 422, 429}, statuses
        assert all(r.isdigit() and int(r) >= 1 for r in retry_after), retry_after
        print(f"flood statuses {dict(statuses)}; other city's change visible after "
              f"{', '.join(f'{lag * 1000:.0f}' for lag in lags)} ms")
    finally:
        stack.stop()


def post_ndjson_session(session: requests.Session, url: str, token: str,
                        events: list[dict[str, Any]]) -> requests.Response:
    """POST NDJSON on a kept-alive session (a flooder does not reconnect each time)."""
    body = "\n".join(json.dumps(e) for e in events).encode()
    return session.post(f"{url}/v1/events", data=body, timeout=60, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"})


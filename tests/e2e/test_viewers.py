"""Serving the public at scale, on the real stack: many live viewers, slow clients, the
viewer cap, releasing gone viewers, and HTTP revalidation (ETag / 304)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.events import city, indicator, post
from tests.support.httpload import KeepAliveClient, Viewer, slow_body, slow_headers, watch
from tests.support.procs import Stack, wait_for

pytestmark = pytest.mark.e2e
CITIES = ("alpha", "beta", "gamma")


class Crowd:
    """n SSE viewers held by an asyncio loop in a background thread."""

    def __init__(self, url: str, n: int, headers: dict[str, str] | None = None) -> None:
        self.viewers = [Viewer() for _ in range(n)]
        self.loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._url, self._headers = url, headers
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> Crowd:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(30)
        return self

    async def _start(self) -> None:
        self._stop = asyncio.Event()
        self._tasks = [asyncio.create_task(watch(self._url, "/api/v1/stream", v, self._stop,
                                                 self._headers)) for v in self.viewers]

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection and stop the loop."""
        if self._stop is None:
            return

        async def stop() -> None:
            assert self._stop is not None
            self._stop.set()
            await asyncio.gather(*self._tasks)

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(60)
        self._stop = None
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def snapshots(self) -> int:
        """Return how many viewers have their first event."""
        return sum(1 for v in self.viewers if v.events)


def sse_clients(stack: Stack) -> float:
    """Return the web's aicity_web_sse_clients gauge (summed over its workers)."""
    text = requests.get(f"{stack.web_url}/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("aicity_web_sse_clients"))


def full_city(city_id: str, level: float) -> list[dict[str, Any]]:
    """Events giving a city every indicator at `level` between goalposts."""
    from shared.contract.methodology import load_methodology

    m = load_methodology()
    return [city(city_id)] + [
        indicator(city_id, code, m.indicator(code).lo
                  + (m.indicator(code).hi - m.indicator(code).lo) * level)
        for code in m.observed_indicator_codes()]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    """A stack with three ranked cities and an admin token."""
    s = Stack(tmp_path_factory.mktemp("viewers")).start(workers=1)
    try:
        token = s.admin_token()
        events = [e for i, c in enumerate(CITIES) for e in full_city(c, 0.3 + 0.2 * i)]
        assert post(s.ingest_url, token, events).status_code == 202
        s.wait_idle(60)
        yield s, token
    finally:
        s.stop()


def ranking_version(stack: Stack) -> int:
    return int(requests.get(f"{stack.web_url}/api/v1/rankings", timeout=10).json()[
        "ranking_version"])


_bump = iter(range(1, 10_000))


def post_change(stack: Stack, token: str) -> None:
    """Post an update that moves alpha's score (a later observation each time)."""
    k = next(_bump)
    resp = post(stack.ingest_url, token, indicator(
        "alpha", "research.ai_papers", 1000.0 * (1 + k % 15),  # goalposts 0-20,000
        at=f"2025-06-01T00:{k // 60:02d}:{k % 60:02d}Z"))
    assert resp.status_code == 202, resp.text


def test_500_viewers_each_get_a_change_while_the_api_keeps_answering(
        small: tuple[Stack, str]) -> None:
    stack, token = small
    with Crowd(stack.web_url, 500) as crowd:
        wait_for(lambda: crowd.snapshots() == 500, 60, 0.2, what="500 snapshots")
        assert all(v.status == 200 and v.events[0][0] == "snapshot" for v in crowd.viewers)
        assert sse_clients(stack) == 500
        api = KeepAliveClient(stack.web_url)
        slowest = 0.0
        for _ in range(20):
            t = time.perf_counter()
            status, _, _ = api.get("/api/v1/rankings?limit=100")
            slowest = max(slowest, time.perf_counter() - t)
            assert status == 200
        assert slowest < 1.0, slowest
        before = ranking_version(stack)
        post_change(stack, token)
        wait_for(lambda: all(any(v >= before + 1 for v in x.versions()) for x in crowd.viewers),
                 20, 0.2, what="the change on every viewer")
        t = time.perf_counter()
        assert api.get("/api/v1/rankings?limit=100")[0] == 200
        assert time.perf_counter() - t < 1.0
    assert not [v.error for v in crowd.viewers if v.error]


def test_closed_viewers_are_released_within_20_seconds(small: tuple[Stack, str]) -> None:
    stack, _ = small
    wait_for(lambda: sse_clients(stack) == 0, 30, 0.25, what="earlier viewers released")
    with Crowd(stack.web_url, 50) as crowd:
        wait_for(lambda: crowd.snapshots() == 50, 30, 0.1, what="50 snapshots")
        assert sse_clients(stack) == 50
    closed = time.monotonic()
    wait_for(lambda: sse_clients(stack) == 0, 20, 0.25, what="viewers released")
    assert time.monotonic() - closed < 20


def test_a_viewer_resuming_with_last_event_id_gets_what_it_missed(
        small: tuple[Stack, str]) -> None:
    stack, token = small
    with Crowd(stack.web_url, 1) as crowd:
        wait_for(lambda: crowd.snapshots() == 1, 10, 0.1, what="snapshot")
        last = crowd.viewers[0].events[0][1]
    versions = []
    for _ in range(3):
        before = ranking_version(stack)
        post_change(stack, token)
        wait_for(lambda b=before: ranking_version(stack) > b, 20, 0.1, what="the change")  # type: ignore[misc]
        versions.append(ranking_version(stack))
    with Crowd(stack.web_url, 1, {"Last-Event-ID": last}) as resumed:
        wait_for(lambda: len(resumed.viewers[0].versions()) >= 3, 10, 0.1, what="the gap")
        got = sorted(resumed.viewers[0].versions())
    assert got[-3:] == versions and all(e[0] == "change" for e in resumed.viewers[0].events)


def test_slow_clients_cannot_stop_either_service(small: tuple[Stack, str]) -> None:
    stack, token = small
    outcomes: list[str] = []

    async def crowd(stop: asyncio.Event) -> None:
        auth = {"Authorization": f"Bearer {token}"}
        jobs = []
        for i in range(200):
            url = (stack.ingest_url, stack.web_url)[i % 2]
            jobs.append(slow_headers(url, stop) if i % 4 < 2 else
                        slow_body(url, "/v1/events", stop, headers=auth))
        outcomes.extend(await asyncio.gather(*jobs))

    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    runner = threading.Thread(target=loop.run_until_complete, args=(crowd(stop),), daemon=True)
    runner.start()
    try:
        time.sleep(1.0)  # every slow client is connected and trickling
        for _ in range(3):
            for url, method, path, ok in (
                    (stack.web_url, "GET", "/healthz", 200),
                    (stack.ingest_url, "GET", "/healthz", 200),
                    (stack.web_url, "GET", "/api/v1/rankings?limit=100", 200),
                    (stack.ingest_url, "POST", "/v1/events", 202)):
                body = b""
                headers = None
                if method == "POST":
                    import json

                    headers = {"Authorization": f"Bearer {token}",
                               "Content-Type": "application/x-ndjson"}
                    body = "\n".join(json.dumps(indicator(c, "research.ai_papers", 50 + n))
                                     for n in range(167) for c in CITIES).encode()
                client = KeepAliveClient(url, timeout=5)
                t = time.perf_counter()
                status, _, _ = client.request(method, path, headers, body)
                elapsed = time.perf_counter() - t
                client.close()
                assert status == ok and elapsed < 2.0, (path, status, elapsed)
            time.sleep(0.5)
    finally:
        loop.call_soon_threadsafe(stop.set)
        runner.join(30)
    assert len(outcomes) == 200


def test_slow_header_clients_are_hung_up_on(small: tuple[Stack, str]) -> None:
    stack, _ = small

    async def one() -> tuple[str, float]:
        stop = asyncio.Event()
        t = time.monotonic()
        task = asyncio.ensure_future(slow_headers(stack.web_url, stop, every=0.5))
        done, _ = await asyncio.wait({task}, timeout=15)
        stop.set()
        return (await task), time.monotonic() - t

    result, seconds = asyncio.run(one())
    assert result == "closed by server" and seconds < 10, (result, seconds)


def test_reads_carry_etags_and_revalidate_with_304(small: tuple[Stack, str]) -> None:
    stack, token = small
    paths = ["/api/v1/rankings", "/api/v1/rankings.csv", "/api/v1/cities/alpha",
             "/api/v1/methodology", "/", "/cities/alpha", "/methodology"]
    first = {p: requests.get(f"{stack.web_url}{p}", timeout=10) for p in paths}
    for path, resp in first.items():
        assert resp.status_code == 200, path
        tag = resp.headers["ETag"]
        assert "public" in resp.headers["Cache-Control"] and "max-age" in resp.headers[
            "Cache-Control"], path
        again = requests.get(f"{stack.web_url}{path}", headers={"If-None-Match": tag}, timeout=10)
        assert again.status_code == 304 and again.content == b"", path
        assert again.headers["ETag"] == tag
    version = first["/api/v1/rankings"].json()["ranking_version"]
    assert str(version) in first["/api/v1/rankings"].headers["ETag"]
    before = ranking_version(stack)
    post_change(stack, token)
    wait_for(lambda: ranking_version(stack) > before, 20, 0.1, what="the change")
    for path in paths:
        resp = requests.get(f"{stack.web_url}{path}",
                            headers={"If-None-Match": first[path].headers["ETag"]}, timeout=10)
        moved = "methodology" not in path
        assert resp.status_code == (200 if moved else 304), path
    missing = requests.get(f"{stack.web_url}/api/v1/cities/nowhere", timeout=10)
    assert missing.status_code == 404 and "ETag" not in missing.headers


def test_past_the_viewer_cap_streams_get_503_and_other_routes_still_answer(
        tmp_path: Path) -> None:
    stack = Stack(tmp_path, http_workers=1, extra_env={"AICITY_SSE_MAX_VIEWERS": "5"})
    stack.start(workers=1, beat=False)
    try:
        with Crowd(stack.web_url, 5) as crowd:
            wait_for(lambda: crowd.snapshots() == 5, 20, 0.1, what="5 viewers")
            resp = requests.get(f"{stack.web_url}/api/v1/stream", timeout=10)
            assert resp.status_code == 503
            assert int(resp.headers["Retry-After"]) > 0
            assert "viewers" in resp.json()["error"]
            assert requests.get(f"{stack.web_url}/api/v1/rankings", timeout=5).status_code == 200
            assert requests.get(f"{stack.web_url}/healthz", timeout=5).status_code == 200
        wait_for(lambda: sse_clients(stack) == 0, 20, 0.25, what="the places freed")
        with Crowd(stack.web_url, 1) as again:
            wait_for(lambda: again.snapshots() == 1, 10, 0.1, what="a viewer after the others")
            assert again.viewers[0].status == 200
    finally:
        stack.stop()

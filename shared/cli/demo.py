"""`aicity demo`: a simulated contributor, so a newcomer sees the live ranking move.

Started by `aicity run --demo` (`make demo`) as one more process; also runs on its own
beside `make run`. It waits until the web API lists cities, creates (or reuses, across
restarts: its token is kept in <data-dir>/demo-token, mode 600) a scoped feed named `demo`
for those cities with the same FeedStore `aicity feeds create` uses, then every --interval
seconds posts 1-3 `indicator.observed` revisions for random cities through the real ingest
API with that feed's token, and prints one line per batch saying what it posted.

A revision reads the city's current raw value of one observed (non-derived) indicator from
`GET /api/v1/cities/<id>` and moves it by 2-8 %, kept inside the indicator's plausible
range and well under the methodology's review_jump_points (a larger jump from a scoped
feed would be held for review). A 429/503 is honoured (Retry-After), an unreachable
service retried later; SIGINT/SIGTERM stop it cleanly.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import signal
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import requests

from shared.cli.common import client_from, data_dir_from, default_data_dir, settings_from
from shared.contract.methodology import Indicator, Methodology, MethodologyError, load_methodology
from shared.domain.scoring.normalise import normalise
from shared.store.connection import Client
from shared.store.feeds import FeedStore

DEMO = "demo"
TOKEN_FILE = "demo-token"
MIN_STEP, MAX_STEP = 0.02, 0.08  # a revision moves a raw value by 2-8 %
JUMP_SHARE = 0.5  # stay under this share of review_jump_points (normalised points)
MAX_WAIT = 300.0  # never sleep longer than this on a Retry-After
TIMEOUT = 5.0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the demo command."""
    p = sub.add_parser("demo", help="simulate a contributor: post plausible revisions for random "
                                    "cities every few seconds (what `aicity run --demo` starts)")
    p.add_argument("--ingest-url", default="http://127.0.0.1:8001")
    p.add_argument("--web-url", default="http://127.0.0.1:8000")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="where the demo feed's token is kept (default $AICITY_DATA_DIR, else "
                        "the last `aicity run`'s data dir, else var/ in this checkout)")
    p.add_argument("--interval", type=positive_seconds, default=3.0,
                   help="seconds between batches (default 3)")
    p.add_argument("--seed", type=int, default=None, help="seed the random choices")
    p.add_argument("--redis-url", default=None)
    p.set_defaults(func=run)


def positive_seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def log(message: str) -> None:
    """Print one line of the demo's log."""
    print(message, flush=True)


def demo_token(client: Client, data_dir: Path, cities: list[str]) -> str:
    """Return the demo feed's token, (re)creating the feed when needed.

    The token kept in data_dir is reused while it still authenticates as the `demo` feed and
    that feed may write every city in cities; otherwise the feed is revoked and created anew
    for cities (the same FeedStore.create as `aicity feeds create demo --cities ...`).
    """
    path = data_dir / TOKEN_FILE
    feeds = FeedStore(client)
    if path.is_file():
        token = path.read_text(encoding="utf-8").strip()
        feed = feeds.authenticate(token) if token else None
        if (feed is not None and feed.name == DEMO and feed.cities is not None
                and set(cities) <= feed.cities):
            return token
    feeds.revoke(DEMO)
    token = feeds.create(DEMO, sorted(set(cities)))
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    path.chmod(0o600)
    log(f"demo: feed {DEMO!r} created for {len(set(cities))} cities (token in {path})")
    return token


def decimals_of(value: float) -> int:
    """Return how many decimals a reported value has (0 for a count), at most 4."""
    text = repr(float(value))
    if "e" in text or "n" in text:
        return 4
    return min(4, len(text.partition(".")[2].rstrip("0")))


def revise(indicator: Indicator, raw: float, rng: random.Random, jump_points: float
           ) -> float | None:
    """Return raw moved by 2-8 % up or down, plausible, and a modest normalised move.

    The value keeps raw's precision (a count stays whole), so it moves by at least one unit
    of raw's last decimal. None if no such value exists (e.g. the value sits on a goalpost
    and cannot move the normalised score, or the range leaves no room).
    """
    before = normalise(raw, indicator)
    limit = jump_points * JUMP_SHARE
    base = abs(raw) or abs(indicator.hi - indicator.lo) * 0.05 or 1.0
    places = decimals_of(raw)
    unit = 10.0 ** -places
    step = rng.uniform(MIN_STEP, MAX_STEP)
    low, high = indicator.plausible_min, indicator.plausible_max
    for sign in rng.sample((1, -1), 2):
        for shrink in (1.0, 0.5, 0.25):
            delta = sign * max(step * shrink * base, unit)
            value = round(raw + delta, places)
            if low is not None:
                value = max(value, low)
            if high is not None:
                value = min(value, high)
            if value == raw or not indicator.is_plausible(value) or abs(value) < abs(raw) / 2:
                continue  # (a small count may grow by one, not halve)
            moved = abs(normalise(value, indicator) - before)
            if 0 < moved <= limit:
                return value
    return None


@dataclass(frozen=True)
class Revision:
    city_id: str
    indicator: str
    before: float
    after: float

    def event(self, now: dt.datetime) -> dict[str, Any]:
        """Return the indicator.observed event (fresh id, occurred now)."""
        return {"event_id": str(uuid.uuid4()), "type": "indicator.observed",
                "city_id": self.city_id,
                "occurred_at": now.isoformat(timespec="milliseconds"),
                "data": {"indicator": self.indicator, "value": self.after}}

    def describe(self) -> str:
        change = (self.after - self.before) / abs(self.before) * 100 if self.before else 0.0
        return f"{self.city_id} {self.indicator} {self.before:g} -> {self.after:g} ({change:+.1f}%)"


def pick_revision(city_id: str, doc: dict[str, Any], methodology: Methodology,
                  rng: random.Random) -> Revision | None:
    """Choose one observed indicator of the city's document and revise it, or None."""
    codes = [code for code, info in (doc.get("indicators") or {}).items()
             if methodology.has_indicator(code) and methodology.indicator(code).derived is None
             and not info.get("derived") and isinstance(info.get("raw"), (int, float))]
    rng.shuffle(codes)
    for code in codes:
        raw = float(doc["indicators"][code]["raw"])
        value = revise(methodology.indicator(code), raw, rng, methodology.review_jump_points)
        if value is not None:
            return Revision(city_id, code, raw, value)
    return None


def retry_after(resp: requests.Response, default: float) -> float:
    """Return the seconds a 429/503 asks us to wait (Retry-After), at least default."""
    try:
        asked = float(resp.headers.get("Retry-After", ""))
    except ValueError:
        asked = default
    return min(MAX_WAIT, max(default, asked))


class Contributor:
    """The demo contributor's state: the feed token, the methodology, the HTTP session."""

    def __init__(self, args: argparse.Namespace, stop: threading.Event) -> None:
        self.args = args
        self.stop = stop
        self.ingest = args.ingest_url.rstrip("/")
        self.web = args.web_url.rstrip("/")
        self.data_dir: Path = (data_dir_from(args)[0] or default_data_dir()).resolve()
        self.rng = random.Random(args.seed)
        self.session = requests.Session()
        self.token: str | None = None
        self.scope: set[str] = set()
        self.methodologies: dict[str, Methodology] = {}
        self.default_methodology = settings_from(args).methodology

    def methodology(self, version: str | None) -> Methodology:
        """Return the methodology a city was scored with (the configured one by default)."""
        key = version or self.default_methodology
        if key not in self.methodologies:
            try:
                self.methodologies[key] = load_methodology(key)
            except MethodologyError:
                self.methodologies[key] = load_methodology(self.default_methodology)
        return self.methodologies[key]

    def cities(self) -> list[str]:
        """Return the ids of the cities the web API ranks now."""
        resp = self.session.get(f"{self.web}/api/v1/rankings", timeout=TIMEOUT)
        resp.raise_for_status()
        return [str(i["city_id"]) for i in resp.json().get("items", [])]

    def wait_for_cities(self) -> list[str]:
        """Wait until the web API lists cities and their number holds still (a load is over)."""
        log(f"demo: waiting for the web API ({self.web}) to list cities ...")
        previous: list[str] = []
        while not self.stop.is_set():
            try:
                found = self.cities()
            except (requests.RequestException, ValueError):
                found = []
            if found and len(found) == len(previous):
                return found
            previous = found
            self.stop.wait(2.0)
        return []

    def ensure_feed(self, cities: list[str]) -> None:
        """Make sure we hold a token of the demo feed scoped to (at least) cities."""
        if self.token is None or not set(cities) <= self.scope:
            self.token = demo_token(client_from(self.args), self.data_dir, cities)
            self.scope = set(cities)

    def batch(self, cities: list[str]) -> tuple[list[Revision], list[str]]:
        """Choose 1-3 random cities and a revision of one indicator of each.

        Return the revisions and, for the cities left out, why.
        """
        out, problems = [], []
        for city_id in self.rng.sample(cities, min(len(cities), self.rng.randint(1, 3))):
            try:
                resp = self.session.get(f"{self.web}/api/v1/cities/{city_id}", timeout=TIMEOUT)
                doc = resp.json() if resp.status_code == 200 else None
            except (requests.RequestException, ValueError) as exc:
                problems.append(f"{city_id}: {type(exc).__name__}")
                continue
            if not isinstance(doc, dict):
                problems.append(f"{city_id}: web API answered {resp.status_code}")
                continue
            revision = pick_revision(city_id, doc, self.methodology(doc.get("methodology_version")),
                                     self.rng)
            if revision is None:
                problems.append(f"{city_id}: no indicator to revise")
            else:
                out.append(revision)
        return out, problems

    def post(self, revisions: list[Revision]) -> float:
        """Post one batch; log it; return the seconds to wait before the next one."""
        interval = float(self.args.interval)
        now = dt.datetime.now(dt.UTC)
        events = [r.event(now) for r in revisions]
        what = "; ".join(r.describe() for r in revisions)
        resp = self.session.post(f"{self.ingest}/v1/events", json=events, timeout=TIMEOUT,
                                 headers={"Authorization": f"Bearer {self.token}"})
        if resp.status_code in (429, 503):
            wait = retry_after(resp, interval)
            log(f"demo: ingest answered {resp.status_code}; retrying in {wait:g} s")
            return wait
        if resp.status_code in (401, 403):  # the feed was revoked or no longer covers a city
            log(f"demo: ingest answered {resp.status_code} ({_error_of(resp)}); "
                "recreating the demo feed")
            self.token = None
            return interval
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code == 202:
            statuses = [str(r.get("status")) for r in body.get("results", [])]
            held = f", held {body.get('held')}" if body.get("held") else ""
            log(f"demo: posted {len(events)} -> 202 (accepted {body.get('accepted')}{held}, "
                f"rejected {body.get('rejected')}): {what}"
                + ("" if all(s == "accepted" for s in statuses) else f" [{', '.join(statuses)}]"))
        else:
            log(f"demo: posted {len(events)} -> {resp.status_code} ({_error_of(resp)}): {what}")
        return interval

    def step(self) -> float:
        """Post one batch (or find out why not); return the seconds until the next step."""
        interval = float(self.args.interval)
        cities = self.cities()
        if not cities:
            log("demo: the web API lists no cities; waiting")
            return interval
        self.ensure_feed(cities)
        cities = [c for c in cities if c in self.scope]
        revisions, problems = self.batch(cities)
        if not revisions:
            log(f"demo: nothing to revise this time ({'; '.join(problems)})")
            return interval
        return self.post(revisions)

    def loop(self) -> None:
        """Post batches until stopped; failures are logged and retried later."""
        failures = 0
        interval = float(self.args.interval)
        while not self.stop.is_set():
            try:
                wait = self.step()
                failures = 0
            except requests.RequestException as exc:
                failures += 1
                wait = min(30.0, interval * 2 ** min(failures, 5))
                log(f"demo: cannot reach the services ({type(exc).__name__}); "
                    f"retrying in {wait:g} s")
            except Exception as exc:  # noqa: BLE001 - a demo never takes the stack down
                failures += 1
                wait = min(30.0, interval * 2 ** min(failures, 5))
                log(f"demo: {type(exc).__name__}: {exc}; retrying in {wait:g} s")
            self.stop.wait(wait)


def _error_of(resp: requests.Response) -> str:
    try:
        return str(resp.json().get("error", ""))[:200]
    except (ValueError, AttributeError):
        return resp.text[:200]


def run(args: argparse.Namespace) -> int:
    """Run the contributor until SIGINT/SIGTERM."""
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    contributor = Contributor(args, stop)
    if contributor.wait_for_cities():
        log(f"demo: posting 1-3 revisions every {float(args.interval):g} s as feed {DEMO!r} "
            f"to {contributor.ingest}/v1/events")
        contributor.loop()
    log("demo: stopped")
    return 0

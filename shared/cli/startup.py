"""`aicity bootstrap`: wait for the services, create the admin feed, load data, print URLs.

Run by `aicity run` as one of its processes; it stays up (so honcho keeps the others)
until it is told to stop.
"""

from __future__ import annotations

import argparse
import signal
import time
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import requests

from shared.cli.common import client_from
from shared.cli.load import post_batch, read_events
from shared.store.cities import CityStore
from shared.store.events_log import EventLog
from shared.store.feeds import FeedStore
from shared.store.ranking import RankingReader

ADMIN = "admin"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the bootstrap command."""
    p = sub.add_parser("bootstrap", help="(used by run) prepare a started system")
    p.add_argument("--ingest-url", required=True)
    p.add_argument("--web-url", required=True)
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--metrics-port", type=int, default=9101)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--no-load", action="store_true")
    p.add_argument("--exit", action="store_true", help="exit when done instead of waiting")
    p.add_argument("--redis-url", default=None)
    p.set_defaults(func=run)


def wait_ready(url: str, timeout: float = 60.0) -> None:
    """Poll url/readyz until it answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout:.0f} s")


def admin_token(client: object, data_dir: Path) -> str:
    """Return the admin feed's token, creating the feed (token kept in data-dir, mode 600)."""
    token_file = data_dir / "admin-token"
    feeds = FeedStore(client)
    if token_file.is_file():
        token = token_file.read_text().strip()
        if feeds.authenticate(token) is not None:
            return token
    feeds.revoke(ADMIN)
    token = feeds.create(ADMIN, None)
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    return token


def run(args: argparse.Namespace) -> int:
    """Prepare the system, print where it is, then wait to be stopped."""
    stop = False

    def _stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    wait_ready(args.ingest_url)
    wait_ready(args.web_url)
    client = client_from(args)
    token = admin_token(client, args.data_dir)
    log, cities, ranking = EventLog(client), CityStore(client), RankingReader(client)
    empty = log.length() == 0 and cities.count() == 0  # (the log alone is trimmed over time)
    if not args.no_load and empty and args.dataset.exists():
        print(f"loading {args.dataset} through the ingest API ...", flush=True)
        lines: list[str] = []
        accepted = 0
        session = requests.Session()
        for line in read_events(args.dataset):
            lines.append(line)
            if len(lines) == 1000:
                accepted += post_batch(session, args.ingest_url, token, lines)["accepted"]
                lines = []
        if lines:
            accepted += post_batch(session, args.ingest_url, token, lines)["accepted"]
        print(f"loaded {accepted} events", flush=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (log.dirty_count() or not ranking.ranked_count()):
        if cities.count() == 0:
            break
        time.sleep(0.2)
    host = urlsplit(args.web_url).hostname or "127.0.0.1"  # workers bind run's --host too
    ports = ", ".join(f"http://{host}:{args.metrics_port + n}/metrics"
                      for n in range(args.workers))
    ports += f"  http://{host}:{args.metrics_port + args.workers}/metrics (hooks)"
    print(
        "\nAI City Index is running\n"
        f"  live ranking   {args.web_url}/\n"
        f"  web API        {args.web_url}/api/v1/rankings   (OpenAPI: {args.web_url}/openapi.json)\n"
        f"  ingest API     {args.ingest_url}/v1/events\n"
        f"  metrics        {args.web_url}/metrics  {args.ingest_url}/metrics  {ports}\n"
        f"  admin token    {token}   (also in {args.data_dir / 'admin-token'})\n"
        "READY  (Ctrl-C stops everything; data is kept)\n", flush=True)
    if args.exit:
        return 0
    while not stop:
        time.sleep(0.5)
    return 0

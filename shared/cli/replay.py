"""`aicity export FILE` and `aicity replay FILE`: the event log out, and a store rebuilt from it."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from shared.bootstrap import accept_ports, city_store, event_log
from shared.cli.common import add_redis_arg, client_from, settings_from
from shared.commands.accept import REPLAY_FEED, Throttled, accept
from shared.contract.events import EventCodec
from shared.contract.methodology import load_methodology
from shared.platform.messaging import Publisher, make_celery
from shared.store.events_log import EventLog


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the export and replay commands."""
    e = sub.add_parser("export", help="write a replayable event history as NDJSON (winning "
                       "events of every city, queued events, then the retained log)")
    e.add_argument("file", type=Path, help="output file ('-' for stdout)")
    add_redis_arg(e)
    e.set_defaults(func=export)
    r = sub.add_parser("replay", help="rebuild a fresh store from an exported event log")
    r.add_argument("file", type=Path)
    r.add_argument("--batch", type=int, default=1000)
    r.add_argument("--wait", type=float, default=0.0,
                   help="seconds to wait for the scoring workers to finish (0: don't)")
    r.add_argument("--force", action="store_true", help="replay into a store that has events")
    add_redis_arg(r)
    r.set_defaults(func=replay)


def export(args: argparse.Namespace) -> int:
    """Write a replayable history, one canonical JSON event a line (see EventLog.iter_export)."""
    log = EventLog(client_from(args))
    out = sys.stdout if str(args.file) == "-" else args.file.open("w", encoding="utf-8")
    n = 0
    try:
        for body in log.iter_export():
            out.write(body + "\n")
            n += 1
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"exported {n} events", file=sys.stderr)
    return 0


def replay(args: argparse.Namespace) -> int:
    """Send the file's events through the accept handler into an empty store; let scoring rebuild."""
    settings = settings_from(args)
    client = client_from(args)
    log = event_log(client, settings)
    if log.length() and not args.force:
        raise ValueError("the store already has events; replay rebuilds a fresh store "
                         "(use --force to add to it)")
    codec = EventCodec(load_methodology(settings.methodology))
    ports = accept_ports(settings, codec, log, Publisher(make_celery(settings, main="aicity-cli")))
    city_store(client, settings).ensure_methodology(codec.methodology.version)
    batch: list[object] = []
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}

    def flush(first_line: int) -> None:
        while True:
            try:
                result = accept(batch, REPLAY_FEED, ports, datetime.now(UTC), restore=True)
                break
            except Throttled as exc:  # scoring is behind: wait, nothing was stored
                time.sleep(exc.retry_after)
        for key in counts:
            counts[key] += result.counts[key]
        for item in result.results:
            if item["status"] == "rejected":
                print(f"{args.file}: event at line {first_line + item['index']} rejected: "
                      f"{item['errors']}", file=sys.stderr)
        batch.clear()

    first = 1
    with args.file.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                if not batch:
                    first = line_no
                batch.append(json.loads(line))
            except ValueError as exc:
                raise ValueError(f"{args.file}:{line_no}: not valid JSON ({exc})") from exc
            if len(batch) >= args.batch:
                flush(first)
    if batch:
        flush(first)
    ports.publisher.sweep()
    print(f"replayed {counts['accepted']} events ({counts['duplicate']} duplicates, "
          f"{counts['rejected']} rejected)", file=sys.stderr)
    deadline = time.monotonic() + args.wait
    while args.wait and time.monotonic() < deadline:
        if not log.dirty_count() and log.backlog() == 0:
            print("scoring caught up", file=sys.stderr)
            return 0
        time.sleep(0.2)
    return 0 if not args.wait else 1

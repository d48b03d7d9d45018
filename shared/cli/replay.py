"""`aicity export FILE` and `aicity replay FILE`: the event log out, and a store rebuilt from it."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from marshmallow import ValidationError

from shared.cli.common import add_redis_arg, client_from, settings_from
from shared.events import EventCodec
from shared.messaging import Publisher, make_celery
from shared.methodology import load_methodology
from shared.store import keys as K
from shared.store.cities import CityStore
from shared.store.events_log import EventLog, canonical_json


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the export and replay commands."""
    e = sub.add_parser("export", help="write the event log as NDJSON")
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
    """Write every logged event, in log order, one JSON object a line."""
    log = EventLog(client_from(args))
    out = sys.stdout if str(args.file) == "-" else args.file.open("w", encoding="utf-8")
    n = 0
    try:
        for body in log.iter_json():
            out.write(body + "\n")
            n += 1
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"exported {n} events", file=sys.stderr)
    return 0


def replay(args: argparse.Namespace) -> int:
    """Append the file's events to an empty store and let the scoring workers rebuild."""
    settings = settings_from(args)
    client = client_from(args)
    log = EventLog(client, settings.pending_ttl_seconds)
    if log.length() and not args.force:
        raise ValueError("the store already has events; replay rebuilds a fresh store "
                         "(use --force to add to it)")
    codec = EventCodec(load_methodology(settings.methodology))
    publisher = Publisher(make_celery(settings, main="aicity-cli"))
    cities = CityStore(client, settings.pending_ttl_seconds)
    cities.ensure_methodology(codec.methodology.version)
    batch: list[tuple[object, str]] = []
    counts = {"accepted": 0, "duplicate": 0}

    def flush() -> None:
        result = log.append(batch)  # type: ignore[arg-type]
        for s in result.statuses:
            counts[s] += 1
        publisher.recompute(result.enqueue)
        batch.clear()

    with args.file.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                event = codec.load(json.loads(line))
            except (ValueError, ValidationError) as exc:
                raise ValueError(f"{args.file}:{line_no}: {exc}") from exc
            batch.append((event, canonical_json(codec.dump(event))))
            if len(batch) >= args.batch:
                flush()
    if batch:
        flush()
    publisher.sweep()
    print(f"replayed {counts['accepted']} events ({counts['duplicate']} duplicates)",
          file=sys.stderr)
    deadline = time.monotonic() + args.wait
    while args.wait and time.monotonic() < deadline:
        if not client.scard(K.DIRTY) and int(client.get(K.BACKLOG) or 0) == 0:
            print("scoring caught up", file=sys.stderr)
            return 0
        time.sleep(0.2)
    return 0 if not args.wait else 1

"""`aicity review list|release|reject`: decide on events held as implausible jumps."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from shared.bootstrap import event_log
from shared.cli.common import add_redis_arg, client_from, settings_from
from shared.handlers import review as handlers
from shared.messaging import Publisher, make_celery
from shared.store.feed_stats import FeedStats
from shared.store.review import ReviewStore


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the review command."""
    p = sub.add_parser("review", help="list, release or reject events held for review")
    rsub = p.add_subparsers(dest="review_command", required=True)
    ls = rsub.add_parser("list", help="held events, oldest first")
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    add_redis_arg(ls)
    ls.set_defaults(func=list_held)
    rel = rsub.add_parser("release", help="apply held events (scored like any event)")
    rel.add_argument("event_ids", nargs="+", metavar="ID")
    add_redis_arg(rel)
    rel.set_defaults(func=release)
    rej = rsub.add_parser("reject", help="discard held events; the feed sees the reason")
    rej.add_argument("event_ids", nargs="+", metavar="ID")
    rej.add_argument("--reason", required=True, help="shown to the feed in its report")
    add_redis_arg(rej)
    rej.set_defaults(func=reject)


def _age(held_ms: int, now: dt.datetime) -> str:
    seconds = max(0, int(now.timestamp() - held_ms / 1000))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def list_held(args: argparse.Namespace) -> int:
    """Print held events: city, indicator, current -> proposed, feed, age."""
    now = dt.datetime.now(dt.UTC)
    entries = ReviewStore(client_from(args)).held()
    for e in entries:
        if args.json:
            print(json.dumps({k: v for k, v in e.items() if k != "body"}))
            continue
        print(f"{e['event_id']}\t{e['city_id']}\t{e['indicator']}\t"
              f"{e['current']:g} -> {e['proposed']:g} "
              f"({e['current_points']:.1f} -> {e['proposed_points']:.1f} points)\t"
              f"{e['feed']}\t{_age(e['held_ms'], now)}")
    if not entries and not args.json:
        print("no events held for review")
    return 0


def _print(decision: handlers.Decision) -> int:
    for event_id, outcome in decision.outcomes.items():
        print(f"{event_id}\t{outcome}")
    return 0 if all(o != "not held" for o in decision.outcomes.values()) else 1


def release(args: argparse.Namespace) -> int:
    """Release held events into scoring."""
    settings = settings_from(args)
    client = client_from(args)
    publisher = Publisher(make_celery(settings, main="aicity-cli"))
    return _print(handlers.release(args.event_ids, ReviewStore(client),
                                   event_log(client, settings), publisher))


def reject(args: argparse.Namespace) -> int:
    """Reject held events with a reason."""
    settings = settings_from(args)
    client = client_from(args)
    store = ReviewStore(client, settings.event_retention_seconds)
    return _print(handlers.reject(args.event_ids, args.reason, store, FeedStats(client),
                                  dt.datetime.now(dt.UTC)))

"""`aicity review list|release|reject`: decide on events held as implausible jumps."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from shared.bootstrap import event_log
from shared.cli.common import add_redis_arg, client_from, settings_from
from shared.commands import review as handlers
from shared.platform.messaging import Publisher, make_celery
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
    rej.add_argument("event_ids", nargs="*", metavar="ID")
    rej.add_argument("--reason", required=True, help="shown to the feed in its report")
    rej.add_argument("--feed", help="reject every held event of this feed (instead of IDs)")
    rej.add_argument("--city", help="with --feed: only this city's")
    rej.add_argument("--older-than", type=_duration, metavar="D",
                     help="with --feed: only those held longer than D (e.g. 90m, 6h, 2d)")
    add_redis_arg(rej)
    rej.set_defaults(func=reject)


def _duration(text: str) -> float:
    """Parse '90s', '90m', '6h' or '2d' into seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = text[:-1], text[-1:]
    if unit not in units or not number.isascii() or not number.isdigit() or len(number) > 9:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a whole number then s, m, h or d "
                                         "(e.g. 90m, 6h, 2d)")
    return float(int(number) * units[unit])


def _fmt(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"


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
        measure = e.get("measure") or e["indicator"]
        if e.get("rule", "indicator_jump") == "indicator_jump":
            move = (f"{_fmt(e['current'])} -> {_fmt(e['proposed'])} "
                    f"({e['current_points']:.1f} -> {e['proposed_points']:.1f} points)")
        else:  # the batch would move a pillar or the score past its budget
            move = (f"{_fmt(e['current'])} -> {_fmt(e['proposed'])} "
                    f"(budget {e['budget']:g} points; {e['type']} {e.get('project_id') or ''})")
        print(f"{e['event_id']}\t{e['city_id']}\t{measure}\t{move}\t"
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
    """Reject held events with a reason: by id, or a feed's (of a city, older than D) in bulk."""
    if bool(args.event_ids) == bool(args.feed):
        raise SystemExit("aicity review reject: give event IDs or --feed F, not both")
    if (args.city or args.older_than is not None) and not args.feed:
        raise SystemExit("aicity review reject: --city and --older-than need --feed")
    settings = settings_from(args)
    client = client_from(args)
    store = ReviewStore(client, settings.event_retention_seconds)
    now = dt.datetime.now(dt.UTC)
    if args.feed:
        ids = handlers.matching(store, args.feed, args.city, args.older_than, now)
        decision = handlers.reject(ids, args.reason, store, FeedStats(client), now)
        done = sum(1 for o in decision.outcomes.values() if o == "rejected")
        print(f"rejected {done} held event(s) of feed {args.feed}")
        return 0
    return _print(handlers.reject(args.event_ids, args.reason, store, FeedStats(client), now))

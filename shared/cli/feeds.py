"""`aicity feeds create|revoke|list|report`: manage feed tokens (only hashes are stored)."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from shared.cli.common import add_redis_arg, client_from
from shared.queries.feed_report import feed_report
from shared.store.feed_stats import FeedStats
from shared.store.feeds import FeedStore


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the feeds command."""
    p = sub.add_parser("feeds", help="create, revoke and list feed tokens")
    fsub = p.add_subparsers(dest="feeds_command", required=True)
    c = fsub.add_parser("create", help="create a feed and print its token once")
    c.add_argument("name")
    scope = c.add_mutually_exclusive_group(required=True)
    scope.add_argument("--cities", help="comma-separated city ids the feed may write")
    scope.add_argument("--all", action="store_true", help="admin feed: every city")
    add_redis_arg(c)
    c.set_defaults(func=create)
    r = fsub.add_parser("revoke", help="revoke a feed's token")
    r.add_argument("name")
    add_redis_arg(r)
    r.set_defaults(func=revoke)
    ls = fsub.add_parser("list", help="list feeds (never tokens)")
    add_redis_arg(ls)
    ls.set_defaults(func=list_feeds)
    rp = fsub.add_parser("report", help="a feed's counts, latest rejections, last accepted event")
    rp.add_argument("name")
    rp.add_argument("--json", action="store_true", help="the report as JSON (as GET /v1/feed)")
    add_redis_arg(rp)
    rp.set_defaults(func=report)


def create(args: argparse.Namespace) -> int:
    """Create a feed; print the token (shown only now)."""
    cities = None if args.all else [c.strip() for c in args.cities.split(",") if c.strip()]
    token = FeedStore(client_from(args)).create(args.name, cities)
    print(token)
    return 0


def revoke(args: argparse.Namespace) -> int:
    """Revoke a feed."""
    if not FeedStore(client_from(args)).revoke(args.name):
        print(f"aicity: no feed named {args.name!r}")
        return 1
    print(f"revoked {args.name}")
    return 0


def list_feeds(args: argparse.Namespace) -> int:
    """Print the feeds and their scopes."""
    for feed in FeedStore(client_from(args)).list():
        scope = "ALL (admin)" if feed.cities is None else ",".join(sorted(feed.cities))
        created = dt.datetime.fromtimestamp(feed.created_at, dt.UTC).isoformat(timespec="seconds")
        print(f"{feed.name}\t{scope}\tcreated {created}")
    return 0


def report(args: argparse.Namespace) -> int:
    """Print a feed's report: what its own token sees at GET /v1/feed."""
    client = client_from(args)
    feed = next((f for f in FeedStore(client).list() if f.name == args.name), None)
    if feed is None:
        print(f"aicity: no feed named {args.name!r}")
        return 1
    doc = feed_report(feed, FeedStats(client), dt.datetime.now(dt.UTC))
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    scope = "ALL (admin)" if doc["cities"] is None else ",".join(doc["cities"])
    print(f"feed {doc['feed']}\tcities {scope}")
    print(f"last accepted event: {doc['last_accepted_at'] or 'never'}")
    print("window\taccepted\tduplicates\trejected\theld\tfailed")
    for window, c in doc["counts"].items():
        reasons = ", ".join(f"{k} {v}" for k, v in c["rejected"].items() if v)
        print(f"{window}\t{c['accepted']}\t{c['duplicates']}\t{c['rejected_total']}"
              f"{f' ({reasons})' if reasons else ''}\t{c['held']}\t{c['failed']}")
    if doc["last_rejected"]:
        print(f"latest rejections (newest first, at most {len(doc['last_rejected'])}):")
    for r in doc["last_rejected"]:
        where = "review" if r["index"] is None else f"item {r['index']}"
        print(f"  {r['at']}  {where}  {r['event_id'] or '-'}  {r['type']}  "
              f"{json.dumps(r['errors'], ensure_ascii=False)}")
    return 0

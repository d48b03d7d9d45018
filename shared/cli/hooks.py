"""`aicity hooks create|list|delete|deliveries`: webhooks on ranking changes."""

from __future__ import annotations

import argparse
import datetime as dt

from shared.cli.common import add_redis_arg, client_from
from shared.store.hooks import HOOK_TYPES, HookStore


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the hooks command."""
    p = sub.add_parser("hooks", help="create, list and delete webhooks; show their deliveries")
    hsub = p.add_subparsers(dest="hooks_command", required=True)
    c = hsub.add_parser("create", help="create a webhook and print its signing secret once")
    c.add_argument("url")
    c.add_argument("--on", required=True, choices=HOOK_TYPES,
                   help="rank_change, score_change, failed (dead letters), or held (events "
                        "held for review)")
    c.add_argument("--cities", help="comma-separated city ids (default: every city)")
    c.add_argument("--min-move", type=float, default=0.0,
                   help="smallest move that fires: ranks for rank_change, points for score_change")
    add_redis_arg(c)
    c.set_defaults(func=create)
    ls = hsub.add_parser("list", help="list webhooks (never secrets)")
    add_redis_arg(ls)
    ls.set_defaults(func=list_hooks)
    d = hsub.add_parser("delete", help="delete a webhook, its queue and its delivery log")
    d.add_argument("id")
    add_redis_arg(d)
    d.set_defaults(func=delete)
    lg = hsub.add_parser("deliveries", help="a webhook's last delivery attempts, newest first")
    lg.add_argument("id")
    lg.add_argument("--limit", type=int, default=50)
    add_redis_arg(lg)
    lg.set_defaults(func=deliveries)


def create(args: argparse.Namespace) -> int:
    """Create a hook; print its id and signing secret (shown only now)."""
    cities = [c.strip() for c in args.cities.split(",") if c.strip()] if args.cities else None
    hook = HookStore(client_from(args)).create(args.url, args.on, cities, args.min_move)
    print(f"{hook.id}\t{hook.secret}")
    return 0


def list_hooks(args: argparse.Namespace) -> int:
    """Print the hooks, their filters, state and queue."""
    store = HookStore(client_from(args))
    for hook in store.all():
        queued, dropped = store.backlog(hook.id)
        cities = ",".join(hook.cities) if hook.cities else "*"
        state = "enabled" if hook.enabled else f"DISABLED ({hook.disabled_reason})"
        created = dt.datetime.fromtimestamp(hook.created_at, dt.UTC).isoformat(timespec="seconds")
        print(f"{hook.id}\t{hook.on}\t{hook.url}\tcities={cities}\tmin-move={hook.min_move:g}"
              f"\t{state}\tqueued={queued}\tdropped={dropped}\tcreated {created}")
    return 0


def delete(args: argparse.Namespace) -> int:
    """Delete a hook."""
    if not HookStore(client_from(args)).delete(args.id):
        print(f"aicity: no hook {args.id!r}")
        return 1
    print(f"deleted {args.id}")
    return 0


def deliveries(args: argparse.Namespace) -> int:
    """Print a hook's last delivery attempts."""
    store = HookStore(client_from(args))
    if store.get(args.id) is None:
        print(f"aicity: no hook {args.id!r}")
        return 1
    for e in store.deliveries(args.id, args.limit):
        at = dt.datetime.fromtimestamp(e["at_ms"] / 1000, dt.UTC).isoformat(timespec="milliseconds")
        status = e["status"] if e["status"] is not None else e["error"]
        print(f"{at}\t{e['id']}\t{e['type']}\t{e['city_id']}\tattempt {e['attempt']}"
              f"\t{status}\t{e['outcome']}")
    return 0

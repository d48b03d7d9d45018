"""`aicity score PATH`: compute the index offline from event files and print the ranking."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from shared.events import EventCodec
from shared.index import compute_index, load_events
from shared.methodology import DEFAULT_VERSION, load_methodology


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the score command."""
    p = sub.add_parser("score", help="compute the index offline from NDJSON event files")
    p.add_argument("path", type=Path, help="an NDJSON file or a folder of them")
    p.add_argument("--top", type=int, default=30, help="rows to print (default 30)")
    p.add_argument("--methodology", default=DEFAULT_VERSION, help="version or TOML path")
    p.add_argument("--aggregation", choices=("arithmetic", "geometric"), default=None)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compute and print the index."""
    methodology = load_methodology(args.methodology)
    if args.aggregation:
        methodology = methodology.with_aggregation(args.aggregation)
    events = load_events(args.path, EventCodec(methodology))
    snap = compute_index(events, methodology)
    table = Table(title=f"AI City Index {snap.methodology_version}, as of {snap.index_date}")
    table.add_column("rank", justify="right")
    table.add_column("city")
    table.add_column("country")
    table.add_column("score", justify="right")
    for p in methodology.pillars:
        table.add_column(p.code[:5], justify="right")
    for item in snap.ranking[: args.top]:
        r = snap.results[item.city_id]
        assert r.profile is not None
        table.add_row(
            str(item.rank), r.profile["name"], r.profile["country"], f"{item.score:.1f}",
            *(f"{r.pillars[p.code].score:.1f}" for p in methodology.pillars),
        )
    console = Console(width=140)
    console.print(table)
    unranked = snap.unranked()
    console.print(f"{len(snap.ranking)} ranked, {len(unranked)} unranked, {len(events)} events")
    for city_id, reason in unranked:
        console.print(f"  unranked {city_id}: {reason}")
    return 0

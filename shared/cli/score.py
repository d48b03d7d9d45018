"""`aicity score PATH`: compute the index offline from event files and print the ranking.

With --json it prints every published number at full precision instead of the table:
the offline check that the live index is reproducible from its events.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from shared.contract.event_files import load_events
from shared.contract.events import EventCodec
from shared.contract.methodology import DEFAULT_VERSION, Methodology, load_methodology
from shared.domain.index import IndexSnapshot, compute_index


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the score command."""
    p = sub.add_parser("score", help="compute the index offline from NDJSON event files")
    p.add_argument("path", type=Path, help="an NDJSON file or a folder of them")
    p.add_argument("--top", type=int, default=30, help="rows of the table (default 30)")
    p.add_argument("--methodology", default=DEFAULT_VERSION, help="version or TOML path")
    p.add_argument("--aggregation", choices=("arithmetic", "geometric"), default=None)
    p.add_argument("--json", action="store_true",
                   help="print every city's numbers at full precision as JSON (ignores --top)")
    p.set_defaults(func=run)


def index_document(snap: IndexSnapshot, methodology: Methodology, events: int) -> dict[str, Any]:
    """Return every number of the index as JSON-ready data, exactly as computed.

    Cities come in rank order, then the unranked by city id (rank null, with their reason),
    each with its pillars, coverage and indicators (raw, normalised and provenance).
    """
    ranks = {item.city_id: item.rank for item in snap.ranking}
    order = [item.city_id for item in snap.ranking] + [c for c, _ in snap.unranked()]
    cities = []
    for city_id in order:
        r = snap.results[city_id]
        cities.append({
            "city_id": city_id, "rank": ranks.get(city_id), "score": r.score,
            "reason": r.reason, "coverage": r.coverage, "profile": r.profile,
            "pillars": {code: {"score": p.score, "coverage": p.coverage, "reason": p.reason}
                        for code, p in r.pillars.items()},
            "indicators": {code: dict(info) for code, info in r.indicators.items()},
        })
    return {
        "index_date": snap.index_date.isoformat(),
        "methodology_version": snap.methodology_version,
        "aggregation": methodology.aggregation,
        "events": events,
        "ranked": len(snap.ranking),
        "cities": cities,
        "unranked": [{"city_id": c, "reason": reason} for c, reason in snap.unranked()],
    }


def run(args: argparse.Namespace) -> int:
    """Compute and print the index."""
    methodology = load_methodology(args.methodology)
    if args.aggregation:
        methodology = methodology.with_aggregation(args.aggregation)
    events = load_events(args.path, EventCodec(methodology))
    snap = compute_index(events, methodology)
    if args.json:
        # The json module writes floats with repr(), the shortest text that reads back as
        # the same double: every number compares exactly with the live API's.
        text = json.dumps(index_document(snap, methodology, len(events)), indent=2,
                          allow_nan=False)
        sys.stdout.write(text + "\n")
        return 0
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

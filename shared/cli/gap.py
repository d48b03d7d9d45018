"""`aicity gap CITY PATH`: what it takes for a city to pass another, offline from event files.

The same builder as GET /api/v1/cities/<id>/gap (shared/queries/gap.py) over the index that
`aicity score` computes, so --json prints the API's numbers at full precision.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from shared.contract.event_files import load_events
from shared.contract.events import EventCodec
from shared.contract.methodology import DEFAULT_VERSION, load_methodology
from shared.domain.index import IndexSnapshot, compute_index
from shared.platform.settings import Settings
from shared.queries.errors import BadQuery, NotFound
from shared.queries.gap import gap_answer
from shared.queries.gap_text import headline, short_lines, sufficient_lines


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the gap command."""
    p = sub.add_parser("gap", help="what alone would lift a city past another (offline)")
    p.add_argument("city", help="the city id")
    p.add_argument("path", type=Path, help="an NDJSON file or a folder of them")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--to", default=None, help="the city to pass (default: the one above)")
    target.add_argument("--rank", type=int, default=None, help="pass the city listed at N")
    p.add_argument("--methodology", default=DEFAULT_VERSION, help="version or TOML path")
    p.add_argument("--aggregation", choices=("arithmetic", "geometric"), default=None)
    p.add_argument("--max-projects", type=int, default=Settings().max_projects_per_city,
                   help="project records a city may hold (as AICITY_MAX_PROJECTS_PER_CITY)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON, full precision")
    p.set_defaults(func=run)


def ranked_rows(snap: IndexSnapshot) -> list[dict[str, Any]]:
    """Return the ranked rows (city_id, name, score, rank) in rank order."""
    return [{"city_id": i.city_id, "score": i.score, "rank": i.rank,
             "name": (snap.results[i.city_id].profile or {}).get("name", i.city_id)}
            for i in snap.ranking]


def describe(doc: dict[str, Any]) -> list[str]:
    """Return the answer as plain sentences (as the city page says it)."""
    lines = [headline(doc)]
    if doc["ahead"]:
        return lines
    lines += [f"  - {line.text}" for line in sufficient_lines(doc)] or ["  (none of them)"]
    short = short_lines(doc)
    if short:
        lines.append("Not enough alone:")
        lines += [f"  - {line.text}" for line in short]
    return lines


def run(args: argparse.Namespace) -> int:
    """Compute the index and print what it takes."""
    methodology = load_methodology(args.methodology)
    if args.aggregation:
        methodology = methodology.with_aggregation(args.aggregation)
    snap = compute_index(load_events(args.path, EventCodec(methodology)), methodology)
    try:
        doc = gap_answer(ranked_rows(snap), args.city, snap.states.get(args.city), methodology,
                         snap.index_date, None, args.to, args.rank, args.max_projects)
    except (BadQuery, NotFound) as exc:
        print(f"aicity gap: error: {exc}", file=sys.stderr)
        return 2
    if doc is None:
        print(f"aicity gap: error: city {args.city!r} is not ranked in the index",
              file=sys.stderr)
        return 2
    if args.json:
        sys.stdout.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    else:
        sys.stdout.write("\n".join(describe(doc)) + "\n")
    return 0

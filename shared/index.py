"""The whole index computed offline from a list of events: the workers' math, in one process."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from shared.events import Event, EventCodec
from shared.jsonfast import canonical
from shared.methodology import Methodology
from shared.scoring import CityResult, RankedItem, rank_results, score_city
from shared.state import build_states


@dataclass(frozen=True)
class IndexSnapshot:
    index_date: date
    methodology_version: str
    results: dict[str, CityResult]
    ranking: list[RankedItem]

    def unranked(self) -> list[tuple[str, str]]:
        """Return (city_id, reason) of cities without an overall score, by city id."""
        return sorted((c, r.reason or "") for c, r in self.results.items() if r.score is None)


def index_date_of(tick_date: str | None, methodology: Methodology) -> date:
    """Return the index date: the winning tick's date, else the methodology's base date."""
    return date.fromisoformat(tick_date) if tick_date else methodology.base_date


EVENT_ID_REUSED = "event_id reused with other content"


def first_of_each_id(events: Iterable[Event], codec: EventCodec) -> list[Event]:
    """Keep the first event of each id, as live ingest does; refuse an id reused with other content.

    A repeat whose canonical dump equals the first one's is a duplicate and is dropped;
    any other repeat raises ValueError naming the event number, the id and the rule.
    """
    seen: dict[str, tuple[int, str]] = {}
    kept: list[Event] = []
    for n, event in enumerate(events):
        content = canonical(codec.dump(event))
        first = seen.get(event.event_id)
        if first is None:
            seen[event.event_id] = (n, content)
            kept.append(event)
        elif first[1] != content:
            raise ValueError(f"event #{n} ({event.event_id}): {EVENT_ID_REUSED} "
                             f"(first seen as event #{first[0]})")
    return kept


def compute_index(events: Iterable[Event], methodology: Methodology) -> IndexSnapshot:
    """Keep the first event of each id, fold them into city states, score and rank every city."""
    unique = first_of_each_id(events, EventCodec(methodology))
    states, _, tick_date = build_states(unique)
    when = index_date_of(tick_date, methodology)
    results = {c: score_city(s, methodology, when) for c, s in sorted(states.items())}
    return IndexSnapshot(when, methodology.version, results, rank_results(results.values()))


def iter_event_files(path: Path) -> Iterator[Path]:
    """Yield the NDJSON event files at path (a file, or a folder searched in name order)."""
    if path.is_file():
        yield path
        return
    yield from sorted(p for p in path.rglob("*.ndjson") if p.is_file())


def read_raw_events(path: Path) -> Iterator[Any]:
    """Yield raw JSON values (events, unless the file is malformed) from NDJSON files at path."""
    for file in iter_event_files(path):
        with file.open(encoding="utf-8") as fh:
            for line_no, line in enumerate(fh, start=1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise ValueError(f"{file}:{line_no}: not valid JSON ({exc.msg})") from exc


def load_events(path: Path, codec: EventCodec) -> list[Event]:
    """Read and validate every event at path, keeping the first of each id (first_of_each_id).

    Raise ValueError naming the first invalid event, or the first id reused with other
    content; event numbers count every event read, in file order.
    """
    events = []
    for n, raw in enumerate(read_raw_events(path)):
        try:
            events.append(codec.load(raw))
        except ValidationError as exc:
            event_id = raw.get("event_id") if isinstance(raw, dict) else None
            raise ValueError(f"event #{n} ({event_id}): {exc.messages}") from exc
    return first_of_each_id(events, codec)

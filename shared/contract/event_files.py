"""Event files (NDJSON) read into events, keeping the first of each id as live
ingest does: the file contract of `aicity score`, `aicity load` and the tests."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from shared.contract.events import Event, EventCodec
from shared.contract.jsonfast import canonical

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

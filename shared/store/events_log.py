"""The durable event log (a Redis Stream), dedup by event id and submission status."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from shared.events import INDEX_TICKED, Event
from shared.store import keys as K
from shared.store import lua
from shared.store.connection import Client


def canonical_json(raw: dict[str, Any]) -> str:
    """Serialise an event compactly and deterministically."""
    return json.dumps(raw, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class AppendResult:
    statuses: list[str]  # "accepted" or "duplicate", one per event in order
    rebuild: bool  # an index.ticked moved the index date: every city is dirty
    enqueue: list[str]  # cities whose recompute must be sent (pending flag newly set)


class EventLog:
    """Append validated events atomically; read submissions and the log back."""

    def __init__(self, client: Client, pending_ttl: int = 10) -> None:
        self.client = client
        self.pending_ttl = pending_ttl
        self._append = client.register_script(lua.APPEND)

    def append(self, events: Sequence[tuple[Event, str]], now_ms: int) -> AppendResult:
        """Store (event, canonical json) pairs in one atomic step; only then may ingest say 202."""
        args: list[Any] = [now_ms, self.pending_ttl, len(events)]
        for event, body in events:
            if event.type == INDEX_TICKED:
                tickv = "|".join(event.version)
                args += [event.event_id, "", event.type, body, tickv,
                         event.data.date.isoformat()]  # type: ignore[union-attr]
            else:
                args += [event.event_id, event.city_id, event.type, body, "", ""]
        codes, rebuild, enqueue = self._append(keys=[], args=args)
        statuses = ["accepted" if c == "a" else "duplicate" for c in codes]
        return AppendResult(statuses, rebuild == "1", list(enqueue))

    def status(self, event_id: str) -> dict[str, Any] | None:
        """Return what became of a submitted event, or None if it was never accepted."""
        raw = self.client.hgetall(K.event(event_id.lower()))
        if not raw:
            return None
        out: dict[str, Any] = {
            "event_id": event_id.lower(), "status": raw["s"], "type": raw.get("t"),
            "city_id": raw.get("c"), "log_id": raw.get("x"),
            "accepted_at_ms": int(raw["a"]) if "a" in raw else None,
            "ranking_version": int(raw["v"]) if "v" in raw else None,
        }
        out["scored"] = out["ranking_version"] is not None
        return out

    def length(self) -> int:
        """Return the number of events in the log."""
        return int(self.client.xlen(K.LOG))

    def iter_json(self, chunk: int = 5000) -> Iterator[str]:
        """Yield every logged event's canonical JSON in log order."""
        start = "-"
        while True:
            rows = self.client.xrange(K.LOG, min=start, max="+", count=chunk)
            if not rows:
                return
            for _, fields in rows:
                yield fields["e"]
            last = rows[-1][0]
            start = "(" + last

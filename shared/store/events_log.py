"""The durable event log (a Redis Stream), dedup by event id and submission status."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from shared.events import CITY_UPSERTED, INDEX_TICKED, INDICATOR_OBSERVED, Event
from shared.jsonfast import canonical, loads
from shared.store import keys as K
from shared.store import lua
from shared.store.connection import Client


def canonical_json(raw: dict[str, Any]) -> str:
    """Serialise an event compactly and deterministically."""
    return canonical(raw)


@dataclass(frozen=True)
class AppendResult:
    statuses: list[str]  # "accepted" or "duplicate", one per event in order
    rebuild: bool  # an index.ticked moved the index date: every city is dirty
    enqueue: list[str]  # cities whose recompute must be sent (pending flag newly set)


def _winner(state: dict[str, Any], event: dict[str, Any]) -> str | None:
    """Return the event id holding the event's place in a city state."""
    data = event.get("data", {})
    kind = event.get("type")
    if kind == CITY_UPSERTED:
        entry = state.get("profile")
    elif kind == INDICATOR_OBSERVED:
        entry = state.get("indicators", {}).get(data.get("indicator"))
    else:  # project.upserted / project.removed
        entry = state.get("projects", {}).get(data.get("project_id"))
    return None if not entry else str(entry["v"][1])


class EventLog:
    """Append validated events atomically; read submissions and the log back."""

    def __init__(self, client: Client, pending_ttl: int = 10) -> None:
        self.client = client
        self.pending_ttl = pending_ttl
        self._append = client.register_script(lua.APPEND)

    def append(self, events: Sequence[tuple[Event, str]]) -> AppendResult:
        """Store (event, canonical json) pairs in one atomic step; only then may ingest say 202."""
        args: list[Any] = [self.pending_ttl, len(events)]
        for event, body in events:
            if event.type == INDEX_TICKED:
                tickv = "|".join(event.version)
                args += [K.event(event.event_id), "", body, tickv,
                         event.data.date.isoformat()]  # type: ignore[union-attr]
            else:
                args += [K.event(event.event_id), event.city_id, body, "", ""]
        codes, rebuild, enqueue = self._append(keys=[], args=args)
        statuses = ["accepted" if c == "a" else "duplicate" for c in codes]
        return AppendResult(statuses, rebuild == "1", list(enqueue))

    def status(self, event_id: str) -> dict[str, Any] | None:
        """Return what became of a submitted event, or None if it was never accepted.

        accepted: stored, not yet folded into its city; applied: folded in and still the
        winning entry for its indicator, project or profile; superseded: folded in, but a
        later event (by occurred_at, then event_id) holds that place. ranking_version is the
        first ranking that includes it (null once older than the last 1,000 commits).
        """
        eid = event_id.lower()
        raw = self.client.hgetall(K.event(eid))
        if not raw:
            return None
        rows = self.client.xrange(K.LOG, min=raw["x"], max=raw["x"])
        event = loads(rows[0][1]["e"]) if rows else {}
        out: dict[str, Any] = {
            "event_id": eid, "type": event.get("type"), "city_id": raw.get("c"),
            "log_id": raw["x"], "accepted_at_ms": int(raw["x"].split("-", 1)[0]),
            "status": raw.get("s", "accepted"), "scored": False, "ranking_version": None,
        }
        city = raw.get("c")
        if city is None:  # index.ticked: decided at ingest, scored by the rebuild it caused
            return out
        position = int(raw["p"])
        pipe = self.client.pipeline(transaction=True)
        pipe.get(K.consumed(city))
        pipe.zrangebyscore(K.scored_versions(city), position, "+inf", start=0, num=1)
        pipe.get(K.city_state(city))
        consumed, first, state = pipe.execute()
        if int(consumed or 0) < position:
            return out
        out["scored"] = True
        if first:
            out["ranking_version"] = int(first[0].split(":", 1)[1])
        out["status"] = "applied" if _winner(loads(state) if state else {}, event) == eid \
            else "superseded"
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

"""The durable event log (a Redis Stream), dedup by event id and submission status."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from shared.contract.events import (
    CITY_UPSERTED,
    INDEX_TICKED,
    INDICATOR_OBSERVED,
    CityUpserted,
    Event,
    IndexTicked,
    ProjectRemoved,
    ProjectUpserted,
    dump_event,
)
from shared.contract.jsonfast import canonical, compact, loads
from shared.domain.outcome import outcomes_of
from shared.domain.records import AppendResult, DeadLetter, EntryVersion, ScoredMember
from shared.domain.state import CityState, events_of
from shared.domain.submission import FAILED, REJECTED, Submission
from shared.store import keys as K
from shared.store import lua
from shared.store.connection import Client


def content_hash(body: str) -> str:
    """Return the fingerprint of an event's canonical text (same id, same content: a duplicate)."""
    return hashlib.blake2b(body.encode("utf-8"), digest_size=8).hexdigest()


IDENTITY_SEP = "\x1f"
PLACE_SEP = "\x1e"  # between a city's identity (name, country, region) and its place
# How far (degrees of latitude or longitude) a scoped feed's city.upserted may place a city
# from where an admin feed put it: rounding, not a move.
PLACE_TOLERANCE_DEGREES = 0.01


def _op(event: Event) -> tuple[str, str]:
    data = event.data
    if isinstance(data, ProjectUpserted):
        return "P", data.project_id
    if isinstance(data, ProjectRemoved):
        return "R", data.project_id
    if isinstance(data, CityUpserted):
        return "C", (IDENTITY_SEP.join((data.name, data.country, data.region)) + PLACE_SEP
                     + IDENTITY_SEP.join((repr(data.lat), repr(data.lon), str(data.population))))
    return "", ""


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
    return None if not entry else str(EntryVersion.of(entry).event_id)


class EventLog:
    """Append validated events atomically; read submissions and the log back."""

    def __init__(self, client: Client, pending_ttl: int = 10, retention_seconds: int = 0,
                 max_projects: int = 100_000, max_held: int = 1_000) -> None:
        self.client = client
        self.pending_ttl = pending_ttl
        self.retention_seconds = retention_seconds
        self.max_projects = max_projects
        self.max_held = max_held  # per feed: events held for review at once
        self._append = lua.register(client, "append")

    def append(self, feed: str, admin: bool, events: Sequence[tuple[Event, str]],
               restore: bool = False, dry_run: bool = False,
               holds: Mapping[int, str] | None = None, release: bool = False) -> AppendResult:
        """Store (event, canonical json) pairs in one atomic step; only then may ingest say 202.

        Each event is checked inside the same step: its id against earlier submissions
        (content and feed), the feed's right to the city, project removals against the
        city's projects, identity changes against the admin-set identity. dry_run: the
        same script answers what it would do and writes nothing (no cities to enqueue).
        holds: index in events -> the held entry's JSON, for events held for review
        (Outcome.HELD); release: the events were held and an operator releases them
        (Outcome.NOT_HELD if one is no longer held).
        """
        holds = holds or {}
        header: dict[str, Any] = {
            "feed": feed, "admin": admin or restore, "restore": restore, "release": release,
            "dry_run": dry_run, "pending_ttl": self.pending_ttl,
            "retention_s": self.retention_seconds, "max_projects": self.max_projects,
            "max_held": self.max_held, "place_tolerance": PLACE_TOLERANCE_DEGREES,
        }
        described: list[dict[str, str]] = []
        payloads: list[str] = []
        for n, (event, body) in enumerate(events):
            op, oparg = _op(event)
            item = {"id": event.event_id, "hash": content_hash(body)}
            if event.type == INDEX_TICKED:
                item["version"] = "|".join(event.version)
                item["tick_date"] = event.data.date.isoformat()  # type: ignore[union-attr]
            else:  # the version matters to the script only for a city's identity
                item["city"] = event.city_id or ""
                if op == "C":
                    item["version"] = "|".join(event.version)
            if op:
                item["op"], item["op_arg"] = op, oparg
            if n in holds and not release:
                item["hold"] = event.type
            described.append(item)
            payloads += [body, holds.get(n, "")]
        header["events"] = described
        letters, rebuild, enqueue = self._append(keys=[], args=[compact(header), *payloads])
        return AppendResult(outcomes_of(letters), rebuild == "1", list(enqueue))

    def feed_backlog(self, feed: str) -> int:
        """Return the feed's events waiting: accepted and not yet scored, or held for review."""
        pipe = self.client.pipeline(transaction=False)
        pipe.get(K.feed_backlog(feed))
        pipe.zcard(K.held_by_feed(feed))
        waiting, held = pipe.execute()
        return int(waiting or 0) + int(held)

    def backlog(self) -> int:
        """Return every feed's accepted events not yet folded into a score."""
        return int(self.client.get(K.BACKLOG) or 0)

    def set_backlog(self, events: int) -> None:
        """Overwrite the global backlog counter (repair after manual cleanup; tests)."""
        self.client.set(K.BACKLOG, events)

    def dirty_count(self) -> int:
        """Return how many cities have events the ranking does not yet reflect."""
        return int(self.client.scard(K.DIRTY))

    def dead_lettered(self) -> int:
        """Return how many events could not be applied, ever."""
        return int(self.client.get(K.DEAD_LETTERED) or 0)

    def recent_dead_letters(self, count: int = 50) -> list[dict[str, str]]:
        """Return the latest dead letters (city, event id, reason), newest first."""
        prefix = K.event("")
        return [DeadLetter.from_stored(row, prefix)._asdict()
                for row in self.client.lrange(K.DEAD, 0, count - 1)]

    def status(self, event_id: str, feed: str | None = None) -> dict[str, Any] | None:
        """Return what became of a submitted event, or None if it was never accepted (or, with
        feed given, was sent by another feed).

        accepted: stored, not yet folded into its city; applied: folded in and still the
        winning entry for its indicator, project or profile; superseded: folded in, but a
        later event (by occurred_at, then event_id) holds that place; failed: it could not be
        applied (dead-lettered, `reason` says why); held: waiting for an operator's review;
        rejected: refused at review (`reason` says why). ranking_version is the first ranking that
        includes it (null once older than the last 1,000 commits).
        """
        eid = event_id.lower()
        record = self.client.get(K.event(eid))
        if not record:
            return None
        sub = Submission.from_stored(record)
        if feed is not None and sub.feed != feed:
            return None
        city = sub.city_id
        if sub.held_for_review:  # held for review: 'held', or 'rejected' with the reason
            held = {"event_id": eid,
                    # records held before projects were reviewed name no type
                    "type": sub.event_type or INDICATOR_OBSERVED, "city_id": city,
                    "log_id": "", "accepted_at_ms": sub.position, "status": sub.status,
                    "scored": False, "ranking_version": None, "feed": sub.feed}
            if sub.status == REJECTED:
                held["reason"] = sub.reason
            return held
        log_id = sub.log_id
        rows = self.client.xrange(K.LOG, min=log_id, max=log_id)
        event = loads(rows[0][1]["e"]) if rows else {}
        out: dict[str, Any] = {
            "event_id": eid, "type": event.get("type"), "city_id": city or None,
            "log_id": log_id, "accepted_at_ms": int(log_id.split("-", 1)[0]),
            "status": sub.status, "scored": False, "ranking_version": None, "feed": sub.feed,
        }
        if sub.status == FAILED:
            out["reason"] = sub.reason
            return out
        if not city:  # index.ticked: decided at ingest, scored by the rebuild it caused
            return out
        position = sub.position
        # No MULTI (Redis refuses MULTI, reads included, at maxmemory). Read in this order:
        # a commit writes all three at once, so once consumed >= position the later reads
        # see that commit or a newer one.
        pipe = self.client.pipeline(transaction=False)
        pipe.get(K.consumed(city))
        pipe.zrangebyscore(K.scored_versions(city), position, "+inf", start=0, num=1)
        pipe.get(K.city_state(city))
        consumed, first, state = pipe.execute()
        if int(consumed or 0) < position:
            return out
        out["scored"] = True
        if first:
            out["ranking_version"] = ScoredMember.from_stored(first[0]).ranking_version
        out["status"] = "applied" if _winner(loads(state) if state else {}, event) == eid \
            else "superseded"
        return out

    def length(self) -> int:
        """Return the number of events in the log."""
        return int(self.client.xlen(K.LOG))

    def trim(self, now_ms: int) -> int:
        """Drop log entries older than the retention; return how many went.

        Nothing a score needs goes with them: every city's winning events live on in its
        state (and export writes them), queued events in its inbox.
        """
        if not self.retention_seconds:
            return 0
        oldest = now_ms - self.retention_seconds * 1000
        return int(self.client.xtrim(K.LOG, minid=f"{max(oldest, 0)}-0", approximate=True))

    def iter_export(self, chunk: int = 500) -> Iterator[str]:
        """Yield a history that replays into the identical index, each event once.

        Every city's winning events (from its state), the winning index tick, the events
        still queued for scoring, then the retained log, in log order. Without trimming that
        is the whole log plus nothing new; after trimming it is what replay needs.
        """
        seen: set[str] = set()

        def once(body: str, event_id: str) -> Iterator[str]:
            if event_id not in seen:
                seen.add(event_id)
                yield body

        cities = sorted(self.client.sscan_iter(K.CITIES, count=1000))
        for start in range(0, len(cities), chunk):
            names = cities[start:start + chunk]
            pipe = self.client.pipeline(transaction=False)
            for city in names:
                pipe.get(K.city_state(city))
                pipe.lrange(K.inbox(city), 0, -1)
            replies = pipe.execute()
            for n in range(len(names)):
                state_json, inbox = replies[2 * n], replies[2 * n + 1]
                if state_json:
                    for event in events_of(CityState.from_dict(loads(state_json))):
                        yield from once(canonical(dump_event(event)), event.event_id)
                for body in inbox[1::2]:
                    yield from once(body, str(loads(body)["event_id"]))
        tick, tick_date = self.client.hmget(K.INDEX, "tick", "date")
        if tick and tick_date:
            at, event_id = tick.split("|", 1)
            event = Event(event_id, INDEX_TICKED, None, datetime.fromisoformat(at),
                          IndexTicked(date.fromisoformat(tick_date)))
            yield from once(canonical(dump_event(event)), event_id)
        for body in self.iter_json():
            yield from once(body, str(loads(body)["event_id"]))

    def iter_json(self, chunk: int = 5000) -> Iterator[str]:
        """Yield every retained log entry's canonical JSON in log order."""
        start = "-"
        while True:
            rows = self.client.xrange(K.LOG, min=start, max="+", count=chunk)
            if not rows:
                return
            for _, fields in rows:
                yield fields["e"]
            last = rows[-1][0]
            start = "(" + last

"""Accept submitted events: the one way in for ingest, replay and the daily tick.

Charge the feed first (one quota unit per item, before anything is parsed or validated,
so a feed over its budget is refused for the price of one Redis call, and invalid items
cost quota like valid ones), validate every item with the one codec, refuse what no feed
may send (future times, cities outside its scope), charge what reading the touched cities'
state will cost (dry runs; a scoped feed's batch the review gate judges), store the rest
atomically in their canonical form, then queue recomputes. Only the HTTP view maps the
result to a status.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from marshmallow import ValidationError

from shared.commands.budget import Throttled as Throttled  # re-exported: callers catch it here
from shared.commands.budget import charge, charge_state
from shared.commands.gate import REVIEW_MAX_QUEUED, Baseline, judge
from shared.commands.ports import EventAppender
from shared.contract.events import INDEX_TICKED, SCORE_MOVING, Event, EventCodec
from shared.contract.jsonfast import compact, loads
from shared.domain.outcome import Outcome
from shared.domain.records import CityWork, Feed

log = logging.getLogger("aicity.accept")

SYSTEM_FEED = Feed("system", None, 0.0)  # the daily tick
REPLAY_FEED = Feed("replay", None, 0.0)  # `aicity replay`


@dataclass(frozen=True)
class Unparsed:
    """An item of a request body that is not an event at all (bad JSON, lone surrogate...)."""

    errors: dict[str, list[str]]


class Publisher(Protocol):
    def recompute(self, cities: list[str]) -> None: ...
    def sweep(self) -> None: ...
    def hooks_deliver(self, hooks: list[str]) -> None: ...


class Quota(Protocol):
    def take(self, feed: str, events: int, now_ms: int) -> float: ...


class CityReader(Protocol):
    def read_many(self, cities: Sequence[str], max_items: int) -> list[CityWork]: ...
    def state_sizes(self, cities: Sequence[str]) -> list[int]: ...


class ReviewWindows(Protocol):
    def baselines(self, cities: Sequence[str]) -> list[str | None]: ...
    def open_window(self, city: str, baseline: str, ttl_ms: int) -> str: ...
    def lock(self, cities: Sequence[str], token: str, ttl_ms: int, wait_s: float) -> bool: ...
    def unlock(self, cities: Sequence[str], token: str) -> None: ...


class Stats(Protocol):
    def record(self, feed: str, now_ms: int, counts: Mapping[str, int],
               rejections: Sequence[dict[str, Any]] = ()) -> None: ...


@dataclass(frozen=True)
class Limits:
    """The bounds accept() enforces (from Settings)."""

    max_skew_seconds: int = 300
    backlog_limit: int = 2_000_000
    feed_backlog_share: float = 0.5
    retry_after_seconds: int = 5
    # Quota per record (project record or queued event) of a city whose state a dry run or the
    # review gate reads, charged before it is read.
    state_record_cost: float = 0.5


@dataclass(frozen=True)
class Submission:
    """The per-item results of one request and the HTTP status they call for."""

    http_status: int
    counts: dict[str, int]
    results: list[dict[str, Any]]
    outcomes: list[tuple[str, str]]  # (event type, outcome) per item, for metrics
    publish_failed: bool = False
    rebuild: bool = False  # an index.ticked moved the index date: every city is rescored
    dry_run: bool = False  # nothing was stored: the results say what a real post would do
    # (event, canonical json) of the items accepted (or, in a dry run, that would be)
    accepted: list[tuple[Event, str]] = field(default_factory=list)
    held: int = 0  # items stored but held for review (an implausible jump)


@dataclass
class Ports:
    """What accept() talks to: the codec, the log, the publisher and the feed quota."""

    codec: EventCodec
    log: EventAppender
    publisher: Publisher
    quota: Quota | None = None
    limits: Limits = field(default_factory=Limits)
    stats: Stats | None = None  # the per-feed report's counters
    # The review gate's reads (cities' state and queue) and keeps (approved positions, locks):
    # a scoped feed's moves past the methodology's review budgets are held.
    cities: CityReader | None = None
    review: ReviewWindows | None = None
    # Tell the `held` webhooks about events just held (entries as _holds builds them).
    notify_held: Callable[[list[dict[str, Any]]], None] | None = None


def _nested(path: str, message: str) -> dict[str, Any]:
    head, _, rest = path.partition(".")
    return {head: _nested(rest, message) if rest else [message]}


# The append step's refusals: (outcome for metrics, field path, message).
_REFUSALS = {
    Outcome.ID_REUSED: ("rejected_conflict", "event_id",
          "already used for another event (other content or another feed); an event_id "
          "names one event: use a new one"),
    Outcome.UNKNOWN_CITY: ("rejected_scope", "city_id",
          "city {city!r} does not exist; only an admin feed may create a city"),
    Outcome.UNKNOWN_PROJECT: ("rejected_validation", "data.project_id",
          "city {city!r} never had project {project!r}: nothing to remove"),
    Outcome.IDENTITY_CHANGE: ("rejected_scope", "data",
          "only an admin feed may set or change a city's name, country or region"),
    Outcome.PROJECT_LIMIT: ("rejected_validation", "data.project_id",
          "city {city!r} already holds {max_projects} project records, the limit of projects "
          "per city (max_projects_per_city); a removed project keeps its record, so send "
          "updates to existing project ids instead of new ones"),
    Outcome.PLACE_CHANGE: ("rejected_scope", "data",
          "only an admin feed may move a city (lat or lon by more than 0.01 degrees) or "
          "change its population"),
    Outcome.HELD_CAP: ("rejected_review", "event_id",
          "would be held for review, but this feed already has {max_held} events held (its "
          "cap); wait for an operator's decision or send values within the review budget"),
}


def _event_id(raw: Any) -> Any:
    value = raw.get("event_id") if isinstance(raw, dict) else None
    return value if isinstance(value, str) and len(value) <= 64 else None


def _type(raw: Any) -> str:
    kind = raw.get("type") if isinstance(raw, dict) else None
    return kind if isinstance(kind, str) and len(kind) < 40 else "invalid"


def _bound_error(event: Event, latest: datetime, now: datetime, skew: int
                 ) -> dict[str, Any] | None:
    if event.occurred_at > latest:
        return {"occurred_at": [
            f"must not be later than now plus {skew} s (server time "
            f"{now.astimezone(UTC).isoformat(timespec='seconds')})"]}
    return None


def _scope_error(event: Event, feed: Feed) -> dict[str, Any] | None:
    if event.type == INDEX_TICKED:
        return None if feed.admin else {"type": ["index.ticked needs an admin feed"]}
    assert event.city_id is not None
    if not feed.may_write(event.city_id):
        return {"city_id": [f"feed {feed.name!r} may not write city {event.city_id!r}"]}
    return None


REVIEW_LOCK_MS = 10_000  # a crashed ingest's lock frees itself after this
REVIEW_LOCK_WAIT_S = 2.0  # a batch waits this long for another batch on its cities


def _gated_cities(to_store: list[tuple[int, Event]], feed: Feed, ports: Ports) -> list[str]:
    """Return the cities whose events the review gate must judge (sorted; none for admins)."""
    if feed.admin or ports.cities is None or ports.review is None:
        return []
    return sorted({e.city_id for _, e in to_store if e.type in SCORE_MOVING and e.city_id})


def _holds(to_store: list[tuple[int, Event]], pairs: list[tuple[Event, str]], cities: list[str],
           feed: Feed, ports: Ports, now: datetime, dry_run: bool) -> dict[int, str]:
    """Return, by position in to_store, the held entry (JSON) of each event the gate holds.

    A scoped feed's events are judged against each city's approved position over the review
    window (shared/commands/gate.py), with everything already accepted for the city folded in.
    """
    if not cities:
        return {}
    assert ports.cities is not None and ports.review is not None
    works = ports.cities.read_many(cities, REVIEW_MAX_QUEUED + 1)
    for work in works:
        if len(work.items) > REVIEW_MAX_QUEUED:
            raise Throttled(f"city {work.city_id!r} has over {REVIEW_MAX_QUEUED} events waiting "
                            "for scoring: a scoped feed's batch is judged against them; retry "
                            "later", ports.limits.retry_after_seconds)
    stored = {c: Baseline.from_stored(raw) if raw else None
              for c, raw in zip(cities, ports.review.baselines(cities))}
    methodology = ports.codec.methodology
    batch = [(n, event, body) for n, ((_, event), (_, body)) in enumerate(zip(to_store, pairs))]
    judgement = judge(batch, feed.name, works, stored, methodology, now)
    if not dry_run:
        ttl_ms = methodology.review_window_hours * 3_600_000
        for city, base in judgement.opened.items():
            ports.review.open_window(city, base.to_stored(), ttl_ms)
    return {n: compact(entry) for n, entry in judgement.holds.items()}


def _record(stats: Stats, feed: Feed, now: datetime, items: list[Any],
            results: list[dict[str, Any]], outcomes: list[tuple[str, str]]) -> None:
    """Count the batch's outcomes for the feed's report (after the append: a lost count
    never loses an event) and keep its rejected items with their errors."""
    at = now.astimezone(UTC).isoformat(timespec="seconds")
    rejections = [{"at": at, "index": r["index"], "event_id": r["event_id"],
                   "type": _type(items[r["index"]]), "errors": r["errors"]}
                  for r in results if r["status"] == "rejected"]
    try:
        stats.record(feed.name, int(now.timestamp() * 1000),
                     Counter(outcome for _, outcome in outcomes), rejections)
    except Exception:  # noqa: BLE001 - the batch is stored; only its report counts are lost
        log.warning("feed report counters not updated", exc_info=True)


def accept(items: list[Any], feed: Feed, ports: Ports, now: datetime,
           restore: bool = False, dry_run: bool = False, paid: int = 0) -> Submission:
    """Validate, authorise and store a batch; report each item. Raise Throttled (nothing stored).

    restore (an admin replaying an export): removals need no earlier upsert in the store and
    project limits are not checked, since the export holds winners, not the whole history.
    dry_run: every check runs as for a real post (the store's append script answers what it
    would do) but nothing is stored and no recompute is queued; a 202 becomes a 200.
    paid: items the caller already charged to the feed (charge()); the rest are charged first.
    A dry run then pays for the touched cities' state, a scoped feed's real batch for the
    cities the review gate judges (Limits.state_record_cost per record), before they are read.
    """
    if len(items) > paid:
        charge(feed, len(items) - paid, ports, now)
    results: list[dict[str, Any]] = [{} for _ in items]
    outcomes: list[tuple[str, str]] = [("", "")] * len(items)

    def reject(index: int, raw: Any, errors: dict[str, Any], outcome: str, kind: str) -> None:
        results[index] = {"index": index, "event_id": _event_id(raw), "status": "rejected",
                          "errors": errors}
        outcomes[index] = (kind, outcome)

    parsed = [i for i, raw in enumerate(items) if not isinstance(raw, Unparsed)]
    loaded = ports.codec.load_many([items[i] for i in parsed]) if parsed else []
    to_store: list[tuple[int, Event]] = []
    skew = ports.limits.max_skew_seconds
    latest = now + timedelta(seconds=skew)
    for index, item in zip(parsed, loaded):
        raw = items[index]
        if isinstance(item, ValidationError):
            reject(index, raw, item.normalized_messages(),  # type: ignore[no-untyped-call]
                   "rejected_validation", _type(raw))
        elif (error := _bound_error(item, latest, now, skew)) is not None:
            reject(index, raw, error, "rejected_validation", item.type)
        elif (error := _scope_error(item, feed)) is not None:
            reject(index, raw, error, "rejected_scope", item.type)
        else:
            to_store.append((index, item))
    for index, raw in enumerate(items):
        if isinstance(raw, Unparsed):
            reject(index, None, dict(raw.errors), "rejected_validation", "invalid")
    publish_failed = rebuild = False
    accepted: list[tuple[Event, str]] = []
    if to_store:
        pairs = [(e, ports.codec.encode(e)) for _, e in to_store]
        gated = _gated_cities(to_store, feed, ports)
        # What a dry run's impact reads: every touched city; what the gate reads: its cities.
        charge_state(sorted({e.city_id for _, e in to_store if e.city_id}) if dry_run
                      else gated, feed, ports, now)
        windows, token = (ports.review if gated else None), uuid.uuid4().hex
        # One scoped batch at a time per city, from judging to storing: two batches judged
        # side by side could each fit the budget and pass it together.
        if windows is not None and not windows.lock(gated, token, REVIEW_LOCK_MS,
                                                    REVIEW_LOCK_WAIT_S):
            raise Throttled("another batch for the same cities is being reviewed; retry later",
                            1)
        try:
            holds = _holds(to_store, pairs, gated, feed, ports, now, dry_run)
            extra: dict[str, Any] = {"holds": holds} if holds else {}
            if dry_run:
                extra["dry_run"] = True
            stored = ports.log.append(feed.name, feed.admin, pairs,
                                      restore=restore and feed.admin, **extra)
        finally:
            if windows is not None:
                windows.unlock(gated, token)
        rebuild = stored.rebuild
        for (index, event), answer, pair in zip(to_store, stored.outcomes, pairs):
            if answer in _REFUSALS:
                outcome, path, message = _REFUSALS[answer]
                project = getattr(event.data, "project_id", None)
                reject(index, items[index],
                       _nested(path, message.format(city=event.city_id, project=project,
                                                    max_held=ports.log.max_held,
                                                    max_projects=ports.log.max_projects)),
                       outcome, event.type)
                results[index]["event_id"] = event.event_id
                continue
            status = {Outcome.ACCEPTED: "accepted", Outcome.HELD: "held"}.get(answer, "duplicate")
            if answer is Outcome.ACCEPTED:
                accepted.append(pair)
            results[index] = {"index": index, "event_id": event.event_id, "status": status,
                              "errors": {}}
            outcomes[index] = (event.type, status)
        try:  # the events are stored: a lost trigger costs latency (the sweeper), never data
            if not dry_run:
                ports.publisher.recompute(stored.enqueue)
                if stored.rebuild:
                    ports.publisher.sweep()
                now_held = [loads(holds[n]) for n, answer in enumerate(stored.outcomes)
                            if answer is Outcome.HELD and n in holds]
                if now_held and ports.notify_held is not None:
                    ports.notify_held(now_held)
        except Exception:  # noqa: BLE001 - any broker failure, after the durable append
            publish_failed = True
            log.warning("recompute not queued; the sweeper will", exc_info=True)
    counts = {s: sum(1 for r in results if r["status"] == s)
              for s in ("accepted", "duplicate", "rejected")}
    held = sum(1 for r in results if r["status"] == "held")
    if not dry_run and ports.stats is not None:
        _record(ports.stats, feed, now, items, results, outcomes)
    if counts["accepted"] or held or not counts["rejected"]:
        http_status = 200 if dry_run else 202
    elif all(o == "rejected_scope" for _, o in outcomes):
        http_status = 403
    else:
        http_status = 422
    return Submission(http_status, counts, results, outcomes, publish_failed, rebuild,
                      dry_run, accepted, held)

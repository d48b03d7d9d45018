"""Accept submitted events: the one way in for ingest, replay and the daily tick.

Validate every item with the one codec, refuse what no feed may send (future times,
cities outside its scope), throttle a feed past its share, store the rest atomically in
their canonical form, then queue recomputes. Only the HTTP view maps the result to a status.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from marshmallow import ValidationError

from shared.events import INDEX_TICKED, INDICATOR_OBSERVED, Event, EventCodec, IndicatorObserved
from shared.jsonfast import compact, loads
from shared.scoring.normalise import normalise
from shared.store.events_log import EventLog
from shared.store.feeds import Feed

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


class CurrentValues(Protocol):
    def indicator_values(self, cities: Sequence[str]) -> dict[str, dict[str, float]]: ...


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


@dataclass(frozen=True)
class Throttled(Exception):
    """Nothing stored: the feed (or everyone) must wait `retry_after` seconds."""

    reason: str
    retry_after: int
    scope: str = "feed"  # "feed" or "global"


@dataclass
class Ports:
    """What accept() talks to: the codec, the log, the publisher and the feed quota."""

    codec: EventCodec
    log: EventLog
    publisher: Publisher
    quota: Quota | None = None
    limits: Limits = field(default_factory=Limits)
    stats: Stats | None = None  # the per-feed report's counters
    current: CurrentValues | None = None  # cities' current values: implausible jumps are held
    # Tell the `held` webhooks about events just held (entries as _holds builds them).
    notify_held: Callable[[list[dict[str, Any]]], None] | None = None


def _nested(path: str, message: str) -> dict[str, Any]:
    head, _, rest = path.partition(".")
    return {head: _nested(rest, message) if rest else [message]}


# What the append step's per-event codes mean: (outcome for metrics, field path, message).
_REFUSALS = {
    "r": ("rejected_conflict", "event_id",
          "already used for another event (other content or another feed); an event_id "
          "names one event: use a new one"),
    "n": ("rejected_scope", "city_id",
          "city {city!r} does not exist; only an admin feed may create a city"),
    "u": ("rejected_validation", "data.project_id",
          "city {city!r} never had project {project!r}: nothing to remove"),
    "i": ("rejected_scope", "data",
          "only an admin feed may set or change a city's name, country or region"),
    "l": ("rejected_validation", "data.project_id",
          "city {city!r} has reached its limit of projects; remove retired ones first"),
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


def _throttle(feed: Feed, events: int, ports: Ports, now: datetime) -> None:
    limits = ports.limits
    if ports.log.backlog() > limits.backlog_limit:
        raise Throttled("scoring backlog is over its bound; retry later",
                        limits.retry_after_seconds, "global")
    if feed.admin:  # operators' own feeds (loading, corrections) are not throttled per feed
        return
    share = int(limits.backlog_limit * limits.feed_backlog_share)
    if ports.log.feed_backlog(feed.name) > share:
        raise Throttled(f"feed {feed.name!r} has over {share} events waiting for scoring "
                        "(its share of the backlog); retry later", limits.retry_after_seconds)
    if ports.quota is not None:
        wait = ports.quota.take(feed.name, events, int(now.timestamp() * 1000))
        if wait > 0:
            raise Throttled(f"feed {feed.name!r} is over its rate limit; retry later",
                            max(1, math.ceil(wait)))


def _holds(to_store: list[tuple[int, Event]], feed: Feed, ports: Ports, now: datetime
           ) -> dict[int, str]:
    """Return, by position in to_store, the held entry of each implausible jump.

    An indicator.observed from a scoped feed whose normalised value differs from the city's
    current one by more than the methodology's review_jump_points waits for an operator.
    """
    if feed.admin or ports.current is None:
        return {}
    observed = [(n, e) for n, (_, e) in enumerate(to_store) if e.type == INDICATOR_OBSERVED]
    if not observed:
        return {}
    methodology = ports.codec.methodology
    values = ports.current.indicator_values(sorted({str(e.city_id) for _, e in observed}))
    out: dict[int, str] = {}
    for n, event in observed:
        data = event.data
        assert isinstance(data, IndicatorObserved) and event.city_id is not None
        current = values.get(event.city_id, {}).get(data.indicator)
        if current is None:
            continue
        indicator = methodology.indicator(data.indicator)
        before, after = normalise(current, indicator), normalise(data.value, indicator)
        if abs(after - before) > methodology.review_jump_points:
            out[n] = compact({
                "event_id": event.event_id, "city_id": event.city_id, "feed": feed.name,
                "indicator": data.indicator, "current": current, "proposed": data.value,
                "current_points": before, "proposed_points": after,
                "occurred_at": event.occurred_at.isoformat(),
                "held_ms": int(now.timestamp() * 1000), "body": ports.codec.encode(event)})
    return out


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
           restore: bool = False, dry_run: bool = False) -> Submission:
    """Validate, authorise and store a batch; report each item. Raise Throttled (nothing stored).

    restore (an admin replaying an export): removals need no earlier upsert in the store and
    project limits are not checked, since the export holds winners, not the whole history.
    dry_run: every check runs as for a real post (the store's append script answers what it
    would do) but nothing is stored and no recompute is queued; a 202 becomes a 200.
    """
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
        _throttle(feed, len(to_store), ports, now)
        pairs = [(e, ports.codec.encode(e)) for _, e in to_store]
        holds = _holds(to_store, feed, ports, now)
        extra: dict[str, Any] = {"holds": holds} if holds else {}
        if dry_run:
            extra["dry_run"] = True
        stored = ports.log.append(feed.name, feed.admin, pairs,
                                  restore=restore and feed.admin, **extra)
        rebuild = stored.rebuild
        for (index, event), code, pair in zip(to_store, stored.codes, pairs):
            if code in _REFUSALS:
                outcome, path, message = _REFUSALS[code]
                project = getattr(event.data, "project_id", None)
                reject(index, items[index],
                       _nested(path, message.format(city=event.city_id, project=project)),
                       outcome, event.type)
                results[index]["event_id"] = event.event_id
                continue
            status = {"a": "accepted", "h": "held"}.get(code, "duplicate")
            if code == "a":
                accepted.append(pair)
            results[index] = {"index": index, "event_id": event.event_id, "status": status,
                              "errors": {}}
            outcomes[index] = (event.type, status)
        try:  # the events are stored: a lost trigger costs latency (the sweeper), never data
            if not dry_run:
                ports.publisher.recompute(stored.enqueue)
                if stored.rebuild:
                    ports.publisher.sweep()
                now_held = [loads(holds[n]) for n, code in enumerate(stored.codes)
                            if code == "h" and n in holds]
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

"""Recompute one city from stored state: apply its new events, score, commit atomically."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from shared.commands.ports import CityCommits, DirtyCities, HistorySeeder
from shared.contract.events import PROJECT_REMOVED, PROJECT_UPSERTED, decode_event
from shared.contract.jsonfast import canonical, loads
from shared.contract.methodology import Methodology
from shared.domain.drivers import change_drivers, indicator_changes
from shared.domain.index import index_date_of
from shared.domain.readmodel import card
from shared.domain.records import ChangeMessage, CityWork, Commit, HistoryEntry, InboxHead, IndicatorChange
from shared.domain.scoring import CityResult, score_city
from shared.domain.state import SUPERSEDED, CityState, apply_event

MAX_ATTEMPTS = 20
PROJECT_EVENTS = (PROJECT_UPSERTED, PROJECT_REMOVED)


@dataclass
class RecomputeReport:
    city_id: str
    # "changed", "unchanged", "conflict" (left dirty), "methodology" (this worker is outdated)
    # or "failed" (scoring the city raised: left dirty, the other cities are committed)
    status: str
    events: int = 0
    applied: int = 0
    superseded: int = 0
    dead: int = 0  # events that could not be applied (dead-lettered with their reason)
    conflicts: int = 0
    ranking_version: int = 0
    old_rank: int | None = None
    new_rank: int | None = None
    lags_ms: list[int] = field(default_factory=list)
    error: str | None = None  # status "failed": why the city could not be scored
    dead_letters: list[tuple[str, str]] = field(default_factory=list)  # (event id, reason)


def card_of(result: CityResult) -> dict[str, object]:
    """Return the compact ranking-table row of a result (the read model's card)."""
    return card(result.city_id, result.profile, result.score, result.coverage, result.reason,
                {k: p.score for k, p in result.pillars.items()},
                last_data_at=result.last_data_at, stale=result.stale)


@dataclass
class _Folded:
    state: CityState
    superseded: int = 0
    acks: list[int] = field(default_factory=list)
    feeds: dict[str, int] = field(default_factory=dict)
    dead: list[tuple[str, str]] = field(default_factory=list)
    feed_of: dict[str, str] = field(default_factory=dict)  # event id -> feed, this batch
    # (event id, occurred_at, feed) of the last project record applied in this batch
    last_project: tuple[str, str, str] | None = None


_EVENT_ID = re.compile(r'"event_id"\s*:\s*"([0-9a-fA-F-]{36})"')


def _event_id_in(body: str) -> str:
    """Return the event id a stored body names, even when it cannot be decoded ('' if none)."""
    found = _EVENT_ID.search(body)
    return found.group(1).lower() if found else ""


def _fold(work: CityWork) -> _Folded:
    """Apply the inbox to the state, dead-lettering any event that cannot be applied."""
    folded = _Folded(CityState.from_dict(loads(work.state_json)) if work.state_json
                     else CityState(work.city_id))
    for stored_head, body in work.items:
        head = InboxHead.from_stored(stored_head)
        feed = head.feed
        folded.feeds[feed] = folded.feeds.get(feed, 0) + 1
        ack = head.ack_ms()
        if ack is not None:
            folded.acks.append(ack)
        try:
            event = decode_event(body)
            outcome = apply_event(folded.state, event)
        except Exception as exc:  # noqa: BLE001 - whatever it is, it must not stop the city
            folded.dead.append((_event_id_in(body), f"{type(exc).__name__}: {exc}"[:500]))
            continue
        folded.feed_of[event.event_id] = feed
        if outcome.status == SUPERSEDED:
            folded.superseded += 1
        elif event.type in PROJECT_EVENTS:
            folded.last_project = (event.event_id, event.occurred_at.isoformat(), feed)
    return folded


def history_body(result: dict[str, Any], events: int, changes: dict[str, IndicatorChange]
                 ) -> str:
    """Return a history entry's stored body (the commit writes its version, time and rank)
    for a result as CityResult.to_dict() gives it."""
    return HistoryEntry(
        0, 0, None, result["methodology_version"], result["index_date"], result["score"],
        result["coverage"], result["reason"],
        {k: p["score"] for k, p in result["pillars"].items()},
        {k: p["coverage"] for k, p in result["pillars"].items()},
        result.get("last_data_at"), result.get("stale", True), events, changes,
    ).stored_body()


def seed_history(history: HistorySeeder, results: Iterable[tuple[str, str]]) -> int:
    """Give each (city, stored result JSON) without any history entry one at the current
    version (a store written before history was kept); return how many were seeded."""
    bodies = {city: history_body(loads(raw), 0, {}) for city, raw in results}
    return history.seed(bodies) if bodies else 0


@dataclass
class _Prepared:
    work: CityWork
    commit: Commit
    superseded: int
    acks: list[int]
    dead: int


def _prepare(work: CityWork, methodology: Methodology, now_ms: Callable[[], int]) -> _Prepared:
    folded = _fold(work)
    state = folded.state
    result = score_city(state, methodology, index_date_of(work.index_date or None, methodology))
    result_dict = result.to_dict()
    result_json = canonical(result_dict)
    pillars = [(p.code, result.pillars[p.code].score) for p in methodology.pillars]
    old = loads(work.result_json) if work.result_json else None
    changes = indicator_changes(old, result, folded.feed_of, folded.last_project)
    history = history_body(result_dict, len(work.items), changes)
    delta = change_drivers(methodology, old, result, changes)
    message = ChangeMessage(  # the commit script fills in the version, time and ranks
        0, 0, None, None, None, work.city_id, result.index_date, result.score, dict(pillars),
        len(work.items), delta["old_score"], delta["score_delta"], delta["drivers"],
    ).stored_extras()
    commit = Commit(
        city_id=work.city_id, rev=work.rev, consumed=len(work.items),
        state_json=canonical(state.to_dict()),
        result_json=result_json,
        card_json=canonical(card_of(result)),
        score=result.score, reason=result.reason or "", index_date=work.index_date,
        methodology=methodology.version, now_ms=now_ms(), changed=result_json != work.result_json,
        history_body=history, pillars=pillars, feeds=sorted(folded.feeds.items()),
        dead=folded.dead, change_body=message,
    )
    return _Prepared(work, commit, folded.superseded, folded.acks, len(folded.dead))


def recompute_cities(
    cities: list[str], store: CityCommits, methodology: Methodology, now_ms: Callable[[], int],
    max_events: int = 20_000,
) -> list[RecomputeReport]:
    """Fold each city's new events into its state, rescore and commit it, retrying conflicts.

    Reads and commits go to Redis in one round trip for all the cities; each city's commit
    is still its own atomic compare-and-set. A city that keeps conflicting is reported as
    "conflict" and left dirty for the sweeper.
    """
    todo = list(dict.fromkeys(cities))
    store.release_pending_many(todo)
    reports: dict[str, RecomputeReport] = {}
    conflicts: dict[str, int] = {}
    for _ in range(MAX_ATTEMPTS):
        if not todo:
            break
        prepared = []
        for work in store.read_many(todo, max_events):
            if work.methodology != methodology.version:
                reports[work.city_id] = RecomputeReport(work.city_id, "methodology")
                continue
            try:
                prepared.append(_prepare(work, methodology, now_ms))
            except Exception as exc:  # noqa: BLE001 - one city must not stop the others
                reports[work.city_id] = RecomputeReport(
                    work.city_id, "failed", error=f"{type(exc).__name__}: {exc}"[:500])
        todo = []
        for item, outcome in zip(prepared, store.commit_many([p.commit for p in prepared])):
            city = item.work.city_id
            if outcome.status == "conflict":
                conflicts[city] = conflicts.get(city, 0) + 1
                todo.append(city)
                continue
            if outcome.status == "methodology":
                reports[city] = RecomputeReport(city, "methodology", conflicts=conflicts.get(city, 0))
                continue
            done = now_ms()
            reports[city] = RecomputeReport(
                city, "changed" if item.commit.changed else "unchanged",
                events=len(item.work.items),
                applied=len(item.work.items) - item.superseded - item.dead,
                superseded=item.superseded, dead=item.dead, conflicts=conflicts.get(city, 0),
                ranking_version=outcome.ranking_version, old_rank=outcome.old_rank,
                new_rank=outcome.new_rank, lags_ms=[done - a for a in item.acks],
                dead_letters=list(item.commit.dead),
            )
    for city in todo:
        reports[city] = RecomputeReport(city, "conflict", conflicts=conflicts.get(city, 0))
    return [reports[c] for c in dict.fromkeys(cities)]


def sweep(store: DirtyCities) -> list[str]:
    """Return dirty cities that had no queued recompute, now flagged as queued."""
    return store.claim_pending(list(store.iter_dirty()))

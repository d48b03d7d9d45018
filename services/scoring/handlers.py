"""Recompute one city from stored state: apply its new events, score, commit atomically."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from shared.index import index_date_of
from shared.jsonfast import canonical, compact, loads
from shared.methodology import Methodology
from shared.scoring import CityResult, score_city
from shared.state import SUPERSEDED, CityState, apply_event
from shared.store.cities import CityStore, CityWork, Commit
from shared.store.decode import event_from_stored

MAX_ATTEMPTS = 20


@dataclass
class RecomputeReport:
    city_id: str
    status: str  # "changed", "unchanged", "conflict" (left dirty) or "methodology" (outdated)
    events: int = 0
    applied: int = 0
    superseded: int = 0
    conflicts: int = 0
    ranking_version: int = 0
    old_rank: int | None = None
    new_rank: int | None = None
    lags_ms: list[int] = field(default_factory=list)


def card_of(result: CityResult) -> dict[str, object]:
    """Return the compact ranking-table row of a result."""
    profile = result.profile or {}
    return {
        "city_id": result.city_id, "name": profile.get("name", result.city_id),
        "country": profile.get("country"), "region": profile.get("region"),
        "score": result.score, "coverage": result.coverage, "reason": result.reason,
        "pillars": {k: p.score for k, p in result.pillars.items()},
    }


def _fold(work: CityWork) -> tuple[CityState, int, list[int]]:
    """Apply the inbox to the state; return it, how many arrived superseded, and ack times."""
    state = (CityState.from_dict(loads(work.state_json)) if work.state_json
             else CityState(work.city_id))
    superseded = 0
    acks: list[int] = []
    for log_id, body in work.items:
        if apply_event(state, event_from_stored(loads(body))).status == SUPERSEDED:
            superseded += 1
        acks.append(int(log_id.split("-", 1)[0]))  # a log id starts with its append time (ms)
    return state, superseded, acks


@dataclass
class _Prepared:
    work: CityWork
    commit: Commit
    superseded: int
    acks: list[int]


def _prepare(work: CityWork, methodology: Methodology, now_ms: Callable[[], int]) -> _Prepared:
    state, superseded, acks = _fold(work)
    result = score_city(state, methodology, index_date_of(work.index_date or None, methodology))
    result_json = canonical(result.to_dict())
    pillars = [(p.code, result.pillars[p.code].score) for p in methodology.pillars]
    history = compact({"index_date": result.index_date, "score": result.score,
                       "pillars": dict(pillars), "events": len(work.items)})[1:-1]
    commit = Commit(
        city_id=work.city_id, rev=work.rev, consumed=len(work.items),
        state_json=canonical(state.to_dict()),
        result_json=result_json,
        card_json=canonical(card_of(result)),
        score=result.score, reason=result.reason or "", index_date=work.index_date,
        methodology=methodology.version, now_ms=now_ms(), changed=result_json != work.result_json,
        history_body=history, pillars=pillars,
    )
    return _Prepared(work, commit, superseded, acks)


def recompute_cities(
    cities: list[str], store: CityStore, methodology: Methodology, now_ms: Callable[[], int],
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
            else:
                prepared.append(_prepare(work, methodology, now_ms))
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
                events=len(item.work.items), applied=len(item.work.items) - item.superseded,
                superseded=item.superseded, conflicts=conflicts.get(city, 0),
                ranking_version=outcome.ranking_version, old_rank=outcome.old_rank,
                new_rank=outcome.new_rank, lags_ms=[done - a for a in item.acks],
            )
    for city in todo:
        reports[city] = RecomputeReport(city, "conflict", conflicts=conflicts.get(city, 0))
    return [reports[c] for c in dict.fromkeys(cities)]


def sweep(store: CityStore) -> list[str]:
    """Return dirty cities that had no queued recompute, now flagged as queued."""
    return store.claim_pending(list(store.iter_dirty()))

"""Recompute one city from stored state: apply its new events, score, commit atomically."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.index import index_date_of
from shared.methodology import Methodology
from shared.scoring import CityResult, score_city
from shared.state import SUPERSEDED, CityState, apply_event
from shared.store.cities import CityStore, CityWork, Commit
from shared.store.decode import event_from_stored

MAX_ATTEMPTS = 20


class RecomputeConflict(RuntimeError):
    """Another worker kept committing the same city; the task retries later."""


@dataclass
class RecomputeReport:
    city_id: str
    status: str  # "changed", "unchanged" or "methodology" (this worker is outdated)
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


def _fold(work: CityWork) -> tuple[CityState, dict[str, str], list[str], list[int]]:
    state = (CityState.from_dict(json.loads(work.state_json)) if work.state_json
             else CityState(work.city_id))
    statuses: dict[str, str] = {}
    displaced: list[str] = []
    acks: list[int] = []
    for item in work.items:
        ack, _, body = item.partition(" ")
        event = event_from_stored(json.loads(body))
        outcome = apply_event(state, event)
        statuses[event.event_id] = outcome.status
        if outcome.displaced is not None:
            if outcome.displaced in statuses:
                statuses[outcome.displaced] = SUPERSEDED
            else:
                displaced.append(outcome.displaced)
        acks.append(int(ack))
    return state, statuses, displaced, acks


def recompute_city(
    city: str, store: CityStore, methodology: Methodology, now_ms: Callable[[], int],
    max_events: int = 20_000,
) -> RecomputeReport:
    """Fold the city's new events into its state, rescore it and commit, retrying on conflict."""
    store.release_pending(city)
    conflicts = 0
    for _ in range(MAX_ATTEMPTS):
        work = store.read(city, max_events)
        if work.methodology != methodology.version:
            return RecomputeReport(city, "methodology")
        state, statuses, displaced, acks = _fold(work)
        result = score_city(state, methodology, index_date_of(work.index_date or None, methodology))
        result_json = json.dumps(result.to_dict(), separators=(",", ":"), sort_keys=True)
        changed = result_json != work.result_json
        pillars = [(p.code, result.pillars[p.code].score) for p in methodology.pillars]
        history = json.dumps({"index_date": result.index_date, "score": result.score,
                              "pillars": dict(pillars), "events": len(work.items)},
                             separators=(",", ":"))[1:-1]
        outcome = store.commit(Commit(
            city_id=city, rev=work.rev, consumed=len(work.items),
            state_json=json.dumps(state.to_dict(), separators=(",", ":"), sort_keys=True),
            result_json=result_json,
            card_json=json.dumps(card_of(result), separators=(",", ":"), sort_keys=True),
            score=result.score, reason=result.reason or "", index_date=work.index_date,
            methodology=methodology.version, now_ms=now_ms(), changed=changed,
            history_body=history, pillars=pillars, statuses=list(statuses.items()),
            displaced=displaced,
        ))
        if outcome.status == "conflict":
            conflicts += 1
            continue
        if outcome.status == "methodology":
            return RecomputeReport(city, "methodology", conflicts=conflicts)
        done = now_ms()
        n_super = sum(1 for s in statuses.values() if s == SUPERSEDED)
        return RecomputeReport(
            city, "changed" if changed else "unchanged", events=len(work.items),
            applied=len(statuses) - n_super, superseded=n_super, conflicts=conflicts,
            ranking_version=outcome.ranking_version, old_rank=outcome.old_rank,
            new_rank=outcome.new_rank, lags_ms=[done - a for a in acks],
        )
    raise RecomputeConflict(f"city {city!r}: {conflicts} conflicting commits in a row")


def sweep(store: CityStore) -> list[str]:
    """Return dirty cities that had no queued recompute, now flagged as queued."""
    return store.claim_pending(list(store.iter_dirty()))

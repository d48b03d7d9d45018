"""The review gate: what a scoped feed may move without an operator, per city and window.

A scoped (non-admin) feed's events are compared with the city's *approved position*: its
state, queued events included, when the review window opened (or when an operator last
decided: an admin feed's event or a release restarts the window). Within a window a scoped
feed may move each indicator at most `review_jump_points` normalised points from that
position, each pillar (the derived adoption pillar included) as far, and the city's overall
score at most `review_score_points`. The batch is folded onto everything already accepted
for the city (stored state plus queued inbox), so neither many small steps nor queued events
walk around it. An indicator past its budget is held alone; when the rest would still move a
pillar or the score past its budget, every score-moving event of that city in the batch is
held as a batch. The same pure scoring functions the workers use compute the positions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.contract.events import (
    SCORE_MOVING,
    Event,
    IndicatorObserved,
    decode_event,
)
from shared.contract.jsonfast import compact, loads
from shared.contract.methodology import Methodology
from shared.domain.index import index_date_of
from shared.domain.records import CityWork
from shared.domain.scoring import CityResult, normalise, score_city
from shared.domain.state import CityState, apply_event

# A scoped batch is judged against the city's queued events too; past this many queued, it
# waits (429) until scoring catches up rather than reading an unbounded queue.
REVIEW_MAX_QUEUED = 20_000


@dataclass(frozen=True)
class Baseline:
    """A city's approved position: where the review window measures a scoped feed's moves from."""

    since_ms: int  # when the window opened
    methodology: str
    index_date: str
    score: float | None
    pillars: dict[str, float | None]
    values: dict[str, float]  # raw observed indicator values

    def to_stored(self) -> str:
        """Return the stored JSON of this baseline."""
        return compact({"since_ms": self.since_ms, "methodology": self.methodology,
                        "index_date": self.index_date, "score": self.score,
                        "pillars": self.pillars, "values": self.values})

    @classmethod
    def from_stored(cls, raw: str) -> Baseline:
        """Read a baseline back from its stored JSON."""
        d = loads(raw)
        return cls(int(d["since_ms"]), str(d["methodology"]), str(d["index_date"]),
                   d["score"], dict(d["pillars"]), {k: float(v) for k, v in d["values"].items()})


@dataclass(frozen=True)
class Judgement:
    """The gate's answer for one batch."""

    holds: dict[int, dict[str, Any]]  # position in the batch -> its held entry (not yet JSON)
    opened: dict[str, Baseline]  # cities whose window opens now: baselines to store


def _fold(state: CityState, body: str) -> None:
    """Apply one stored body as a worker would; one that cannot apply changes nothing."""
    try:
        apply_event(state, decode_event(body))
    except Exception:  # noqa: BLE001 - the worker dead-letters it: it changes nothing
        pass


def baseline_of(result: CityResult, state: CityState, now_ms: int) -> Baseline:
    """Return the approved position of a city scored as `result` from `state`."""
    return Baseline(now_ms, result.methodology_version, result.index_date, result.score,
                    {code: p.score for code, p in result.pillars.items()},
                    {code: float(obs["value"]) for code, obs in state.indicators.items()})


def _entry(event: Event, feed: str, rule: str, measure: str, current: float | None,
           proposed: float | None, current_points: float | None,
           proposed_points: float | None, budget: float, base: Baseline,
           now: datetime, body: str) -> dict[str, Any]:
    data = event.data
    return {
        "event_id": event.event_id, "type": event.type, "city_id": event.city_id,
        "feed": feed, "rule": rule, "measure": measure, "budget": budget,
        "indicator": data.indicator if isinstance(data, IndicatorObserved) else None,
        "project_id": getattr(data, "project_id", None),
        "current": current, "proposed": proposed,
        "current_points": current_points, "proposed_points": proposed_points,
        "window_start_ms": base.since_ms, "occurred_at": event.occurred_at.isoformat(),
        "held_ms": int(now.timestamp() * 1000), "body": body,
    }


def judge(batch: Sequence[tuple[int, Event, str]], feed: str, works: Sequence[CityWork],
          baselines: Mapping[str, Baseline | None], methodology: Methodology,
          now: datetime) -> Judgement:
    """Return which of a scoped feed's events to hold, by their position in the batch.

    batch: (position, event, canonical body) of the events about to be stored; works: each
    touched city's stored state and queued inbox; baselines: each city's stored approved
    position (None or stale: the window opens now, from the state plus the queue).
    """
    now_ms = int(now.timestamp() * 1000)
    by_city: dict[str, list[tuple[int, Event, str]]] = {}
    for item in batch:
        if item[1].type in SCORE_MOVING and item[1].city_id is not None:
            by_city.setdefault(item[1].city_id, []).append(item)
    holds: dict[int, dict[str, Any]] = {}
    opened: dict[str, Baseline] = {}
    jump, score_budget = methodology.review_jump_points, methodology.review_score_points
    for work in works:
        events = by_city.get(work.city_id)
        if not events:
            continue
        state = (CityState.from_dict(loads(work.state_json)) if work.state_json
                 else CityState(work.city_id))
        day = index_date_of(work.index_date or None, methodology)
        for _, body in work.items:
            _fold(state, body)
        base = baselines.get(work.city_id)
        if (base is None or base.methodology != methodology.version
                or base.index_date != day.isoformat()):
            base = baseline_of(score_city(state, methodology, day), state, now_ms)
            opened[work.city_id] = base
        kept: list[tuple[int, Event, str]] = []
        for pos, event, body in events:
            data = event.data
            if isinstance(data, IndicatorObserved) and data.indicator in base.values:
                indicator = methodology.indicator(data.indicator)
                before = normalise(base.values[data.indicator], indicator)
                after = normalise(data.value, indicator)
                if abs(after - before) > jump:
                    holds[pos] = _entry(event, feed, "indicator_jump", data.indicator,
                                        base.values[data.indicator], data.value, before, after,
                                        jump, base, now, body)
                    continue
            kept.append((pos, event, body))
        if not kept:
            continue
        for _, _, body in kept:
            _fold(state, body)
        after_result = score_city(state, methodology, day)
        over = _over_budget(base, after_result, jump, score_budget)
        if over is None:
            continue
        measure, current, proposed, budget = over
        for pos, event, body in kept:
            holds[pos] = _entry(event, feed, f"{'score' if measure == 'score' else 'pillar'}"
                                "_budget", measure, current, proposed, current, proposed,
                                budget, base, now, body)
    return Judgement(holds, opened)


def _over_budget(base: Baseline, after: CityResult, jump: float, score_budget: float
                 ) -> tuple[str, float | None, float | None, float] | None:
    """Return (measure, approved, proposed, budget) of the first budget the city would pass."""
    if base.score is not None and after.score is not None \
            and abs(after.score - base.score) > score_budget:
        return "score", base.score, after.score, score_budget
    for code, pillar in after.pillars.items():
        approved = base.pillars.get(code)
        if approved is None or pillar.score is None:
            if approved != pillar.score:  # a pillar that appears or vanishes moves the most
                return code, approved, pillar.score, jump
            continue
        if abs(pillar.score - approved) > jump:
            return code, approved, pillar.score, jump
    return None

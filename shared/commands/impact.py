"""Predict what a batch would do to the ranking: the dry run's impact, with the workers' rules.

The prediction folds each touched city's stored state, its queued inbox and then the batch
with the same functions the scoring workers use (decode_event, apply_event, score_city),
and ranks with rank_scores, the one definition of a rank. Nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from shared.contract.events import Event, decode_event
from shared.contract.jsonfast import loads
from shared.contract.methodology import Methodology
from shared.domain.index import index_date_of
from shared.domain.records import CityWork
from shared.domain.scoring import CityResult, rank_scores, score_city
from shared.domain.scoring.explain import rank_change
from shared.domain.state import CityState, apply_event

# Enough to read any inbox whole (it is bounded by the backlog limit); one batch is small.
_ALL = 1 << 30


class CityReader(Protocol):
    def read_many(self, cities: Sequence[str], max_items: int) -> list[CityWork]: ...


class ScoreReader(Protocol):
    def scores(self) -> list[tuple[str, float]]: ...


def _fold(state: CityState, body: str) -> None:
    """Apply one stored body as a worker would; one that cannot apply is left out (a dead letter)."""
    try:
        apply_event(state, decode_event(body))
    except Exception:  # noqa: BLE001 - the worker dead-letters it: it changes nothing
        pass


def _pillars(result: CityResult, methodology: Methodology) -> dict[str, float | None]:
    return {p.code: result.pillars[p.code].score for p in methodology.pillars}


def impact_of(accepted: Sequence[tuple[Event, str]], works: Sequence[CityWork],
              published: Sequence[tuple[str, float]], methodology: Methodology
              ) -> list[dict[str, Any]]:
    """Return, per touched city, score, rank and pillar scores before and after the batch.

    before: the city as the workers will score what is already accepted (its state plus its
    inbox; the published score when nothing is queued); after: the same with the batch.
    Ranks are among every published score with the touched cities' own before or after.
    """
    batch: dict[str, list[str]] = {}
    for event, body in accepted:
        if event.city_id is not None:
            batch.setdefault(event.city_id, []).append(body)
    before: dict[str, CityResult] = {}
    after: dict[str, CityResult] = {}
    for work in works:
        state = (CityState.from_dict(loads(work.state_json)) if work.state_json
                 else CityState(work.city_id))
        day = index_date_of(work.index_date or None, methodology)
        for _, body in work.items:
            _fold(state, body)
        before[work.city_id] = score_city(state, methodology, day)
        for body in batch.get(work.city_id, []):
            _fold(state, body)
        after[work.city_id] = score_city(state, methodology, day)

    def ranks(results: dict[str, CityResult]) -> dict[str, int]:
        scores = {c: s for c, s in published if c not in results}
        scores.update({c: r.score for c, r in results.items() if r.score is not None})
        return {item.city_id: item.rank for item in rank_scores(scores.items())}

    rank_before, rank_after = ranks(before), ranks(after)
    out = []
    for city in batch:
        if city not in before:
            continue
        b, a = before[city], after[city]
        pb, pa = _pillars(b, methodology), _pillars(a, methodology)
        out.append({"city_id": city, "score_before": b.score, "score_after": a.score,
                    **rank_change(rank_before.get(city), rank_after.get(city)),
                    "pillars": {code: [pb[code], pa[code]] for code in pb}})
    return out


def predict_impact(accepted: Sequence[tuple[Event, str]], cities: CityReader,
                   ranking: ScoreReader, methodology: Methodology) -> list[dict[str, Any]]:
    """Read the touched cities and the published scores, then return impact_of() them."""
    touched = list(dict.fromkeys(e.city_id for e, _ in accepted if e.city_id is not None))
    if not touched:
        return []
    works = cities.read_many(touched, _ALL)
    return impact_of(accepted, works, ranking.scores(), methodology)

"""Why a city's score and rank changed: pure decompositions between two states.

The score change is split over pillars by exact Shapley values of the one `aggregate`, and
each pillar's share over the indicators that moved in it; the rank change is split into the
part the city's own score explains and the part other cities' scores explain, with ranks
only from `rank_scores`. Pure: no clock, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from shared.contract.methodology import Methodology
from shared.domain.scoring.aggregate import aggregate
from shared.domain.scoring.ranking import rank_scores

MAX_SHAPLEY_INDICATORS = 12  # above this many moved indicators in a pillar: sequential attribution
SUM_EPSILON = 1e-12  # a pillar game whose total is within this of 0 is attributed by the slope


@dataclass(frozen=True)
class PillarEnd:
    score: float | None  # pillar score 0-100 at this end, None if below coverage threshold
    coverage: float  # share of the pillar's total indicator weight observed, 0-1


@dataclass(frozen=True)
class IndicatorMove:
    code: str  # indicator code (methodology.indicator(code) gives pillar, weight)
    from_norm: float | None  # normalised value at the start, None = not observed then
    to_norm: float | None  # at the end, None = not observed


@dataclass(frozen=True)
class Decomposition:
    score_from: float | None
    score_to: float | None
    score_delta: float | None  # None if either end is unranked (a pillar None)
    pillars: dict[str, float]  # every pillar code -> contribution in points (0.0 if unchanged)
    indicators: dict[str, float]  # every moved indicator code -> contribution in points


@dataclass(frozen=True)
class RankMove:
    rank_from: int | None
    rank_to: int | None
    rank_delta: int | None  # rank_to - rank_from (positive = fell), None if either is None
    own: int | None  # part of rank_delta from the city's own score change
    others: int | None  # part from other cities' changes; own + others == rank_delta
    passed: list[tuple[str, int]]  # (city_id, rank_to): above at the start, below at the end
    passed_by: list[tuple[str, int]]  # (city_id, rank_to): below at the start, above at the end

    @property
    def places_gained(self) -> int | None:
        """Return the places the city rose (negative: fell): -rank_delta."""
        return None if self.rank_delta is None else -self.rank_delta

    @property
    def places_gained_own(self) -> int | None:
        """Return the part of places_gained the city's own score change explains."""
        return None if self.own is None else -self.own

    @property
    def places_gained_others(self) -> int | None:
        """Return the part of places_gained other cities' changes explain."""
        return None if self.others is None else -self.others


def places_gained(rank_before: int | None, rank_after: int | None) -> int | None:
    """Return the places a city rose from rank_before to rank_after (negative: it fell);
    None when it was unranked at either end. The one sign of a rank change: positive = rose."""
    if rank_before is None or rank_after is None:
        return None
    return rank_before - rank_after


def rank_change(rank_before: int | None, rank_after: int | None) -> dict[str, int | None]:
    """Return the public fields of a rank change: rank_before, rank_after, places_gained."""
    return {"rank_before": rank_before, "rank_after": rank_after,
            "places_gained": places_gained(rank_before, rank_after)}


def _shapley(n: int, value: Callable[[int], float]) -> list[float]:
    """Exact Shapley values of n players; value(mask) is the game on a bitmask coalition."""
    values = [value(mask) for mask in range(1 << n)]
    factorial = [math.factorial(k) for k in range(n + 1)]
    phi = [0.0] * n
    for i in range(n):
        bit = 1 << i
        for mask in range(1 << n):
            if mask & bit:
                continue
            size = mask.bit_count()
            share = factorial[size] * factorial[n - size - 1] / factorial[n]
            phi[i] += share * (values[mask | bit] - values[mask])
    return phi


def _overall(methodology: Methodology, pillars: Mapping[str, PillarEnd], method: str) -> float | None:
    scores = [pillars[p.code].score if p.code in pillars else None for p in methodology.pillars]
    if any(s is None for s in scores):
        return None
    return aggregate([(s or 0.0, p.weight) for s, p in zip(scores, methodology.pillars)], method)


def _indicator_game(
    methodology: Methodology, pillar: str, end: PillarEnd, moves: Sequence[IndicatorMove]
) -> Callable[[int], float]:
    """The pillar as a ratio of sums, with moved indicator i at its "to" state when bit i is set.

    The unchanged observed indicators are reconstructed from the "to" end: their weight is the
    observed weight minus the moved ones observed at "to", their weighted sum likewise. A
    coalition with no observed weight at all has the value 0.
    """
    total_weight = sum(i.weight for i in methodology.pillar_indicators(pillar))
    weights = [methodology.indicator(m.code).weight for m in moves]
    w_obs = end.coverage * total_weight
    s_rest = (end.score or 0.0) * w_obs
    w_rest = w_obs
    for m, w in zip(moves, weights):
        if m.to_norm is not None:
            s_rest -= w * m.to_norm
            w_rest -= w

    def value(mask: int) -> float:
        s, w_sum = s_rest, w_rest
        for i, (m, w) in enumerate(zip(moves, weights)):
            x = m.to_norm if mask >> i & 1 else m.from_norm
            if x is not None:
                s += w * x
                w_sum += w
        return s / w_sum if w_sum > SUM_EPSILON * total_weight else 0.0

    return value


def decompose(
    methodology: Methodology,
    from_pillars: dict[str, PillarEnd],
    to_pillars: dict[str, PillarEnd],
    moves: Sequence[IndicatorMove],
    aggregation: str | None = None,
) -> Decomposition:
    """Split a city's score change over its pillars and the indicators that moved.

    score_from and score_to are the `aggregate` of the pillar scores (in methodology order)
    by `aggregation or methodology.aggregation`; None if a pillar score is None (or missing),
    and then score_delta is None and both contribution dicts are empty.

    Pillars: exact Shapley values over the pillars whose score changed (the others get 0.0);
    they sum to score_delta to floating error, and under the arithmetic mean each equals the
    pillar's weight share times its change. Indicators: within each pillar, Shapley values
    (sequential in the given order above MAX_SHAPLEY_INDICATORS moves) of the moved
    indicators in the pillar rebuilt as a weighted mean of the observed values, scaled to sum
    exactly to the pillar's contribution; when that pillar game's total is ~0 (|total| <=
    1e-12 and not matching the pillar's own change) they are scaled by the slope of the
    overall score in the pillar at the "to" point instead. An indicator
    whose value did not move gets 0.0. Codes must be the methodology's (KeyError otherwise)
    and appear once in moves (ValueError otherwise).
    """
    codes = [m.code for m in moves]
    if len(codes) != len(set(codes)):
        raise ValueError("moves: an indicator code appears more than once")
    method = aggregation or methodology.aggregation
    score_from = _overall(methodology, from_pillars, method)
    score_to = _overall(methodology, to_pillars, method)
    if score_from is None or score_to is None:
        return Decomposition(score_from, score_to, None, {}, {})

    weights = [p.weight for p in methodology.pillars]
    start = [from_pillars[p.code].score or 0.0 for p in methodology.pillars]
    end = [to_pillars[p.code].score or 0.0 for p in methodology.pillars]
    changed = [j for j in range(len(start)) if start[j] != end[j]]

    def overall(mask: int) -> float:
        mixed = list(start)
        for k, j in enumerate(changed):
            if mask >> k & 1:
                mixed[j] = end[j]
        return aggregate(list(zip(mixed, weights)), method)

    pillars = {p.code: 0.0 for p in methodology.pillars}
    for j, phi in zip(changed, _shapley(len(changed), overall)):
        pillars[methodology.pillars[j].code] = phi

    indicators = {m.code: 0.0 for m in moves}
    weight_sum = sum(weights)
    for j, pillar in enumerate(methodology.pillars):
        moved = [m for m in moves if methodology.indicator(m.code).pillar == pillar.code
                 and m.from_norm != m.to_norm]
        if not moved:
            continue
        game = _indicator_game(methodology, pillar.code, to_pillars[pillar.code], moved)
        if len(moved) <= MAX_SHAPLEY_INDICATORS:
            phis = _shapley(len(moved), game)
        else:
            phis = [game((1 << (k + 1)) - 1) - game((1 << k) - 1) for k in range(len(moved))]
        total = sum(phis)
        # a tiny total that still matches the pillar's own change is real, not rounding
        # noise (a geometric pillar near 0): scaling keeps the sum exact there too
        matches = total != 0.0 and math.isclose(total, end[j] - start[j], rel_tol=1e-6)
        if abs(total) > SUM_EPSILON or matches:
            scale = pillars[pillar.code] / total
        elif method == "geometric":
            scale = score_to * (pillar.weight / weight_sum) / end[j] if end[j] > 0 else 0.0
        else:
            scale = pillar.weight / weight_sum
        for m, phi in zip(moved, phis):
            indicators[m.code] = scale * phi
    return Decomposition(score_from, score_to, score_to - score_from, pillars, indicators)


def rank_move(city_id: str, scores_from: Mapping[str, float], scores_to: Mapping[str, float]) -> RankMove:
    """Explain a city's rank change between two sets of scores, ranked by `rank_scores`.

    own is the rank the city would have with its "to" score among everyone else's "from"
    scores, minus rank_from; others is the rest of rank_delta. passed / passed_by list, in
    "to" order, the cities present at both ends that were above / below the city in the
    "from" ranking order and are below / above it in the "to" order (ties ordered by city id,
    as rank_scores lists them). Without a score at either end for the city: Nones, no lists.
    """
    ranked_from = rank_scores(scores_from.items())
    ranked_to = rank_scores(scores_to.items())
    pos_from = {item.city_id: n for n, item in enumerate(ranked_from)}
    pos_to = {item.city_id: n for n, item in enumerate(ranked_to)}
    rank_from = ranked_from[pos_from[city_id]].rank if city_id in pos_from else None
    rank_to = ranked_to[pos_to[city_id]].rank if city_id in pos_to else None
    if rank_from is None or rank_to is None:
        return RankMove(rank_from, rank_to, None, None, None, [], [])

    mixed = [(c, s) for c, s in scores_from.items() if c != city_id]
    mixed.append((city_id, scores_to[city_id]))
    own_rank = next(item.rank for item in rank_scores(mixed) if item.city_id == city_id)
    own = own_rank - rank_from
    delta = rank_to - rank_from

    me_from, me_to = pos_from[city_id], pos_to[city_id]
    passed: list[tuple[str, int]] = []
    passed_by: list[tuple[str, int]] = []
    for n, item in enumerate(ranked_to):
        before = pos_from.get(item.city_id)
        if before is None or item.city_id == city_id:
            continue
        if before < me_from and n > me_to:
            passed.append((item.city_id, item.rank))
        elif before > me_from and n < me_to:
            passed_by.append((item.city_id, item.rank))
    return RankMove(rank_from, rank_to, delta, own, delta - own, passed, passed_by)

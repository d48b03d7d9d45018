"""What it takes: the exact change that alone would lift a city's score above a target score.

Pure, and exact by construction: every candidate is scored with the functions that score a
city (normalise, pillar_score, overall_score, tally_measures), and the search is over the
doubles themselves (an indicator's value, a pillar's score) or the whole numbers (a count of
projects), so `required` is the first value, in the indicator's good direction, whose score
is strictly above the target; the one before it is not. The score is monotonic in each
lever (normalisation is monotonic and clamped; since 2025.2 every adoption measure only
grows with a deployed project), which is what makes a bisection exact.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.contract.methodology import Indicator, Methodology
from shared.domain.scoring.aggregate import CityResult, overall_score, pillar_score, score_city
from shared.domain.scoring.measures import ProjectTally, project_tally, tally_measures
from shared.domain.scoring.normalise import normalise
from shared.domain.state import CityState

# The measures that only grow when a deployed project is added (2025.2); the ratios of 2025.1
# can fall, so a methodology using them gets no project levers.
MONOTONIC_MEASURES = frozenset({
    "deployed_projects", "sector_breadth", "speed", "scaled_projects", "minority_side_deployed",
})
_SIGN = 0x7FFF_FFFF_FFFF_FFFF


def _ordinal(x: float) -> int:
    """Map a double to an integer with the same order (adjacent doubles: adjacent integers)."""
    bits: int = struct.unpack("<q", struct.pack("<d", x))[0]
    return bits if bits >= 0 else -(bits & _SIGN)


def _double(n: int) -> float:
    """Return the double whose _ordinal is n."""
    bits = n if n >= 0 else (-n) | ~_SIGN
    value: float = struct.unpack("<d", struct.pack("<q", bits))[0]
    return value


def first_passing(score: Callable[[float], float], start: float, bound: float,
                  target: float) -> float:
    """Return the double nearest start, towards bound, whose score is above target.

    score must be monotonic from start (not above target) to bound (above it).
    """
    fail, ok = _ordinal(start), _ordinal(bound)
    while abs(ok - fail) > 1:
        mid = (fail + ok) // 2
        if score(_double(mid)) > target:
            ok = mid
        else:
            fail = mid
    return _double(ok)


def first_count(score: Callable[[int], float], most: int, target: float) -> int:
    """Return the smallest count in 1..most whose score is above target (most: above it)."""
    fail, ok = 0, most
    while ok - fail > 1:
        mid = (fail + ok) // 2
        if score(mid) > target:
            ok = mid
        else:
            fail = mid
    return ok


@dataclass(frozen=True)
class Model:
    """A scored city taken apart: each pillar's (code, normalised, weight) parts and scores."""

    methodology: Methodology
    parts: dict[str, list[tuple[str, float, float]]]
    pillars: dict[str, float]
    score: float

    @classmethod
    def of(cls, result: CityResult, methodology: Methodology) -> Model:
        """Take a ranked city's result apart, in the order score_city adds it up."""
        parts: dict[str, list[tuple[str, float, float]]] = {}
        for pillar in methodology.pillars:
            parts[pillar.code] = [
                (ind.code, float(result.indicators[ind.code]["normalised"]), ind.weight)
                for ind in methodology.pillar_indicators(pillar.code)
                if ind.code in result.indicators]
        pillars = {p.code: result.pillars[p.code].score or 0.0 for p in methodology.pillars}
        return cls(methodology, parts, pillars, overall_score(pillars, methodology))

    def with_pillar(self, pillar: str, value: float) -> float:
        """Return the overall score with one pillar's score replaced."""
        return overall_score({**self.pillars, pillar: value}, self.methodology)

    def with_normalised(self, pillar: str, normalised: dict[str, float]) -> float:
        """Return the overall score with some of one pillar's normalised values replaced."""
        parts = [(normalised.get(code, n), w) for code, n, w in self.parts[pillar]]
        return self.with_pillar(pillar, pillar_score(parts))


def _relative(change: float, current: float) -> float | None:
    return None if current == 0 else change / abs(current) * 100.0


def indicator_lever(model: Model, ind: Indicator, current: float, target: float
                    ) -> dict[str, Any]:
    """Return the change of one observed indicator that alone lifts the score above target.

    The search runs from the current value to the goalpost in the good direction (beyond it
    the normalised value is clamped at 100; goalposts lie inside the plausible range).
    """
    def score(value: float) -> float:
        return model.with_normalised(ind.pillar, {ind.code: normalise(value, ind)})

    bound = ind.hi if ind.direction == "higher" else ind.lo
    if (current >= bound) if ind.direction == "higher" else (current <= bound):
        bound = current  # at or past the goalpost already: nothing left to gain
    best = score(bound)
    lever: dict[str, Any] = {"kind": "indicator", "indicator": ind.code, "pillar": ind.pillar,
                             "name": ind.name, "unit": ind.unit, "direction": ind.direction,
                             "current": current}
    if best <= target:
        change = bound - current
        return {**lever, "required": bound, "change": change,
                "change_pct": _relative(change, current), "sufficient": False,
                "best_points": best - model.score}
    required = first_passing(score, current, bound, target)
    change = required - current
    return {**lever, "required": required, "change": change,
            "change_pct": _relative(change, current), "sufficient": True,
            "score_after": score(required)}


def _saturation(methodology: Methodology) -> int:
    """Return a count past which more projects of one kind move no adoption measure: every
    count measure grows by at least half a project per project and clamps at its goalpost."""
    his = [ind.hi for ind in methodology.indicators if ind.derived is not None]
    return 2 * math.ceil(max(his, default=0.0)) + 2


def project_kinds(tally: ProjectTally, methodology: Methodology) -> list[tuple[str, str, str, bool]]:
    """Return the kinds of project a lever adds: (sector, owner, stage, new sector?), for each
    deployed stage and owner, in a sector the city has no deployment in yet and in one it has."""
    vocab = methodology.projects
    new = next((s for s in vocab.sectors if s not in tally.sectors), None)
    have = next((s for s in vocab.sectors if s in tally.sectors), None)
    kinds = []
    for stage in vocab.deployed_stages:
        for owner in vocab.owners:
            for sector, fresh in ((new, True), (have, False)):
                if sector is not None:
                    kinds.append((sector, owner, stage, fresh))
    return kinds


def project_levers(model: Model, tally: ProjectTally, index_date: date, target: float,
                   max_new: int | None = None) -> list[dict[str, Any]]:
    """Return, per kind of project, how many more of them alone lift the score above target.

    The projects are started and deployed on the index date (so they count towards speed);
    at most max_new of them (the records a city may still add), else until adoption saturates.
    """
    methodology = model.methodology
    adoption = [ind for ind in methodology.indicators if ind.derived is not None]
    if not adoption or not {i.derived for i in adoption} <= MONOTONIC_MEASURES:
        return []
    pillar = adoption[0].pillar
    most = _saturation(methodology) if max_new is None else min(_saturation(methodology), max_new)
    levers = []
    for sector, owner, stage, fresh in project_kinds(tally, methodology):
        def score(count: int, sector: str = sector, owner: str = owner, stage: str = stage
                  ) -> float:
            measures = tally_measures(tally.plus(count, sector, owner, stage), methodology)
            return model.with_normalised(pillar, {
                ind.code: normalise(measures[ind.derived], ind)
                for ind in adoption if ind.derived in measures})

        lever: dict[str, Any] = {
            "kind": "projects", "pillar": pillar,
            "project": {"sector": sector, "owner": owner, "stage": stage,
                        "started_at": index_date.isoformat()},
            "new_sector": fresh, "current": tally.deployed}
        best = score(most) if most > 0 else model.score
        if best <= target:
            levers.append({**lever, "count": most, "change_pct": _relative(most, tally.deployed),
                           "sufficient": False, "best_points": best - model.score})
            continue
        count = first_count(score, most, target)
        levers.append({**lever, "count": count, "change_pct": _relative(count, tally.deployed),
                       "sufficient": True, "score_after": score(count)})
    return levers


def pillar_needs(model: Model, target: float) -> dict[str, dict[str, Any]]:
    """Return per pillar the score it alone would need (others unchanged) to pass target."""
    out: dict[str, dict[str, Any]] = {}
    for code, current in model.pillars.items():
        def score(value: float, code: str = code) -> float:
            return model.with_pillar(code, value)

        best = score(100.0)
        if best <= target or current >= 100.0:
            out[code] = {"current": current, "required": 100.0, "sufficient": False,
                         "best_points": best - model.score}
        else:
            out[code] = {"current": current,
                         "required": first_passing(score, current, 100.0, target),
                         "sufficient": True}
    return out


def _order(lever: dict[str, Any]) -> tuple[bool, float, str]:
    pct = lever["change_pct"]
    name = lever.get("indicator") or "~projects " + " ".join(lever["project"].values())
    return not lever["sufficient"], math.inf if pct is None else abs(pct), name


def what_it_takes(state: CityState, methodology: Methodology, index_date: date,
                  target: float, max_new_projects: int | None = None) -> dict[str, Any] | None:
    """Return the city's score, the points it needs to pass target, its levers and pillars.

    None when the city has no overall score. Levers come sufficient first, then by relative
    change, smallest first; a city already above target gets none.
    """
    result = score_city(state, methodology, index_date)
    if result.score is None:
        return None
    model = Model.of(result, methodology)
    doc: dict[str, Any] = {"score": result.score, "points_needed": target - result.score,
                           "levers": [], "pillars": {}}
    if result.score > target:
        return doc
    levers = [indicator_lever(model, ind, float(result.indicators[ind.code]["raw"]), target)
              for ind in methodology.indicators
              if ind.derived is None and ind.code in result.indicators]
    tally = project_tally(state.projects, methodology, index_date)
    if tally is not None:
        levers += project_levers(model, tally, index_date, target, max_new_projects)
    doc["levers"] = sorted(levers, key=_order)
    doc["pillars"] = pillar_needs(model, target)
    return doc

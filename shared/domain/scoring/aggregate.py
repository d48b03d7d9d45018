"""Pillar and overall scores of one city, from its own state only."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.contract.methodology import Methodology
from shared.domain.records import EntryVersion
from shared.domain.scoring.freshness import is_stale, last_data_at
from shared.domain.scoring.measures import adoption_measures, project_summary
from shared.domain.scoring.normalise import normalise
from shared.domain.state import CityState


@dataclass(frozen=True)
class PillarResult:
    score: float | None
    coverage: float
    reason: str | None = None


@dataclass(frozen=True)
class CityResult:
    """A city's scores with everything needed to explain them."""

    city_id: str
    methodology_version: str
    index_date: str
    profile: dict[str, Any] | None
    score: float | None
    reason: str | None
    coverage: float
    pillars: dict[str, PillarResult]
    indicators: dict[str, dict[str, Any]]
    projects: dict[str, Any]
    # the newest occurred_at behind the score (UTC, None without data) and whether it is
    # older than the methodology's stale_after_days before the index date
    last_data_at: str | None = None
    stale: bool = True

    @property
    def ranked(self) -> bool:
        """Tell whether the city has an overall score."""
        return self.score is not None

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data (shares the nested dicts: serialise, don't mutate)."""
        # Hand-written rather than dataclasses.asdict, which deep-copies every value and
        # was a third of a recompute's time.
        return {
            "city_id": self.city_id, "methodology_version": self.methodology_version,
            "index_date": self.index_date, "profile": self.profile, "score": self.score,
            "reason": self.reason, "coverage": self.coverage,
            "pillars": {k: {"score": p.score, "coverage": p.coverage, "reason": p.reason}
                        for k, p in self.pillars.items()},
            "indicators": self.indicators, "projects": self.projects,
            "last_data_at": self.last_data_at, "stale": self.stale,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CityResult:
        """Rebuild from to_dict() output."""
        pillars = {k: PillarResult(**v) for k, v in raw["pillars"].items()}
        return cls(**{**raw, "pillars": pillars})


def aggregate(scores: list[tuple[float, float]], method: str) -> float:
    """Combine (score, weight) pairs by weighted arithmetic or geometric mean."""
    total = sum(w for _, w in scores)
    if method == "geometric":
        if any(s <= 0.0 for s, _ in scores):
            return 0.0
        return math.exp(sum(w * math.log(s) for s, w in scores) / total)
    return sum(s * w for s, w in scores) / total


def pillar_score(parts: list[tuple[float, float]]) -> float:
    """Return a pillar's score from its observed (normalised, weight) parts, in file order."""
    return aggregate(parts, "arithmetic")


def overall_score(pillar_scores: dict[str, float], methodology: Methodology) -> float:
    """Return the overall score from every pillar's score under the methodology's aggregation."""
    return aggregate([(pillar_scores[p.code], p.weight) for p in methodology.pillars],
                     methodology.aggregation)


def score_city(state: CityState, methodology: Methodology, index_date: date) -> CityResult:
    """Score one city from its state, the methodology and the index date (never the clock)."""
    measures = adoption_measures(state.projects, methodology, index_date)
    indicators: dict[str, dict[str, Any]] = {}
    pillars: dict[str, PillarResult] = {}
    observed_weight = 0.0
    total_weight = 0.0
    for pillar in methodology.pillars:
        parts: list[tuple[float, float]] = []
        weight_all = 0.0
        for ind in methodology.pillar_indicators(pillar.code):
            weight_all += ind.weight
            if ind.derived is not None:
                if ind.derived not in measures:
                    continue
                raw = measures[ind.derived]
                info: dict[str, Any] = {"raw": raw, "observed_at": None, "event_id": None,
                                        "derived": True}
            else:
                obs = state.indicators.get(ind.code)
                if obs is None:
                    continue
                raw = obs["value"]
                info = {"raw": raw, "observed_at": obs["at"], "event_id": EntryVersion.of(obs).event_id,
                        "derived": False}
            norm = normalise(raw, ind)
            info["normalised"] = norm
            indicators[ind.code] = info
            parts.append((norm, ind.weight))
        observed = sum(w for _, w in parts)
        coverage = observed / weight_all
        observed_weight += observed
        total_weight += weight_all
        if coverage + 1e-12 < methodology.coverage_threshold:
            reason = (f"{pillar.code}: {coverage:.0%} of indicator weight observed, "
                      f"below the {methodology.coverage_threshold:.0%} threshold")
            pillars[pillar.code] = PillarResult(None, coverage, reason)
        else:
            pillars[pillar.code] = PillarResult(pillar_score(parts), coverage)

    reasons = [p.reason for p in pillars.values() if p.reason]
    if state.profile is None:
        reasons.insert(0, "no city.upserted event: name, country and region unknown")
    score = None
    if not reasons:
        score = overall_score(
            {p.code: pillars[p.code].score or 0.0 for p in methodology.pillars}, methodology)
    profile = None
    if state.profile is not None:
        profile = {k: state.profile[k] for k in
                   ("name", "country", "region", "population", "lat", "lon")}
    last_at = last_data_at(state.indicators, state.projects, methodology)
    return CityResult(
        city_id=state.city_id, methodology_version=methodology.version,
        index_date=index_date.isoformat(), profile=profile, score=score,
        reason="; ".join(reasons) if reasons else None,
        coverage=observed_weight / total_weight, pillars=pillars, indicators=indicators,
        projects=project_summary(state.projects), last_data_at=last_at,
        stale=is_stale(last_at, index_date, methodology.stale_after_days),
    )

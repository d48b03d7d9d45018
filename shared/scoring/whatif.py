"""What-if weights: the ranking recomputed from stored pillar scores with other weights.

Pure: the same `aggregate` that scores a city and the one `rank_scores`; no clock, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from shared.scoring.aggregate import aggregate
from shared.scoring.ranking import RankedItem, rank_scores

AGGREGATIONS = ("arithmetic", "geometric")
MAX_WEIGHT = 1e6  # a weight above this is a typo, not a preference


class WeightsError(ValueError):
    """A weights= or aggregation= value that breaks a rule; the message names the parameter."""


@dataclass(frozen=True)
class WhatIf:
    weights: dict[str, float]  # pillar code -> weight, renormalised to sum to 1
    aggregation: str


def parse_weights(raw: str, codes: Sequence[str]) -> dict[str, float]:
    """Parse `code:number,...` into weights renormalised to sum to 1.

    Any non-negative numbers; a pillar not named weighs 0. Unknown or repeated pillars,
    malformed, negative or non-finite numbers and an all-zero set are refused.
    """
    given: dict[str, float] = {}
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        code, sep, number = part.partition(":")
        code = code.strip()
        if not sep:
            raise WeightsError(f"weights: {part!r} is not pillar:number")
        if code not in codes:
            raise WeightsError(f"weights: unknown pillar {code!r}; pillars are "
                               f"{', '.join(codes)}")
        if code in given:
            raise WeightsError(f"weights: pillar {code!r} given twice")
        try:
            value = float(number)
        except ValueError as exc:
            raise WeightsError(f"weights: {number.strip()!r} is not a number") from exc
        if not math.isfinite(value) or value < 0 or value > MAX_WEIGHT:
            raise WeightsError(f"weights: {code} must be a number from 0 to {MAX_WEIGHT:g}")
        given[code] = value
    total = sum(given.values())
    if total <= 0:
        raise WeightsError("weights: at least one pillar must weigh more than 0")
    return {c: given.get(c, 0.0) / total for c in codes}


def parse_aggregation(raw: str) -> str:
    """Return a valid aggregation name or raise naming `aggregation`."""
    if raw not in AGGREGATIONS:
        raise WeightsError(f"aggregation: must be one of {', '.join(AGGREGATIONS)}")
    return raw


def whatif_score(pillars: Mapping[str, float | None], weights: Mapping[str, float],
                 aggregation: str) -> float | None:
    """Return the overall score from pillar scores under weights (zero weights left out)."""
    parts: list[tuple[float, float]] = []
    for code, w in weights.items():
        if w <= 0:
            continue
        score = pillars.get(code)
        if score is None:
            return None
        parts.append((float(score), w))
    return aggregate(parts, aggregation) if parts else None


def whatif_rank(rows: Iterable[Mapping[str, object]], spec: WhatIf
                ) -> tuple[list[RankedItem], dict[str, Mapping[str, object]]]:
    """Rank rows (each with city_id and a pillars dict) under the what-if weights.

    Returns the ranked items and the rows by city id (rows without a score are left out).
    """
    by_id: dict[str, Mapping[str, object]] = {}
    pairs: list[tuple[str, float]] = []
    for row in rows:
        city = str(row["city_id"])
        pillars = row.get("pillars") or {}
        assert isinstance(pillars, Mapping)
        score = whatif_score(pillars, spec.weights, spec.aggregation)
        if score is None:
            continue
        by_id[city] = row
        pairs.append((city, score))
    return rank_scores(pairs), by_id

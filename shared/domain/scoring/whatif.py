"""What-if weights: the ranking recomputed from stored pillar scores with other weights.

Pure: the same `aggregate` that scores a city and the one `rank_scores`; no clock, no I/O.
Reading weights= and aggregation= from a query is shared/queries/params.py's job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shared.domain.scoring.aggregate import aggregate
from shared.domain.scoring.ranking import RankedItem, rank_scores

AGGREGATIONS = ("arithmetic", "geometric")


@dataclass(frozen=True)
class WhatIf:
    weights: dict[str, float]  # pillar code -> weight, renormalised to sum to 1
    aggregation: str


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

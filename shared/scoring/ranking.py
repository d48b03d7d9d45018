"""Competition ranking: equal scores share a rank (1, 2, 2, 4)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class RankedItem:
    rank: int
    city_id: str
    score: float


def rank_scores(scores: Iterable[tuple[str, float]]) -> list[RankedItem]:
    """Rank (city_id, score) pairs by score at full precision; ties listed by city id."""
    ordered = sorted(scores, key=lambda cs: (-cs[1], cs[0]))
    items: list[RankedItem] = []
    for position, (city_id, score) in enumerate(ordered, start=1):
        rank = items[-1].rank if items and items[-1].score == score else position
        items.append(RankedItem(rank, city_id, score))
    return items


def rank_results(results: Iterable[object]) -> list[RankedItem]:
    """Rank CityResult-like objects that have a score (others are left out)."""
    pairs = [(r.city_id, r.score) for r in results if getattr(r, "score", None) is not None]  # type: ignore[attr-defined]
    return rank_scores(pairs)  # type: ignore[arg-type]

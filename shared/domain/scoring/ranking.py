"""Competition ranking: equal scores share a rank (1, 2, 2, 4)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


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


class Scored(Protocol):
    """Anything with a city id and an optional overall score, such as a CityResult."""

    @property
    def city_id(self) -> str: ...

    @property
    def score(self) -> float | None: ...


def rank_results(results: Iterable[Scored]) -> list[RankedItem]:
    """Rank CityResult-like objects that have a score (others are left out)."""
    pairs = [(r.city_id, score) for r in results if (score := r.score) is not None]
    return rank_scores(pairs)

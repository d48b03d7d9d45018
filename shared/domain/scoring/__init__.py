"""Pure scoring math: no Flask, Celery, Redis, Prometheus, clock or randomness."""

from shared.domain.scoring.aggregate import CityResult, PillarResult, score_city
from shared.domain.scoring.normalise import normalise
from shared.domain.scoring.ranking import RankedItem, rank_results, rank_scores

__all__ = [
    "CityResult", "PillarResult", "RankedItem", "normalise", "rank_results", "rank_scores",
    "score_city",
]

"""Pure scoring math: no Flask, Celery, Redis, Prometheus, clock or randomness."""

from shared.scoring.aggregate import CityResult, PillarResult, score_city
from shared.scoring.normalise import normalise
from shared.scoring.ranking import RankedItem, rank_results, rank_scores

__all__ = [
    "CityResult", "PillarResult", "RankedItem", "normalise", "rank_results", "rank_scores",
    "score_city",
]

"""Rank uncertainty bands: a Monte Carlo sensitivity analysis after the JRC/COINr practice.

Each draw perturbs every pillar weight by a factor 1 + U(-0.25, 0.25), renormalises, and
aggregates arithmetically or geometrically (a fair coin); the cities are ranked by the one
`rank_scores`. A city's band is the 5th, 50th and 95th percentile of its ranks over the
draws. Pure: numpy only, no clock; the caller passes the seeded Generator (the worker seeds
it from the ranking version, so one version always gives one band).

The draws are taken in this order, which a direct computation can replay: first the
(draws x pillars) weight factors, then one uniform per draw (< 0.5 means geometric).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shared.domain.records import RankBand
from shared.domain.scoring.ranking import rank_scores

DRAWS = 1000
SPREAD = 0.25  # each weight times 1 + U(-SPREAD, SPREAD)
PERCENTILES = (5.0, 50.0, 95.0)


Band = RankBand  # a city's rank band (shared/domain/records.py: how it is stored)


def band_seed(ranking_version: int) -> np.random.Generator:
    """Return the Generator of a ranking version's bands (same version, same bands)."""
    return np.random.default_rng([0xA1C17, int(ranking_version)])


def draw_weights(weights: Sequence[float], rng: np.random.Generator, draws: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Return (draws x pillars renormalised weights, draws booleans: geometric)."""
    base = np.asarray(weights, dtype=float)
    factors = 1.0 + rng.uniform(-SPREAD, SPREAD, size=(draws, base.size))
    w = base * factors
    w /= w.sum(axis=1, keepdims=True)
    geometric = rng.random(draws) < 0.5
    return w, geometric


def draw_scores(scores: np.ndarray, w: np.ndarray, geometric: np.ndarray) -> np.ndarray:
    """Return (cities x draws) overall scores, as shared.domain.scoring.aggregate computes them."""
    out = np.empty((scores.shape[0], w.shape[0]))
    arith = ~geometric
    if arith.any():
        out[:, arith] = scores @ w[arith].T
    if geometric.any():
        positive = np.all(scores > 0, axis=1)
        logs = np.log(np.where(scores > 0, scores, 1.0))
        geo = np.exp(logs @ w[geometric].T)
        geo[~positive] = 0.0  # aggregate(): any pillar at 0 makes the geometric mean 0
        out[:, geometric] = geo
    return out


def rank_bands(city_ids: Sequence[str], scores: np.ndarray, weights: Sequence[float],
               rng: np.random.Generator, draws: int = DRAWS) -> dict[str, Band]:
    """Return every city's rank band over `draws` perturbed weightings.

    `scores` is (cities x pillars) in the order of `weights`; ranks come from rank_scores.
    """
    if not city_ids:
        return {}
    w, geometric = draw_weights(weights, rng, draws)
    totals = draw_scores(np.asarray(scores, dtype=float), w, geometric)
    index = {c: i for i, c in enumerate(city_ids)}
    ranks = np.empty((len(city_ids), draws), dtype=np.int32)
    for d in range(draws):
        column = ranks[:, d]
        for item in rank_scores(zip(city_ids, totals[:, d].tolist())):
            column[index[item.city_id]] = item.rank
    p05, median, p95 = np.percentile(ranks, PERCENTILES, axis=1, method="inverted_cdf")
    return {c: Band(int(median[i]), int(p05[i]), int(p95[i])) for c, i in index.items()}

"""Normalisation of a raw indicator value onto 0-100 with fixed goalposts."""

from __future__ import annotations

import math

from shared.contract.methodology import Indicator


def _transform(value: float, transform: str) -> float:
    if transform == "log":
        return math.log10(max(value, 0.0) + 1.0)
    return value


def normalise(value: float, indicator: Indicator) -> float:
    """Map a raw value to 0-100: transform, scale between goalposts, orient, clamp."""
    lo = _transform(indicator.lo, indicator.transform)
    hi = _transform(indicator.hi, indicator.transform)
    x = _transform(value, indicator.transform)
    score = (x - lo) / (hi - lo) * 100.0
    if indicator.direction == "lower":
        score = 100.0 - score
    return min(100.0, max(0.0, score))


def denormalise(score: float, indicator: Indicator) -> float:
    """Return the raw value that normalises to score (0-100); the inverse of normalise."""
    if indicator.direction == "lower":
        score = 100.0 - score
    lo = _transform(indicator.lo, indicator.transform)
    hi = _transform(indicator.hi, indicator.transform)
    x = lo + score / 100.0 * (hi - lo)
    if indicator.transform == "log":
        return float(10.0**x - 1.0)
    return x

"""Normalisation onto 0-100 with fixed goalposts, and its inverse."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.contract.methodology import Indicator, load_methodology
from shared.domain.scoring.normalise import denormalise, normalise

METHODOLOGY = load_methodology()


def indicator(
    lo: float, hi: float, direction: str = "higher", transform: str = "none"
) -> Indicator:
    """Return a stand-alone indicator with these goalposts."""
    return Indicator(code="x.test", pillar="research", name="test", unit="u",
                     direction=direction, transform=transform, lo=lo, hi=hi, weight=1.0)


LINEAR = indicator(0, 200)
LOG = indicator(0, 999, transform="log")  # log10(x + 1): 0 -> 0, 999 -> 3
LOWER = indicator(10, 80, direction="lower")


@pytest.mark.parametrize(
    ("ind", "value", "expected"),
    [
        (LINEAR, 50, 25.0),
        (LINEAR, 100, 50.0),
        (indicator(-5, 5), 0, 50.0),
        (indicator(-5, 5), -2.5, 25.0),
        (LOG, 9, 100 / 3),  # log10(10) = 1 of 3
        (LOG, 99, 200 / 3),  # log10(100) = 2 of 3
        (indicator(9, 9999, transform="log"), 99, 100 / 3),  # (2 - 1) / (4 - 1)
        (LOWER, 45, 50.0),
        (LOWER, 24, 80.0),
        (LOWER, 66, 20.0),
    ],
)
def test_values_between_goalposts_scale_linearly_after_the_transform(
    ind: Indicator, value: float, expected: float
) -> None:
    assert normalise(value, ind) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("ind", [LINEAR, LOG, indicator(9, 9999, transform="log")])
def test_exact_goalposts_give_0_and_100(ind: Indicator) -> None:
    assert normalise(ind.lo, ind) == 0.0
    assert normalise(ind.hi, ind) == 100.0


def test_exact_goalposts_of_a_lower_is_better_indicator_give_100_and_0() -> None:
    assert normalise(LOWER.lo, LOWER) == 100.0
    assert normalise(LOWER.hi, LOWER) == 0.0


@pytest.mark.parametrize("ind", [LINEAR, LOG, indicator(-5, 5)])
@pytest.mark.parametrize("below", [1e-9, 1.0, 1e6])
def test_below_lo_clamps_to_0_and_above_hi_clamps_to_100(ind: Indicator, below: float) -> None:
    assert normalise(ind.lo - below, ind) == 0.0
    assert normalise(ind.hi + below, ind) == 100.0


def test_reversed_direction_clamps_the_other_way() -> None:
    assert normalise(0, LOWER) == 100.0  # faster than the best goalpost
    assert normalise(500, LOWER) == 0.0  # slower than the worst goalpost


def test_reversed_direction_mirrors_higher_is_better() -> None:
    higher = indicator(10, 80)
    for value in (10, 17.5, 45, 79, 80):
        assert normalise(value, LOWER) == pytest.approx(100 - normalise(value, higher))


def test_log_transform_puts_the_geometric_midpoint_at_50() -> None:
    # log10(x + 1) is linear in log space: the midpoint is sqrt((lo + 1)(hi + 1)) - 1.
    midpoint = math.sqrt((LOG.lo + 1) * (LOG.hi + 1)) - 1  # 30.62...
    assert normalise(midpoint, LOG) == pytest.approx(50.0)
    assert normalise((LOG.lo + LOG.hi) / 2, LOG) > 50.0  # the arithmetic midpoint is far higher


def test_log_transform_of_a_real_indicator() -> None:
    mw = METHODOLOGY.indicator("infra.datacenter_mw")  # log, 0..2000
    assert mw.transform == "log"
    assert normalise(math.sqrt(2001) - 1, mw) == pytest.approx(50.0)
    assert normalise(2000, mw) == 100.0
    assert normalise(0, mw) == 0.0
    assert normalise(-10, mw) == 0.0  # a negative count cannot break the logarithm


def test_lower_is_better_log_transform() -> None:
    ind = indicator(0, 999, direction="lower", transform="log")
    assert normalise(0, ind) == 100.0
    assert normalise(9, ind) == pytest.approx(200 / 3)
    assert normalise(5000, ind) == 0.0


@pytest.mark.parametrize("ind", METHODOLOGY.indicators, ids=lambda i: i.code)
@pytest.mark.parametrize("score", [0.0, 0.5, 12.5, 50.0, 77.7, 99.9, 100.0])
def test_denormalise_inverts_normalise_for_every_methodology_indicator(
    ind: Indicator, score: float
) -> None:
    raw = denormalise(score, ind)
    assert min(ind.lo, ind.hi) - 1e-9 <= raw <= max(ind.lo, ind.hi) + 1e-9
    assert normalise(raw, ind) == pytest.approx(score, abs=1e-9)


@pytest.mark.parametrize("ind", [LINEAR, LOG, LOWER, indicator(-5, 5)], ids=str)
def test_denormalise_of_the_goalposts(ind: Indicator) -> None:
    best, worst = (ind.hi, ind.lo) if ind.direction == "higher" else (ind.lo, ind.hi)
    assert denormalise(100.0, ind) == pytest.approx(best)
    assert denormalise(0.0, ind) == pytest.approx(worst)


GOALPOSTS = st.tuples(
    st.floats(-1e4, 1e4, allow_nan=False), st.floats(1e-3, 1e4, allow_nan=False)
).map(lambda t: (t[0], t[0] + t[1]))


@st.composite
def indicators(draw: st.DrawFn) -> Indicator:
    """Draw an indicator with random goalposts, direction and transform."""
    transform = draw(st.sampled_from(["none", "log"]))
    lo, hi = draw(GOALPOSTS)
    if transform == "log":
        lo, hi = abs(lo), abs(lo) + (hi - lo)
    return indicator(lo, hi, draw(st.sampled_from(["higher", "lower"])), transform)


@given(indicators(), st.floats(allow_nan=False, allow_infinity=False),
       st.floats(allow_nan=False, allow_infinity=False))
def test_normalise_is_bounded_and_monotone(ind: Indicator, a: float, b: float) -> None:
    low, high = sorted((a, b))
    n_low, n_high = normalise(low, ind), normalise(high, ind)
    assert 0.0 <= n_low <= 100.0
    assert 0.0 <= n_high <= 100.0
    if ind.direction == "higher":
        assert n_low <= n_high
    else:
        assert n_low >= n_high


@given(indicators(), st.floats(0.0, 1.0))
def test_round_trip_inside_the_goalposts(ind: Indicator, share: float) -> None:
    raw = denormalise(normalise(ind.lo + share * (ind.hi - ind.lo), ind), ind)
    assert raw == pytest.approx(ind.lo + share * (ind.hi - ind.lo), rel=1e-6, abs=1e-6)

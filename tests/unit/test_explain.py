"""The score and rank decompositions: Shapley pillar shares that add up to the score change,
indicator shares that add up to their pillar's, and rank moves split into own and others'."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.contract.methodology import Methodology, load_methodology
from shared.domain.scoring.aggregate import aggregate
from shared.domain.scoring.explain import (
    Decomposition,
    IndicatorMove,
    PillarEnd,
    RankMove,
    decompose,
    rank_move,
)
from shared.domain.scoring.ranking import rank_scores
from tests.support.properties import examples

M = load_methodology("2025.2")
Values = dict[str, float | None]  # indicator code -> normalised value, None = not observed


def pillar_ends(methodology: Methodology, values: Values) -> dict[str, PillarEnd]:
    """Score pillars with score_city's rule: weighted mean of the observed, coverage gate."""
    ends: dict[str, PillarEnd] = {}
    for pillar in methodology.pillars:
        inds = methodology.pillar_indicators(pillar.code)
        parts = [(x, i.weight) for i in inds if (x := values.get(i.code)) is not None]
        coverage = sum(w for _, w in parts) / sum(i.weight for i in inds)
        below = coverage + 1e-12 < methodology.coverage_threshold
        ends[pillar.code] = PillarEnd(None if below else aggregate(parts, "arithmetic"), coverage)
    return ends


def moves_between(before: Values, after: Values) -> list[IndicatorMove]:
    codes = sorted(set(before) | set(after))
    return [IndicatorMove(c, before.get(c), after.get(c)) for c in codes
            if before.get(c) != after.get(c)]


def reweighted(methodology: Methodology, pillar_weights: list[float],
               indicator_weights: list[float]) -> Methodology:
    """The methodology with other pillar and indicator weights (and everything else kept)."""
    pillars = tuple(dataclasses.replace(p, weight=w)
                    for p, w in zip(methodology.pillars, pillar_weights))
    indicators = tuple(dataclasses.replace(i, weight=w)
                       for i, w in zip(methodology.indicators, indicator_weights))
    return dataclasses.replace(methodology, pillars=pillars, indicators=indicators,
                               _by_code={i.code: i for i in indicators})


def two_pillars(aggregation: str) -> Methodology:
    """infrastructure (weight 0.6, five indicators) and research (0.4, four), 2025.2 weights."""
    keep = ("infrastructure", "research")
    pillars = tuple(dataclasses.replace(p, weight=0.6 if p.code == "infrastructure" else 0.4)
                    for p in M.pillars if p.code in keep)
    indicators = tuple(i for i in M.indicators if i.pillar in keep)
    return dataclasses.replace(M, pillars=pillars, indicators=indicators, aggregation=aggregation,
                               _by_code={i.code: i for i in indicators})


def full(methodology: Methodology, value: float, **overrides: float | None) -> Values:
    """Every indicator observed at value, except the overrides (codes with _ for .)."""
    values: Values = {i.code: value for i in methodology.indicators}
    values.update({k.replace("__", "."): v for k, v in overrides.items()})
    return values


# --- hand-computed examples -------------------------------------------------------------

def test_arithmetic_one_indicator_moves() -> None:
    m = two_pillars("arithmetic")
    before = {**full(m, 50.0), **{i.code: 80.0 for i in m.pillar_indicators("research")}}
    after = {**before, "infra.datacenter_mw": 90.0}  # weight 0.25: infrastructure 50 -> 60
    d = decompose(m, pillar_ends(m, before), pillar_ends(m, after), moves_between(before, after))
    assert d.score_from == pytest.approx(0.6 * 50 + 0.4 * 80)  # 62
    assert d.score_to == pytest.approx(0.6 * 60 + 0.4 * 80)  # 68
    assert d.score_delta == pytest.approx(6.0)
    assert d.pillars == pytest.approx({"infrastructure": 6.0, "research": 0.0})
    assert d.indicators == pytest.approx({"infra.datacenter_mw": 6.0})


def test_geometric_one_indicator_moves() -> None:
    m = two_pillars("geometric")
    before = {**full(m, 50.0), **{i.code: 80.0 for i in m.pillar_indicators("research")}}
    after = {**before, "infra.datacenter_mw": 90.0}
    d = decompose(m, pillar_ends(m, before), pillar_ends(m, after), moves_between(before, after))
    start = math.exp(0.6 * math.log(50) + 0.4 * math.log(80))
    end = math.exp(0.6 * math.log(60) + 0.4 * math.log(80))
    assert d.score_from == pytest.approx(start) and d.score_to == pytest.approx(end)
    assert d.pillars == pytest.approx({"infrastructure": end - start, "research": 0.0})
    assert d.indicators == pytest.approx({"infra.datacenter_mw": end - start})


def test_geometric_two_pillars_move_shapley_by_hand() -> None:
    """infrastructure 50 -> 60 and research 80 -> 68: the two orders averaged."""
    m = two_pillars("geometric")
    before = {**full(m, 50.0), **{i.code: 80.0 for i in m.pillar_indicators("research")}}
    after = {**before, "infra.datacenter_mw": 90.0, "research.ai_papers": 40.0}  # 0.3 * -40

    def g(infra: float, research: float) -> float:
        return math.exp(0.6 * math.log(infra) + 0.4 * math.log(research))

    d = decompose(m, pillar_ends(m, before), pillar_ends(m, after), moves_between(before, after))
    infra = ((g(60, 80) - g(50, 80)) + (g(60, 68) - g(50, 68))) / 2
    research = ((g(50, 68) - g(50, 80)) + (g(60, 68) - g(60, 80))) / 2
    assert d.score_delta == pytest.approx(g(60, 68) - g(50, 80))
    assert d.pillars == pytest.approx({"infrastructure": infra, "research": research})
    assert d.indicators == pytest.approx({"infra.datacenter_mw": infra,
                                          "research.ai_papers": research})
    # the same moves under the arithmetic mean, chosen per call
    a = decompose(m, pillar_ends(m, before), pillar_ends(m, after), moves_between(before, after),
                  aggregation="arithmetic")
    assert a.pillars == pytest.approx({"infrastructure": 0.6 * 10, "research": 0.4 * -12})


def test_two_indicators_in_one_pillar_share_its_contribution() -> None:
    m = two_pillars("arithmetic")
    before = full(m, 50.0)
    after = {**before, "infra.datacenter_mw": 90.0, "infra.gpu_pflops": 70.0}  # +10, +5 -> 65
    d = decompose(m, pillar_ends(m, before), pillar_ends(m, after), moves_between(before, after))
    assert d.pillars["infrastructure"] == pytest.approx(0.6 * 15)
    assert d.indicators == pytest.approx({"infra.datacenter_mw": 6.0, "infra.gpu_pflops": 3.0})


def test_a_newly_observed_indicator_is_credited_with_the_pillar_change() -> None:
    m = two_pillars("arithmetic")
    before = full(m, 50.0, infra__datacenter_mw=None)  # coverage 0.75, still scored 50
    after = {**before, "infra.datacenter_mw": 90.0}  # (0.75 * 50 + 0.25 * 90) / 1 = 60
    d = decompose(m, pillar_ends(m, before), pillar_ends(m, after), moves_between(before, after))
    assert d.pillars["infrastructure"] == pytest.approx(6.0)
    assert d.indicators == pytest.approx({"infra.datacenter_mw": 6.0})


def test_unmoved_indicators_get_zero_and_the_order_of_moves_does_not_matter() -> None:
    m = two_pillars("geometric")
    before = full(m, 40.0)
    after = {**before, "infra.datacenter_mw": 90.0, "infra.gpu_pflops": None,
             "research.ai_papers": 10.0}
    ends = pillar_ends(m, before), pillar_ends(m, after)
    moves = [*moves_between(before, after), IndicatorMove("infra.latency_ms", 40.0, 40.0)]
    d = decompose(m, *ends, moves)
    assert d.indicators["infra.latency_ms"] == 0.0
    backwards = decompose(m, *ends, moves[::-1])
    assert backwards.indicators == pytest.approx(d.indicators, abs=1e-12)
    assert backwards.pillars == pytest.approx(d.pillars, abs=1e-12)


def test_geometric_pillar_rising_from_zero_takes_the_whole_rise() -> None:
    m = two_pillars("geometric")
    before = {**full(m, 70.0), **{i.code: 0.0 for i in m.pillar_indicators("research")}}
    after = {**before, "research.ai_papers": 50.0, "infra.datacenter_mw": 100.0}
    d = decompose(m, pillar_ends(m, before), pillar_ends(m, after), moves_between(before, after))
    assert d.score_from == 0.0
    # infrastructure moving alone leaves the score at 0, so it gets half the joint step only
    g = math.exp(0.6 * math.log(77.5) + 0.4 * math.log(15.0))
    g_research_only = math.exp(0.6 * math.log(70.0) + 0.4 * math.log(15.0))
    assert d.pillars["infrastructure"] == pytest.approx((g - g_research_only) / 2)
    assert sum(d.pillars.values()) == pytest.approx(d.score_delta, abs=1e-9)
    assert sum(d.indicators.values()) == pytest.approx(d.score_delta, abs=1e-6)


def test_offsetting_moves_in_an_unchanged_pillar_are_shown_by_the_slope() -> None:
    """The pillar game sums to 0, so the moves are scaled by the score's slope in the pillar."""
    m = two_pillars("arithmetic")
    before = full(m, 50.0)
    after = {**before, "infra.datacenter_mw": 60.0, "infra.gpu_pflops": 40.0}  # +2.5, -2.5
    d = decompose(m, pillar_ends(m, before), pillar_ends(m, after), moves_between(before, after))
    assert d.score_delta == 0.0 and d.pillars == {"infrastructure": 0.0, "research": 0.0}
    assert d.indicators == pytest.approx({"infra.datacenter_mw": 0.6 * 2.5, "infra.gpu_pflops": -0.6 * 2.5})
    g = decompose(m, pillar_ends(m, before), pillar_ends(m, after), moves_between(before, after),
                  aggregation="geometric")  # slope at the "to" point: score * share / pillar
    assert g.indicators["infra.datacenter_mw"] == pytest.approx(50.0 * 0.6 / 50.0 * 2.5)


def test_geometric_pillar_moving_near_zero_still_adds_up() -> None:
    """A pillar change below 1e-12 points that the moves explain is scaled, not dropped."""
    m = two_pillars("geometric")
    before = {**full(m, 0.0), **{i.code: 50.0 for i in m.pillar_indicators("infrastructure")},
              "research.ai_papers": 1e-12}  # research 3e-13
    after = {**before, "research.ai_papers": 0.0, "infra.datacenter_mw": 80.0}
    d = decompose(m, pillar_ends(m, before), pillar_ends(m, after), moves_between(before, after))
    assert d.score_delta is not None and d.pillars["research"] < -1e-5  # 3e-13 ** 0.4 is not tiny
    assert d.indicators["research.ai_papers"] == pytest.approx(d.pillars["research"])
    assert sum(d.indicators.values()) == pytest.approx(d.score_delta, abs=1e-12)


def test_unranked_end_gives_no_delta_and_no_contributions() -> None:
    m = two_pillars("arithmetic")
    before = full(m, 50.0, infra__datacenter_mw=None, infra__gpu_pflops=None)  # coverage 0.5
    after = full(m, 60.0)
    d = decompose(m, pillar_ends(m, before), pillar_ends(m, after), moves_between(before, after))
    assert d == Decomposition(None, pytest.approx(60.0), None, {}, {})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="more than once"):
        decompose(m, pillar_ends(m, after), pillar_ends(m, after),
                  [IndicatorMove("infra.gpu_pflops", 1.0, 2.0)] * 2)


def test_more_than_twelve_moves_in_a_pillar_fall_back_to_sequential_attribution() -> None:
    indicators = tuple(dataclasses.replace(M.indicators[0], code=f"infra.x{n}", weight=1.0 + n)
                       for n in range(14))
    m = dataclasses.replace(two_pillars("geometric"),
                            indicators=indicators + M.pillar_indicators("research"),
                            _by_code={i.code: i for i in indicators + M.pillar_indicators("research")})
    before: Values = {i.code: 10.0 + n for n, i in enumerate(m.indicators)}
    after: Values = {**before, **{f"infra.x{n}": 90.0 - 3 * n for n in range(14)}}
    after["infra.x3"] = None
    d = decompose(m, pillar_ends(m, before), pillar_ends(m, after), moves_between(before, after))
    assert len(d.indicators) == 14
    assert sum(d.indicators.values()) == pytest.approx(d.pillars["infrastructure"], abs=1e-9)


# --- properties on the real methodology ---------------------------------------------------

norms = st.one_of(st.sampled_from([0.0, 50.0, 100.0]), st.floats(0.0, 100.0))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Methodology, Values, Values]:
    """A reweighted 2025.2 methodology and two states, every pillar scored at both ends."""
    methodology = M
    if draw(st.booleans()):
        methodology = reweighted(
            M, draw(st.lists(st.floats(0.05, 1.0), min_size=len(M.pillars), max_size=len(M.pillars))),
            draw(st.lists(st.floats(0.05, 1.0), min_size=len(M.indicators),
                          max_size=len(M.indicators))),
        )
    codes = [i.code for i in methodology.indicators]
    before: Values = {c: draw(st.one_of(st.none(), norms)) for c in codes}
    after: Values = {c: draw(st.one_of(st.just(before[c]), st.none(), norms)) for c in codes}
    for values in (before, after):  # top up pillars below the threshold: every pillar scored
        for pillar in methodology.pillars:
            if pillar_ends(methodology, values)[pillar.code].score is None:
                for i in methodology.pillar_indicators(pillar.code):
                    if values[i.code] is None:
                        values[i.code] = draw(norms)
    return methodology, before, after


@settings(max_examples=examples(300), deadline=None)
@given(scenarios(), st.sampled_from(["arithmetic", "geometric"]), st.randoms())
def test_contributions_add_up_to_the_score_change(
    scenario: tuple[Methodology, Values, Values], aggregation: str, rnd: object
) -> None:
    methodology, before, after = scenario
    moves = moves_between(before, after)
    rnd.shuffle(moves)  # type: ignore[attr-defined]
    start, end = pillar_ends(methodology, before), pillar_ends(methodology, after)
    d = decompose(methodology, start, end, moves, aggregation)
    assert d.score_from == aggregate(
        [(start[p.code].score or 0.0, p.weight) for p in methodology.pillars], aggregation)
    assert d.score_to is not None and d.score_from is not None and d.score_delta is not None
    assert d.score_delta == d.score_to - d.score_from
    assert set(d.pillars) == {p.code for p in methodology.pillars}
    assert set(d.indicators) == {m.code for m in moves}
    assert abs(sum(d.pillars.values()) - d.score_delta) < 1e-9
    assert abs(sum(d.indicators.values()) - d.score_delta) < 1e-6
    total = sum(p.weight for p in methodology.pillars)
    for p in methodology.pillars:
        in_pillar = [d.indicators[m.code] for m in moves if methodology.indicator(m.code).pillar == p.code]
        assert abs(sum(in_pillar) - d.pillars[p.code]) < 1e-6
        if start[p.code].score == end[p.code].score:
            assert d.pillars[p.code] == 0.0
        if aggregation == "arithmetic":
            delta = (end[p.code].score or 0.0) - (start[p.code].score or 0.0)
            assert d.pillars[p.code] == pytest.approx(p.weight / total * delta, abs=1e-9)


@settings(max_examples=examples(100), deadline=None)
@given(scenarios(), st.sampled_from(["arithmetic", "geometric"]))
def test_swapping_the_ends_negates_every_pillar_contribution(
    scenario: tuple[Methodology, Values, Values], aggregation: str
) -> None:
    methodology, before, after = scenario
    start, end = pillar_ends(methodology, before), pillar_ends(methodology, after)
    forward = decompose(methodology, start, end, moves_between(before, after), aggregation)
    back = decompose(methodology, end, start, moves_between(after, before), aggregation)
    for code, value in forward.pillars.items():
        assert back.pillars[code] == pytest.approx(-value, abs=1e-9)


# --- rank moves ------------------------------------------------------------------------------

def test_a_fall_caused_only_by_another_city_is_others() -> None:
    before = {"a": 80.0, "b": 70.0, "c": 60.0}
    after = {**before, "c": 75.0}
    assert rank_move("b", before, after) == RankMove(
        rank_from=2, rank_to=3, rank_delta=1, own=0, others=1, passed=[], passed_by=[("c", 2)])


def test_an_own_rise_names_the_cities_passed() -> None:
    before = {"a": 80.0, "b": 70.0, "c": 60.0, "d": 50.0}
    after = {**before, "c": 85.0}
    assert rank_move("c", before, after) == RankMove(
        rank_from=3, rank_to=1, rank_delta=-2, own=-2, others=0,
        passed=[("a", 2), ("b", 3)], passed_by=[])


def test_own_and_others_together() -> None:
    before = {"a": 80.0, "b": 70.0, "c": 60.0, "d": 50.0}
    after = {"a": 80.0, "b": 90.0, "c": 75.0, "d": 50.0}  # c rises past b's old score; b rises too
    move = rank_move("c", before, after)
    assert (move.rank_from, move.rank_to, move.own, move.others) == (3, 3, -1, 1)
    assert move.passed == [] and move.passed_by == []  # b was above at both ends


def test_ties_follow_the_city_id_order_of_rank_scores() -> None:
    before = {"a": 50.0, "b": 60.0}
    after = {"a": 60.0, "b": 60.0}  # tied: both rank 1, a listed first
    move = rank_move("a", before, after)
    assert (move.rank_from, move.rank_to, move.rank_delta, move.own) == (2, 1, -1, -1)
    assert move.passed == [("b", 1)]
    assert rank_move("b", before, after).passed_by == [("a", 1)]


def test_cities_missing_at_one_end_are_neither_passed_nor_passed_by() -> None:
    before = {"a": 80.0, "b": 70.0, "gone": 75.0}
    after = {"a": 80.0, "b": 90.0, "new": 95.0}
    move = rank_move("b", before, after)
    assert (move.rank_from, move.rank_to, move.rank_delta) == (3, 2, -1)
    assert move.passed == [("a", 3)] and move.passed_by == []
    assert rank_move("new", before, after) == RankMove(None, 1, None, None, None, [], [])
    assert rank_move("gone", before, after) == RankMove(2, None, None, None, None, [], [])


scores = st.dictionaries(st.sampled_from("abcdefgh"), st.sampled_from([10.0, 20.0, 30.0, 40.0]),
                         min_size=1)


@settings(max_examples=examples(300), deadline=None)
@given(scores, scores, st.sampled_from("abcdefgh"))
def test_rank_move_is_consistent_with_rank_scores(
    before: dict[str, float], after: dict[str, float], city: str
) -> None:
    move = rank_move(city, before, after)
    rank_from = {r.city_id: r.rank for r in rank_scores(before.items())}
    order_from = [r.city_id for r in rank_scores(before.items())]
    ranked_to = rank_scores(after.items())
    order_to = [r.city_id for r in ranked_to]
    assert move.rank_from == rank_from.get(city)
    assert move.rank_to == {r.city_id: r.rank for r in ranked_to}.get(city)
    if move.rank_from is None or move.rank_to is None:
        assert (move.rank_delta, move.own, move.others) == (None, None, None)
        assert move.passed == [] and move.passed_by == []
        return
    assert move.rank_delta == move.rank_to - move.rank_from
    assert move.own is not None and move.others is not None
    assert move.own + move.others == move.rank_delta
    if before.get(city) == after[city]:
        assert move.own == 0
    if all(before.get(c) == after.get(c) for c in set(before) | set(after) if c != city):
        assert move.others == 0
    both = [c for c in order_to if c in before and c != city]
    assert [c for c, _ in move.passed] == [
        c for c in both if order_from.index(c) < order_from.index(city)
        and order_to.index(c) > order_to.index(city)]
    assert [c for c, _ in move.passed_by] == [
        c for c in both if order_from.index(c) > order_from.index(city)
        and order_to.index(c) < order_to.index(city)]
    assert all(r == ranked_to[order_to.index(c)].rank for c, r in move.passed + move.passed_by)

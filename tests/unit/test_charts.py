"""Chart geometry for the web pages: ticks, line charts and stacked bars."""

from __future__ import annotations

from services.web.charts import decimals, line_chart, nice_domain, nice_step, stack, ticks


def test_nice_steps_are_round() -> None:
    assert nice_step(10, 4) == 2.5
    assert nice_step(100, 4) == 25
    assert nice_step(3, 4) == 1
    assert nice_step(0, 4) == 1


def test_domain_is_widened_to_min_span_and_clamped() -> None:
    low, high, step = nice_domain([82.1, 82.1], lo=0, hi=100, min_span=10)
    assert low <= 77.1 and high >= 87.1 and step == 2.5
    assert nice_domain([99.5], lo=0, hi=100, min_span=10)[1] == 100
    assert nice_domain([1, 2], lo=1, min_span=4, integer=True) == (1, 5, 1)
    assert ticks(0, 10, 2.5) == [0, 2.5, 5, 7.5, 10]
    assert decimals(2.5) == 1 and decimals(5) == 0 and decimals(0.25) == 2


def test_line_chart_breaks_at_missing_values_and_inverts_ranks() -> None:
    chart = line_chart([(0, 50.0), (1000, None), (2000, 60.0), (3000, 70.0)], lo=0, hi=100)
    assert len(chart.points) == 3 and len(chart.segments) == 1
    assert chart.points[0].x == 4.0 and chart.points[-1].x == 96.0
    assert chart.points[-1].y < chart.points[0].y  # higher score, higher on screen
    ranks = line_chart([(0, 10), (1000, 2)], invert=True, lo=1, integer=True)
    assert ranks.points[-1].y < ranks.points[0].y  # rank 2 above rank 10
    assert all(t.label.isdigit() for t in ranks.yticks)
    assert line_chart([(0, None)]).points == []
    single = line_chart([(5, 42.0)])
    assert single.points[0].x == 50.0 and len(single.xticks) == 1


def test_stack_lays_pieces_end_to_end() -> None:
    pieces = stack({"pilot": 2, "announced": 1, "scaled": 1}, ["announced", "pilot", "scaled"], 8)
    assert [(p.key, p.x, p.width) for p in pieces] == [
        ("announced", 0.0, 12.5), ("pilot", 12.5, 25.0), ("scaled", 37.5, 12.5)]
    assert [p.index for p in pieces] == [0, 1, 2]
    assert stack({}, ["a"], 0) == []

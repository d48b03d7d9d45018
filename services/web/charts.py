"""Geometry for the pages' hand-written SVG charts: pure functions, no Flask.

Horizontal positions are percentages of the chart's width and vertical ones are pixels, so
an SVG drawn without a viewBox stretches to any screen width while its text keeps its size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime


def nice_step(span: float, count: int) -> float:
    """Return a round tick step (1, 2, 2.5 or 5 times a power of ten) for about count ticks."""
    if span <= 0 or count <= 0:
        return 1.0
    raw = span / count
    power = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= m * power:
            return m * power
    return 10 * power


def nice_domain(values: Sequence[float], count: int = 4, lo: float | None = None,
                hi: float | None = None, min_span: float = 1.0,
                integer: bool = False) -> tuple[float, float, float]:
    """Return (low, high, step): a domain covering values, at least min_span wide, widened
    to whole steps and clamped to [lo, hi]; integer keeps the step whole."""
    vmin, vmax = min(values), max(values)
    if vmax - vmin < min_span:
        mid = (vmin + vmax) / 2
        vmin, vmax = mid - min_span / 2, mid + min_span / 2
        if lo is not None and vmin < lo:
            vmin, vmax = lo, lo + min_span
        if hi is not None and vmax > hi:
            vmin, vmax = hi - min_span, hi
    step = nice_step(vmax - vmin, count)
    if integer:
        step = max(1.0, round(step))
    low, high = math.floor(vmin / step) * step, math.ceil(vmax / step) * step
    if lo is not None:
        low = max(lo, low)
    if hi is not None:
        high = min(hi, high)
    return low, high, step


def ticks(low: float, high: float, step: float) -> list[float]:
    """Return the tick values from low to high (inclusive) every step."""
    n = int(round((high - low) / step))
    return [round(low + i * step, 10) for i in range(n + 1)]


@dataclass(frozen=True)
class Point:
    x: float  # percent of width
    y: float  # pixels from the top
    value: float
    label: str
    mark: str | None = None  # what moved at this point (drawn as a marked point)


@dataclass(frozen=True)
class Segment:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class Tick:
    pos: float  # percent (x axis) or pixels (y axis)
    label: str
    anchor: str = "middle"


@dataclass(frozen=True)
class LineChart:
    height: int
    points: list[Point] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    xticks: list[Tick] = field(default_factory=list)
    yticks: list[Tick] = field(default_factory=list)
    plot_top: int = 0
    plot_bottom: int = 0


def _when(ms: float, span_ms: float) -> str:
    t = datetime.fromtimestamp(ms / 1000, UTC)
    if span_ms < 2 * 86_400_000:
        return t.strftime("%d %b %H:%M")
    return t.strftime("%d %b %Y")


def decimals(step: float) -> int:
    """Return how many decimals show a tick step exactly enough (0 for whole steps)."""
    for n in range(4):
        if abs(step * 10**n - round(step * 10**n)) < 1e-9:
            return n
    return 4


def line_chart(series: Sequence[tuple[float, float | None]], height: int = 180,
               invert: bool = False, lo: float | None = None, hi: float | None = None,
               min_span: float = 1.0, integer: bool = False,
               label_fmt: str = "{:.1f}", marks: Sequence[str | None] | None = None
               ) -> LineChart:
    """Lay out (time in ms, value or None) points; None breaks the line; invert for ranks;
    marks (one per point, None for none) name what moved at a point."""
    known = [(t, v) for t, v in series if v is not None]
    if not known:
        return LineChart(height=height)
    top, bottom = 12, height - 22
    low, high, step = nice_domain([v for _, v in known], 4, lo, hi, min_span, integer)
    fmt = f"{{:.{decimals(step)}f}}"
    t0, t1 = min(t for t, _ in known), max(t for t, _ in known)
    span = t1 - t0

    def x(t: float) -> float:
        return 50.0 if span == 0 else 4.0 + (t - t0) / span * 92.0

    def y(v: float) -> float:
        frac = (v - low) / (high - low)
        return bottom - (1 - frac if invert else frac) * (bottom - top)

    points: list[Point] = []
    segments: list[Segment] = []
    prev: Point | None = None
    for n, (t, v) in enumerate(series):
        if v is None:
            prev = None
            continue
        mark = marks[n] if marks is not None and n < len(marks) else None
        label = f"{_when(t, max(span, 1))}: {label_fmt.format(v)}"
        p = Point(round(x(t), 3), round(y(v), 2), v,
                  f"{label} — moved: {mark}" if mark else label, mark)
        if prev is not None:
            segments.append(Segment(prev.x, prev.y, p.x, p.y))
        points.append(p)
        prev = p
    yticks = [Tick(round(y(v), 2), fmt.format(v), "start") for v in ticks(low, high, step)]
    if span == 0:
        xticks = [Tick(50.0, _when(t0, 1))]
    else:
        xticks = [Tick(0.0, _when(t0, span), "start"), Tick(100.0, _when(t1, span), "end")]
    return LineChart(height, points, segments, xticks, yticks, top, bottom)


@dataclass(frozen=True)
class Piece:
    key: str
    index: int  # position of key in the segment order, for a colour class
    x: float  # percent
    width: float  # percent
    value: float


def stack(values: dict[str, float], order: Sequence[str], total: float) -> list[Piece]:
    """Lay out one stacked bar: a piece per key in order, as percentages of total."""
    pieces: list[Piece] = []
    x = 0.0
    for i, key in enumerate(order):
        v = values.get(key, 0)
        if not v:
            continue
        w = 100.0 * v / total if total else 0.0
        pieces.append(Piece(key, i, round(x, 3), round(w, 3), v))
        x += w
    return pieces

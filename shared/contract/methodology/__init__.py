"""The versioned methodology: pillars, indicators, goalposts, weights and rules.

The methodology is data (a TOML file beside this module); this module reads it into
frozen dataclasses and refuses a malformed file with a message naming the problem.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

DEFAULT_VERSION = "2025.2"
METHODOLOGY_DIR = Path(__file__).resolve().parent
DEFAULT_STALE_AFTER_DAYS = 365  # a version without stale_after_days gets this
DEFAULT_REVIEW_JUMP_POINTS = 50.0  # a version without review_jump_points gets this
DEFAULT_REVIEW_WINDOW_HOURS = 24  # a version without review_window_hours gets this
DEFAULT_REVIEW_SCORE_POINTS = 5.0  # a version without review_score_points gets this
# The adoption measures shared.domain.scoring.measures can derive from project records; a version
# names the ones it uses. public_private_mix and scaled_share are ratios (2025.1);
# minority_side_deployed and scaled_projects are the counts that replace them in 2025.2.
DERIVED_MEASURES = (
    "deployed_projects",
    "sector_breadth",
    "speed",
    "public_private_mix",
    "scaled_share",
    "minority_side_deployed",
    "scaled_projects",
)


class MethodologyError(ValueError):
    """A methodology file that breaks a rule; the message names the field."""


@dataclass(frozen=True)
class Pillar:
    code: str
    name: str
    weight: float
    derived: bool = False
    description: str = ""


@dataclass(frozen=True)
class Indicator:
    code: str
    pillar: str
    name: str
    unit: str
    direction: str  # "higher" or "lower" is better
    transform: str  # "none" or "log"
    lo: float
    hi: float
    weight: float
    derived: str | None = None  # measure computed from project records
    # Plausible range of an observed value, in raw units: a value outside it is refused at
    # ingest. Observed indicators have both bounds; derived ones have none (None).
    plausible_min: float | None = None
    plausible_max: float | None = None
    plausible_min_exclusive: bool = False  # True: value > min; False: value >= min
    plausible_max_exclusive: bool = False  # True: value < max; False: value <= max

    def is_plausible(self, value: float) -> bool:
        """Tell whether an observed value lies inside the plausible range."""
        low, high = self.plausible_min, self.plausible_max
        if low is not None and (value <= low if self.plausible_min_exclusive else value < low):
            return False
        return high is None or (value < high if self.plausible_max_exclusive else value <= high)

    def plausible_rule(self) -> str:
        """Describe the plausible range, e.g. "between 0 and 100" (bounds inclusive)."""
        return _range_rule(self.plausible_min, self.plausible_max,
                           self.plausible_min_exclusive, self.plausible_max_exclusive)


def _fmt(value: float) -> str:
    """Write a bound as the methodology file does: 100, not 100.0 or 1e+02."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _range_rule(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None and not low_open and not high_open:
        return f"between {_fmt(low)} and {_fmt(high)}"
    parts = []
    if low is not None:
        parts.append(f"{'greater than' if low_open else 'at least'} {_fmt(low)}")
    if high is not None:
        parts.append(f"{'less than' if high_open else 'at most'} {_fmt(high)}")
    return " and ".join(parts) or "any finite number"


@dataclass(frozen=True)
class ProjectVocabulary:
    sectors: tuple[str, ...]
    owners: tuple[str, ...]
    stages: tuple[str, ...]
    deployed_stages: tuple[str, ...]


@dataclass(frozen=True)
class Methodology:
    version: str
    title: str
    coverage_threshold: float
    aggregation: str
    base_date: date
    speed_window_days: int
    pillars: tuple[Pillar, ...]
    indicators: tuple[Indicator, ...]
    projects: ProjectVocabulary
    # Data older than this many days before the index date is stale (badge, ?fresh=true).
    stale_after_days: int = DEFAULT_STALE_AFTER_DAYS
    # A non-admin indicator.observed whose normalised value moves the city's current one by
    # more than this many points (0-100 scale) is held for review.
    review_jump_points: float = DEFAULT_REVIEW_JUMP_POINTS
    # The review window: what a scoped feed may move without an operator is measured from the
    # city's approved position at the window's start (or the last operator decision).
    review_window_hours: int = DEFAULT_REVIEW_WINDOW_HOURS
    # A scoped feed's events that would move the city's overall score more than this many
    # points from that position within the window are held, as a batch.
    review_score_points: float = DEFAULT_REVIEW_SCORE_POINTS
    _by_code: dict[str, Indicator] = field(default_factory=dict, compare=False, repr=False)

    def indicator(self, code: str) -> Indicator:
        """Return the indicator with this code (KeyError if unknown)."""
        return self._by_code[code]

    def has_indicator(self, code: str) -> bool:
        """Tell whether code names an indicator of this methodology."""
        return code in self._by_code

    def observed_indicator_codes(self) -> tuple[str, ...]:
        """Return the codes that feeds report through indicator.observed events."""
        return tuple(i.code for i in self.indicators if i.derived is None)

    def derived_measures(self) -> frozenset[str]:
        """Return the adoption measures this version's derived indicators name."""
        return frozenset(i.derived for i in self.indicators if i.derived is not None)

    def pillar_indicators(self, pillar: str) -> tuple[Indicator, ...]:
        """Return the indicators of one pillar in file order."""
        return tuple(i for i in self.indicators if i.pillar == pillar)

    def with_aggregation(self, aggregation: str) -> Methodology:
        """Return a copy using another aggregation ("arithmetic" or "geometric")."""
        data = dict(self._raw_fields(), aggregation=aggregation)
        return _validated(data)

    def _raw_fields(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "title": self.title,
            "coverage_threshold": self.coverage_threshold,
            "aggregation": self.aggregation,
            "base_date": self.base_date.isoformat(),
            "speed_window_days": self.speed_window_days,
            "stale_after_days": self.stale_after_days,
            "review_jump_points": self.review_jump_points,
            "review_window_hours": self.review_window_hours,
            "review_score_points": self.review_score_points,
            "pillars": [p.__dict__ for p in self.pillars],
            "indicators": [i.__dict__ for i in self.indicators],
            "projects": {k: list(v) for k, v in self.projects.__dict__.items()},
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the methodology as plain JSON-ready data."""
        return self._raw_fields()


def _require(cond: bool, where: str, rule: str) -> None:
    if not cond:
        raise MethodologyError(f"{where}: {rule}")


def _number(value: Any, where: str) -> float:
    _require(
        isinstance(value, (int, float)) and not isinstance(value, bool), where, "must be a number"
    )
    _require(math.isfinite(value), where, "must be finite")
    return float(value)


def _tables(value: Any, where: str) -> list[dict[str, Any]]:
    _require(
        isinstance(value, list) and all(isinstance(v, dict) for v in value),
        where, "must be an array of tables ([[...]])",
    )
    return list(value)


PLAUSIBLE_KEYS = (
    "plausible_min", "plausible_max", "plausible_min_exclusive", "plausible_max_exclusive",
)


def _plausible_range(ri: dict[str, Any], where: str, derived: bool) -> dict[str, Any]:
    """Validate an indicator's plausible range and return it as Indicator keyword arguments.

    An observed indicator needs both bounds (inclusive unless *_exclusive = true), with
    min < max, and both goalposts inside the range: a goalpost outside it could never be
    reached by an accepted value, so part of the 0-100 scale would be dead. A derived
    indicator is computed, never fed, so it takes no range.
    """
    # absent, or None / false as to_dict() writes them for a derived indicator
    given = {k: ri[k] for k in PLAUSIBLE_KEYS if ri.get(k) is not None and ri[k] is not False}
    if derived:
        _require(
            not given, f"{where}.{next(iter(given), '')}",
            "a derived indicator is computed from project records and takes no plausible range",
        )
        return {}
    for key in ("plausible_min", "plausible_max"):
        _require(key in given, f"{where}.{key}",
                 "missing: every observed indicator needs a plausible range")
    low = _number(given["plausible_min"], f"{where}.plausible_min")
    high = _number(given["plausible_max"], f"{where}.plausible_max")
    flags: dict[str, bool] = {}
    for key in ("plausible_min_exclusive", "plausible_max_exclusive"):
        flag = given.get(key, False)
        _require(isinstance(flag, bool), f"{where}.{key}", "must be true or false")
        flags[key] = flag
    _require(high > low, f"{where}.plausible_max", "must be greater than plausible_min")
    if ri.get("transform") == "log":
        _require(low >= 0, f"{where}.plausible_min", "must be >= 0 for the log transform")
    return {"plausible_min": low, "plausible_max": high, **flags}


def _check_goalposts_plausible(indicator: Indicator, where: str) -> None:
    """Refuse goalposts outside the plausible range: no accepted value could reach them."""
    if indicator.derived is not None:
        return
    for name, goalpost in (("lo", indicator.lo), ("hi", indicator.hi)):
        _require(
            indicator.is_plausible(goalpost), f"{where}.{name}",
            f"goalpost {_fmt(goalpost)} must lie inside the plausible range (must be "
            f"{indicator.plausible_rule()}): outside it no accepted value could reach it",
        )


def _validated(raw: dict[str, Any]) -> Methodology:
    known = {
        "version", "title", "coverage_threshold", "aggregation", "base_date",
        "speed_window_days", "pillars", "indicators", "projects", "stale_after_days",
        "review_jump_points", "review_window_hours", "review_score_points",
    }
    unknown = sorted(set(raw) - known)
    _require(not unknown, f"methodology.{unknown[0] if unknown else ''}", "unknown field")
    for key in sorted(known - {"stale_after_days", "review_jump_points", "review_window_hours",
                               "review_score_points"}):  # optional
        _require(key in raw, f"methodology.{key}", "missing required field")
    version = raw["version"]
    _require(isinstance(version, str) and bool(version), "methodology.version", "must be a string")
    threshold = _number(raw["coverage_threshold"], "methodology.coverage_threshold")
    _require(0 < threshold <= 1, "methodology.coverage_threshold", "must be in (0, 1]")
    aggregation = raw["aggregation"]
    _require(
        aggregation in ("arithmetic", "geometric"),
        "methodology.aggregation",
        "must be 'arithmetic' or 'geometric'",
    )
    try:
        base = date.fromisoformat(str(raw["base_date"]))
    except ValueError as exc:
        raise MethodologyError("methodology.base_date: must be an ISO date (YYYY-MM-DD)") from exc
    window = raw["speed_window_days"]
    _require(
        isinstance(window, int) and not isinstance(window, bool) and window > 0,
        "methodology.speed_window_days",
        "must be a positive integer",
    )
    stale_after = raw.get("stale_after_days", DEFAULT_STALE_AFTER_DAYS)
    _require(
        isinstance(stale_after, int) and not isinstance(stale_after, bool) and stale_after > 0,
        "methodology.stale_after_days",
        "must be a positive integer",
    )
    jump = _number(raw.get("review_jump_points", DEFAULT_REVIEW_JUMP_POINTS),
                   "methodology.review_jump_points")
    _require(0 < jump <= 100, "methodology.review_jump_points", "must be in (0, 100]")
    review_window = raw.get("review_window_hours", DEFAULT_REVIEW_WINDOW_HOURS)
    _require(
        isinstance(review_window, int) and not isinstance(review_window, bool)
        and 0 < review_window <= 24 * 366,
        "methodology.review_window_hours",
        "must be a positive integer of at most 8784 (a year)",
    )
    score_points = _number(raw.get("review_score_points", DEFAULT_REVIEW_SCORE_POINTS),
                           "methodology.review_score_points")
    _require(0 < score_points <= 100, "methodology.review_score_points", "must be in (0, 100]")

    pillars: list[Pillar] = []
    for n, rp in enumerate(_tables(raw["pillars"], "pillars")):
        where = f"pillars[{n}]"
        extra = sorted(set(rp) - {"code", "name", "weight", "derived", "description"})
        _require(not extra, f"{where}.{extra[0] if extra else ''}", "unknown field")
        _require(isinstance(rp.get("code"), str), f"{where}.code", "must be a string")
        weight = _number(rp.get("weight"), f"{where}.weight")
        _require(weight > 0, f"{where}.weight", "must be positive")
        pillars.append(
            Pillar(
                code=rp["code"], name=str(rp.get("name", rp["code"])), weight=weight,
                derived=bool(rp.get("derived", False)), description=str(rp.get("description", "")),
            )
        )
    codes = [p.code for p in pillars]
    _require(len(codes) == len(set(codes)), "pillars", "pillar codes must be unique")
    _require(len(pillars) > 0, "pillars", "at least one pillar is required")

    indicators: list[Indicator] = []
    allowed = {"code", "pillar", "name", "unit", "direction", "transform", "lo", "hi", "weight",
               "derived", *PLAUSIBLE_KEYS}
    for n, ri in enumerate(_tables(raw["indicators"], "indicators")):
        where = f"indicators[{n}]"
        extra = sorted(set(ri) - allowed)
        _require(not extra, f"{where}.{extra[0] if extra else ''}", "unknown field")
        raw_code = ri.get("code")
        _require(isinstance(raw_code, str) and bool(raw_code), f"{where}.code", "must be a string")
        code = str(raw_code)
        where = f"indicators[{code}]"
        _require(ri.get("pillar") in codes, f"{where}.pillar", f"must be one of {codes}")
        _require(
            ri.get("direction") in ("higher", "lower"), f"{where}.direction",
            "must be 'higher' or 'lower'",
        )
        _require(
            ri.get("transform") in ("none", "log"), f"{where}.transform", "must be 'none' or 'log'"
        )
        lo = _number(ri.get("lo"), f"{where}.lo")
        hi = _number(ri.get("hi"), f"{where}.hi")
        _require(hi > lo, f"{where}.hi", "must be greater than lo")
        if ri["transform"] == "log":
            _require(lo >= 0, f"{where}.lo", "must be >= 0 for the log transform")
        weight = _number(ri.get("weight"), f"{where}.weight")
        _require(weight > 0, f"{where}.weight", "must be positive")
        derived = ri.get("derived")
        pillar_is_derived = next(p for p in pillars if p.code == ri["pillar"]).derived
        if pillar_is_derived:
            _require(
                derived in DERIVED_MEASURES, f"{where}.derived",
                f"indicators of a derived pillar must name a measure in {list(DERIVED_MEASURES)}",
            )
        else:
            _require(derived is None, f"{where}.derived", "only a derived pillar has derived indicators")
        plausible = _plausible_range(ri, where, derived is not None)
        indicator = Indicator(
            code=code, pillar=ri["pillar"], name=str(ri.get("name", code)),
            unit=str(ri.get("unit", "")), direction=ri["direction"], transform=ri["transform"],
            lo=lo, hi=hi, weight=weight, derived=derived, **plausible,
        )
        _check_goalposts_plausible(indicator, where)
        indicators.append(indicator)
    icodes = [i.code for i in indicators]
    _require(len(icodes) == len(set(icodes)), "indicators", "indicator codes must be unique")
    for p in pillars:
        count = sum(1 for i in indicators if i.pillar == p.code)
        minimum = 1 if p.derived else 4
        _require(
            count >= minimum, f"pillars[{p.code}]",
            f"needs at least {minimum} indicators, has {count}",
        )

    proj = raw["projects"]
    _require(isinstance(proj, dict), "projects", "must be a table ([projects])")
    vocab_keys = ("sectors", "owners", "stages", "deployed_stages")
    extra = sorted(set(proj) - set(vocab_keys))
    _require(not extra, f"projects.{extra[0] if extra else ''}", "unknown field")
    for key in vocab_keys:
        value = proj.get(key)
        _require(
            isinstance(value, list) and all(isinstance(v, str) for v in value) and bool(value),
            f"projects.{key}", "must be a non-empty list of strings",
        )
    _require(
        set(proj["deployed_stages"]) <= set(proj["stages"]), "projects.deployed_stages",
        "must be a subset of projects.stages",
    )
    vocabulary = ProjectVocabulary(*(tuple(proj[k]) for k in vocab_keys))
    return Methodology(
        version=version, title=str(raw["title"]), coverage_threshold=threshold,
        aggregation=aggregation, base_date=base, speed_window_days=window,
        stale_after_days=stale_after, review_jump_points=float(jump),
        review_window_hours=review_window, review_score_points=float(score_points),
        pillars=tuple(pillars), indicators=tuple(indicators), projects=vocabulary,
        _by_code={i.code: i for i in indicators},
    )


def parse_methodology(text: str) -> Methodology:
    """Parse and validate methodology TOML text."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MethodologyError(f"methodology: not valid TOML ({exc})") from exc
    return _validated(raw)


def load_methodology(version_or_path: str | Path = DEFAULT_VERSION) -> Methodology:
    """Load a methodology by version name (a file beside this module) or by path."""
    path = Path(version_or_path)
    if path.suffix != ".toml":
        path = METHODOLOGY_DIR / f"{version_or_path}.toml"
    if not path.is_file():
        raise MethodologyError(f"methodology: no file {path}")
    return parse_methodology(path.read_text(encoding="utf-8"))

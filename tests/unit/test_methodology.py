"""The versioned methodology file: the default's shape, and refusal of malformed files."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from shared.contract.methodology import (
    DEFAULT_VERSION,
    METHODOLOGY_DIR,
    Methodology,
    MethodologyError,
    load_methodology,
    parse_methodology,
)

DEFAULT_TEXT = (METHODOLOGY_DIR / f"{DEFAULT_VERSION}.toml").read_text(encoding="utf-8")


def edited(old: str, new: str, count: int = 1) -> str:
    """Return the default methodology text with old replaced by new (old must occur)."""
    assert old in DEFAULT_TEXT, old
    return DEFAULT_TEXT.replace(old, new, count)


def refused(text: str) -> str:
    """Parse text, expect MethodologyError and return its message."""
    with pytest.raises(MethodologyError) as info:
        parse_methodology(text)
    return str(info.value)


# ------------------------------------------------------------------ the default


def test_the_default_loads(methodology: Methodology) -> None:
    assert methodology.version == DEFAULT_VERSION == "2025.2"
    assert load_methodology(METHODOLOGY_DIR / "2025.2.toml") == methodology
    assert parse_methodology(DEFAULT_TEXT) == methodology


def test_every_published_version_loads_under_its_file_name() -> None:
    files = sorted(METHODOLOGY_DIR.glob("*.toml"))
    assert {"2025.1", "2025.2"} <= {f.stem for f in files}  # published files stay
    for path in files:
        assert load_methodology(path.stem).version == path.stem
        assert load_methodology(path.stem).title == f"AI City Index {path.stem}"


def test_2025_2_changes_only_the_two_ratio_measures_of_2025_1() -> None:
    """Same rules, pillars, observed indicators (goalposts, weights, plausible ranges) and
    vocabularies; adoption keeps three measures and swaps the two ratios for counts."""
    old, new = load_methodology("2025.1"), load_methodology("2025.2")
    for key in ("coverage_threshold", "aggregation", "base_date", "speed_window_days",
                "pillars", "projects"):
        assert getattr(new, key) == getattr(old, key), key
    assert [i for i in new.indicators if i.pillar != "adoption"] == [
        i for i in old.indicators if i.pillar != "adoption"]
    kept = ("adoption.deployed_projects", "adoption.sector_breadth", "adoption.speed")
    for code in kept:
        assert new.indicator(code) == old.indicator(code), code
    swapped = {"adoption.public_private_mix": "adoption.minority_side_deployed",
               "adoption.scaled_share": "adoption.scaled_projects"}
    assert [i.code for i in new.pillar_indicators("adoption")] == [
        swapped.get(i.code, i.code) for i in old.pillar_indicators("adoption")]
    for before, after in swapped.items():
        assert new.indicator(after).weight == old.indicator(before).weight
        assert not new.has_indicator(before) and not old.has_indicator(after)
    scaled = new.indicator("adoption.scaled_projects")
    side = new.indicator("adoption.minority_side_deployed")
    deployed_hi = new.indicator("adoption.deployed_projects").hi
    # the counts' frontiers are the ratios' frontiers at the deployed frontier
    assert scaled.hi == old.indicator("adoption.scaled_share").hi * deployed_hi == 180
    assert side.hi == deployed_hi / 2 == 150
    for ind in (scaled, side):
        assert (ind.transform, ind.lo, ind.direction, ind.unit) == ("log", 0, "higher", "projects")


def test_five_pillars_with_adoption_weighted_highest(methodology: Methodology) -> None:
    codes = [p.code for p in methodology.pillars]
    assert sorted(codes) == ["adoption", "governance", "infrastructure", "research", "talent"]
    weights = {p.code: p.weight for p in methodology.pillars}
    assert max(weights, key=lambda code: weights[code]) == "adoption"
    assert all(weights["adoption"] > w for code, w in weights.items() if code != "adoption")
    assert sum(weights.values()) == pytest.approx(1.0)


def test_measured_pillars_have_at_least_four_indicators(methodology: Methodology) -> None:
    for pillar in methodology.pillars:
        indicators = methodology.pillar_indicators(pillar.code)
        assert len(indicators) >= 4, pillar.code
        if pillar.derived:
            assert all(i.derived is not None for i in indicators)
        else:
            assert all(i.derived is None for i in indicators)


def test_adoption_is_derived_from_the_five_project_measures(methodology: Methodology) -> None:
    adoption = methodology.pillar_indicators("adoption")
    assert {i.derived for i in adoption} == methodology.derived_measures() == {
        "deployed_projects", "sector_breadth", "speed", "minority_side_deployed",
        "scaled_projects"}
    assert not any(c.startswith("adoption.") for c in methodology.observed_indicator_codes())
    assert load_methodology("2025.1").derived_measures() == {
        "deployed_projects", "sector_breadth", "speed", "public_private_mix", "scaled_share"}


def test_rules_and_vocabularies(methodology: Methodology) -> None:
    assert methodology.coverage_threshold == 0.65
    assert methodology.aggregation == "arithmetic"
    assert methodology.speed_window_days == 365
    assert len(methodology.projects.sectors) >= 10
    assert methodology.projects.owners == ("public", "private", "partnership")
    assert set(methodology.projects.deployed_stages) == {"deployed", "scaled"}
    for ind in methodology.indicators:
        assert ind.hi > ind.lo
        assert ind.weight > 0
        assert methodology.has_indicator(ind.code)
        assert methodology.indicator(ind.code) is ind
    assert not methodology.has_indicator("nope")
    with pytest.raises(KeyError):
        methodology.indicator("nope")


def test_geometric_aggregation_can_be_selected(methodology: Methodology) -> None:
    geometric = methodology.with_aggregation("geometric")
    assert geometric.aggregation == "geometric"
    assert geometric.indicators == methodology.indicators
    assert geometric.with_aggregation("arithmetic") == methodology
    with pytest.raises(MethodologyError, match="aggregation"):
        methodology.with_aggregation("harmonic")


def test_to_dict_is_plain_data(methodology: Methodology) -> None:
    data = methodology.to_dict()
    assert data["version"] == "2025.2"
    assert data["base_date"] == "2025-06-30"
    assert len(data["pillars"]) == 5
    assert data["indicators"][0]["code"] == methodology.indicators[0].code


def test_load_by_unknown_version_or_missing_path(tmp_path: Path) -> None:
    with pytest.raises(MethodologyError, match="no file"):
        load_methodology("1999.9")
    with pytest.raises(MethodologyError, match="no file"):
        load_methodology(tmp_path / "missing.toml")


def test_load_by_path(tmp_path: Path) -> None:
    path = tmp_path / "custom.toml"
    path.write_text(edited('version = "2025.2"', 'version = "custom"'), encoding="utf-8")
    assert load_methodology(path).version == "custom"


# ------------------------------------------------------------------ malformed files


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ('title = "AI City Index 2025.2"', 'title = "x"\nlicense = "CC"', "methodology.license"),
        ('weight = 0.20\ndescription', 'weight = 0.20\ncolour = "red"\ndescription',
         "pillars[0].colour"),
        ('unit = "MW"\n', 'unit = "MW"\nsource = "x"\n', "indicators[0].source"),
        ('deployed_stages = ["deployed", "scaled"]',
         'deployed_stages = ["deployed", "scaled"]\ncolours = ["red"]', "projects.colours"),
    ],
)
def test_unknown_field(old: str, new: str, where: str) -> None:
    message = refused(edited(old, new))
    assert where in message
    assert "unknown field" in message


def test_hi_not_above_lo() -> None:
    message = refused(edited("lo = 10\nhi = 80", "lo = 80\nhi = 80"))
    assert "indicators[infra.latency_ms].hi" in message
    assert "greater than lo" in message
    message = refused(edited("lo = 10\nhi = 80", "lo = 90\nhi = 80"))
    assert "indicators[infra.latency_ms].hi" in message


@pytest.mark.parametrize("direction", ['"up"', '"Higher"', "1"])
def test_bad_direction(direction: str) -> None:
    message = refused(edited('direction = "lower"', f"direction = {direction}"))
    assert "indicators[infra.latency_ms].direction" in message


def test_bad_transform() -> None:
    message = refused(edited('transform = "log"', 'transform = "sqrt"'))
    assert "indicators[infra.datacenter_mw].transform" in message


@pytest.mark.parametrize("weight", ["0", "-0.2", '"heavy"', "nan", "inf"])
def test_indicator_weight_must_be_a_positive_number(weight: str) -> None:
    message = refused(edited("weight = 0.15\n\n[[indicators]]\ncode = \"infra.latency_ms\"",
                             f"weight = {weight}\n\n[[indicators]]\ncode = \"infra.latency_ms\""))
    assert "indicators[infra.5g_coverage_pct].weight" in message


@pytest.mark.parametrize("weight", ["0", "-0.35", "true"])
def test_pillar_weight_must_be_a_positive_number(weight: str) -> None:
    message = refused(edited("weight = 0.35", f"weight = {weight}"))
    assert "pillars[3].weight" in message


def test_pillar_with_too_few_indicators() -> None:
    text = edited('code = "gov.open_data_score"\npillar = "governance"',
                  'code = "gov.open_data_score"\npillar = "research"')
    message = refused(text)
    assert "pillars[governance]" in message
    assert "at least 4 indicators, has 3" in message


def test_derived_pillar_needs_only_one_indicator_but_named_measures() -> None:
    text = re.sub(r'\[\[indicators\]\]\ncode = "adoption\.(?!speed)[^\[]*', "", DEFAULT_TEXT)
    assert len(parse_methodology(text).pillar_indicators("adoption")) == 1
    message = refused(edited('derived = "speed"', 'derived = "velocity"'))
    assert "indicators[adoption.speed].derived" in message
    message = refused(edited('unit = "MW"\n', 'unit = "MW"\nderived = "speed"\n'))
    assert "indicators[infra.datacenter_mw].derived" in message


def test_invalid_toml() -> None:
    message = refused(DEFAULT_TEXT + "\n[[pillars]\n")
    assert "not valid TOML" in message
    assert "not valid TOML" in refused('version = "2025.1')


def test_log_transform_with_negative_lo() -> None:
    message = refused(edited('transform = "log"\nlo = 0\nhi = 2000',
                             'transform = "log"\nlo = -1\nhi = 2000'))
    assert "indicators[infra.datacenter_mw].lo" in message
    assert "log" in message


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("coverage_threshold = 0.65", "coverage_threshold = 0", "methodology.coverage_threshold"),
        ("coverage_threshold = 0.65", "coverage_threshold = 1.5", "methodology.coverage_threshold"),
        ('aggregation = "arithmetic"', 'aggregation = "median"', "methodology.aggregation"),
        ('base_date = "2025-06-30"', 'base_date = "June 2025"', "methodology.base_date"),
        ("speed_window_days = 365", "speed_window_days = 0", "methodology.speed_window_days"),
        ("speed_window_days = 365", "speed_window_days = 36.5", "methodology.speed_window_days"),
        ("speed_window_days = 365", "speed_window_days = true", "methodology.speed_window_days"),
        ('version = "2025.2"', "version = 2025", "methodology.version"),
        ('pillar = "talent"', 'pillar = "skills"', ".pillar"),
        ('code = "research.ai_patents"', 'code = "research.ai_papers"', "indicators"),
        ('code = "talent"', 'code = "research"', "pillars"),
        ('lo = 0\nhi = 350', 'lo = "zero"\nhi = 350', "indicators[infra.broadband_mbps].lo"),
        ('deployed_stages = ["deployed", "scaled"]', 'deployed_stages = ["deployed", "live"]',
         "projects.deployed_stages"),
        ('owners = ["public", "private", "partnership"]', "owners = []", "projects.owners"),
    ],
)
def test_other_broken_rules_are_named(old: str, new: str, where: str) -> None:
    assert where in refused(edited(old, new))


def test_missing_required_field() -> None:
    message = refused(edited('title = "AI City Index 2025.2"\n', ""))
    assert "methodology.title" in message
    assert "missing" in message


def test_wrongly_shaped_tables_are_refused_not_crashed() -> None:
    head = DEFAULT_TEXT.split("[[pillars]]")[0]
    message = refused(head + 'pillars = "all"\nindicators = []\n[projects]\n')
    assert "pillars" in message
    message = refused(DEFAULT_TEXT.replace("[projects]", "[[projects]]"))
    assert "projects" in message


def test_methodology_error_is_a_value_error() -> None:
    assert issubclass(MethodologyError, ValueError)


# ------------------------------------------------------------------ plausible ranges

REFERENCE_INDICATORS = (
    Path(__file__).resolve().parents[2] / "data" / "reference-2025" / "indicators.ndjson"
)
LATENCY = "lo = 10\nhi = 80\nplausible_min = 0\nplausible_min_exclusive = true\n"
PCT_5G = "hi = 100\nplausible_min = 0\nplausible_max = 100  # a percentage\nweight = 0.15"


def test_every_observed_indicator_has_a_plausible_range(methodology: Methodology) -> None:
    for ind in methodology.indicators:
        if ind.derived is not None:
            assert (ind.plausible_min, ind.plausible_max) == (None, None), ind.code
            assert not ind.plausible_min_exclusive and not ind.plausible_max_exclusive
            continue
        assert ind.plausible_min is not None and ind.plausible_max is not None, ind.code
        assert ind.plausible_min < ind.plausible_max, ind.code
        assert ind.is_plausible(ind.lo) and ind.is_plausible(ind.hi), ind.code


def test_the_ranges_follow_the_units(methodology: Methodology) -> None:
    def bounds(code: str) -> tuple[float | None, float | None, bool, bool]:
        ind = methodology.indicator(code)
        return (ind.plausible_min, ind.plausible_max, ind.plausible_min_exclusive,
                ind.plausible_max_exclusive)

    for code in ("infra.5g_coverage_pct", "gov.ai_strategy_score", "gov.open_data_score"):
        assert bounds(code) == (0, 100, False, False), code
    assert bounds("talent.net_migration_pct") == (-100, 100, False, False)
    assert bounds("infra.latency_ms")[0] == 0
    assert bounds("infra.latency_ms")[2] is True  # a latency is > 0
    assert bounds("research.top_institutes")[1] == 200
    for ind in methodology.indicators:
        if ind.derived is None and ind.transform == "log":  # counts and capacities
            assert ind.plausible_min == 0, ind.code
            assert ind.plausible_max is not None and ind.plausible_max >= 10 * ind.hi, ind.code


def test_every_reference_value_lies_inside_its_range(methodology: Methodology) -> None:
    lines = REFERENCE_INDICATORS.read_text(encoding="utf-8").splitlines()
    seen: set[str] = set()
    for line in lines:
        data = json.loads(line)["data"]
        ind = methodology.indicator(data["indicator"])
        assert ind.is_plausible(data["value"]), (ind.code, data["value"], ind.plausible_rule())
        seen.add(ind.code)
    assert seen == set(methodology.observed_indicator_codes())


def test_is_plausible_honours_inclusive_and_exclusive_bounds(methodology: Methodology) -> None:
    pct = methodology.indicator("infra.5g_coverage_pct")
    assert pct.is_plausible(0) and pct.is_plausible(100) and pct.is_plausible(55.5)
    assert not pct.is_plausible(-1e-9) and not pct.is_plausible(100.000001)
    assert not pct.is_plausible(1e308)
    assert pct.plausible_rule() == "between 0 and 100"
    latency = methodology.indicator("infra.latency_ms")
    assert not latency.is_plausible(0) and latency.is_plausible(5e-324)
    assert latency.is_plausible(10000) and not latency.is_plausible(10000.5)
    assert latency.plausible_rule() == "greater than 0 and at most 10000"
    half_open = replace(pct, plausible_max_exclusive=True)
    assert not half_open.is_plausible(100) and half_open.is_plausible(99.99)
    assert half_open.plausible_rule() == "at least 0 and less than 100"
    assert replace(pct, plausible_min=0.5).plausible_rule() == "between 0.5 and 100"


def test_derived_indicators_accept_anything(methodology: Methodology) -> None:
    speed = methodology.indicator("adoption.speed")
    assert speed.is_plausible(-1e308) and speed.is_plausible(1e308)


def test_ranges_are_served_and_survive_a_round_trip(methodology: Methodology) -> None:
    data = {i["code"]: i for i in methodology.to_dict()["indicators"]}
    assert data["infra.latency_ms"]["plausible_min"] == 0
    assert data["infra.latency_ms"]["plausible_max"] == 10000
    assert data["infra.latency_ms"]["plausible_min_exclusive"] is True
    assert data["infra.5g_coverage_pct"]["plausible_max_exclusive"] is False
    assert data["adoption.speed"]["plausible_min"] is None
    json.dumps(methodology.to_dict(), allow_nan=False)  # plain JSON, no Infinity
    assert methodology.with_aggregation("geometric").indicators == methodology.indicators


@pytest.mark.parametrize(
    ("old", "new", "where", "words"),
    [
        (PCT_5G, "hi = 100\nplausible_min = 0\nweight = 0.15", "infra.5g_coverage_pct].plausible_max",
         "missing"),
        (PCT_5G, "hi = 100\nplausible_max = 100\nweight = 0.15", "infra.5g_coverage_pct].plausible_min",
         "missing"),
        (PCT_5G, "hi = 100\nplausible_min = 100\nplausible_max = 100\nweight = 0.15",
         "infra.5g_coverage_pct].plausible_max", "greater than plausible_min"),
        (PCT_5G, "hi = 100\nplausible_min = 0\nplausible_max = nan\nweight = 0.15",
         "infra.5g_coverage_pct].plausible_max", "finite"),
        (PCT_5G, "hi = 100\nplausible_min = -inf\nplausible_max = 100\nweight = 0.15",
         "infra.5g_coverage_pct].plausible_min", "finite"),
        (PCT_5G, 'hi = 100\nplausible_min = "0"\nplausible_max = 100\nweight = 0.15',
         "infra.5g_coverage_pct].plausible_min", "number"),
        (PCT_5G, "hi = 100\nplausible_min = 0\nplausible_max = 100\n"
         "plausible_max_exclusive = 1\nweight = 0.15", "infra.5g_coverage_pct].plausible_max_exclusive",
         "true or false"),
        # goalposts outside the range, including on an excluded bound
        (PCT_5G, "hi = 100\nplausible_min = 0\nplausible_max = 99\nweight = 0.15",
         "infra.5g_coverage_pct].hi", "plausible range"),
        (PCT_5G, "hi = 100\nplausible_min = 0\nplausible_max = 100\n"
         "plausible_max_exclusive = true\nweight = 0.15", "infra.5g_coverage_pct].hi", "less than 100"),
        (LATENCY, LATENCY.replace("plausible_min = 0", "plausible_min = 10"),
         "infra.latency_ms].lo", "greater than 10"),
        ("lo = -5\nhi = 5\nplausible_min = -100", "lo = -5\nhi = 5\nplausible_min = -4",
         "talent.net_migration_pct].lo", "between -4 and 100"),
        # a log indicator cannot have negative values
        ("hi = 2000\nplausible_min = 0", "hi = 2000\nplausible_min = -1",
         "infra.datacenter_mw].plausible_min", "log"),
        # a derived indicator is computed and takes no range
        ('derived = "speed"', 'derived = "speed"\nplausible_min = 0',
         "adoption.speed].plausible_min", "derived"),
        ('derived = "speed"', 'derived = "speed"\nplausible_max_exclusive = true',
         "adoption.speed].plausible_max_exclusive", "derived"),
        ('unit = "MW"\n', 'unit = "MW"\nplausible_range = [0, 1]\n',
         "indicators[0].plausible_range", "unknown field"),
    ],
)
def test_bad_plausible_ranges_are_named(old: str, new: str, where: str, words: str) -> None:
    message = refused(edited(old, new))
    assert where in message
    assert words in message


def test_a_goalpost_outside_the_range_says_why() -> None:
    message = refused(edited(PCT_5G, "hi = 100\nplausible_min = 0\nplausible_max = 90\n"
                                     "weight = 0.15"))
    assert message == (
        "indicators[infra.5g_coverage_pct].hi: goalpost 100 must lie inside the plausible "
        "range (must be between 0 and 90): outside it no accepted value could reach it"
    )


def test_explicit_inclusive_flags_are_accepted() -> None:
    text = edited(PCT_5G, "hi = 100\nplausible_min = 0\nplausible_max = 100\n"
                          "plausible_min_exclusive = false\nplausible_max_exclusive = false\n"
                          "weight = 0.15")
    assert parse_methodology(text) == load_methodology()

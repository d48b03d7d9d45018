"""The versioned methodology file: the default's shape, and refusal of malformed files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.methodology import (
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
    assert methodology.version == DEFAULT_VERSION == "2025.1"
    assert load_methodology(METHODOLOGY_DIR / "2025.1.toml") == methodology
    assert parse_methodology(DEFAULT_TEXT) == methodology


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
    assert {i.derived for i in adoption} == {
        "deployed_projects", "sector_breadth", "speed", "public_private_mix", "scaled_share"}
    assert not any(c.startswith("adoption.") for c in methodology.observed_indicator_codes())


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
    assert data["version"] == "2025.1"
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
    path.write_text(edited('version = "2025.1"', 'version = "custom"'), encoding="utf-8")
    assert load_methodology(path).version == "custom"


# ------------------------------------------------------------------ malformed files


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ('title = "AI City Index 2025.1"', 'title = "x"\nlicense = "CC"', "methodology.license"),
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
        ('version = "2025.1"', "version = 2025", "methodology.version"),
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
    message = refused(edited('title = "AI City Index 2025.1"\n', ""))
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

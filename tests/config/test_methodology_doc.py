"""docs/methodology.md agrees with the default methodology file, so it cannot silently drift.

The document's markdown tables are parsed: every indicator must have exactly one row in
the indicator table carrying its pillar, name, unit, direction, transform, goalposts,
weight and plausible range; every pillar one row with its weight; every derived indicator
its measure.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.contract.methodology import DEFAULT_VERSION, Indicator, Methodology, load_methodology

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "methodology.md"
DEFAULT = load_methodology(DEFAULT_VERSION)

Row = dict[str, str]


def cells(line: str) -> list[str]:
    """Split a markdown table line into stripped cells (an escaped \\| stays in its cell)."""
    inner = line.strip()
    inner = inner.removeprefix("|")
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)]


def is_row(line: str) -> bool:
    """Tell whether a line is part of a markdown table."""
    return line.lstrip().startswith("|")


def is_separator(line: str) -> bool:
    """Tell whether a line is a table's header separator, such as |---|:--:|."""
    return is_row(line) and all(re.fullmatch(r":?-{3,}:?", c) for c in cells(line))


def tables(text: str) -> list[list[Row]]:
    """Return every markdown table as rows keyed by its lower-cased header cells."""
    lines = text.splitlines()
    found: list[list[Row]] = []
    i = 0
    while i + 1 < len(lines):
        if is_row(lines[i]) and is_separator(lines[i + 1]):
            headers = [h.lower() for h in cells(lines[i])]
            rows: list[Row] = []
            i += 2
            while i < len(lines) and is_row(lines[i]):
                values = cells(lines[i])
                assert len(values) == len(headers), f"ragged table row: {lines[i]!r}"
                rows.append(dict(zip(headers, values, strict=True)))
                i += 1
            found.append(rows)
        else:
            i += 1
    return found


def plain(cell: str) -> str:
    """Return a cell's text without code or emphasis markup."""
    return cell.strip().strip("`*").strip()


def number(cell: str) -> float:
    """Return a numeric cell's value (a Unicode minus is read as '-')."""
    return float(plain(cell).replace("\u2212", "-"))


def table_with(columns: set[str], without: frozenset[str] = frozenset()) -> list[Row]:
    """Return the rows of the one table that has all of columns and none of without."""
    matches = [t for t in tables(DOC.read_text(encoding="utf-8"))
               if t and columns <= set(t[0]) and not without & set(t[0])]
    assert len(matches) == 1, (
        f"expected one table with columns {sorted(columns)}, found {len(matches)}")
    return matches[0]


INDICATOR_COLUMNS = {"code", "pillar", "name", "unit", "direction", "transform", "lo", "hi",
                     "weight", "plausible range"}
DERIVED_RANGE = "computed"  # the range cell of a derived indicator, which takes no range


def interval(cell: str) -> tuple[float, float, bool, bool]:
    """Read "[0, 100]" or "(0, 10000]" as (min, max, min exclusive, max exclusive)."""
    match = re.fullmatch(r"([\[(])\s*(\S+)\s*,\s*(\S+)\s*([\])])", plain(cell))
    assert match, f"not an interval such as [0, 100] or (0, 10000]: {cell!r}"
    opening, low, high, closing = match.groups()
    return number(low), number(high), opening == "(", closing == ")"


PILLAR_COLUMNS = {"code", "name", "weight"}


def indicator_rows() -> list[Row]:
    """Return the rows of the indicator table."""
    return table_with(INDICATOR_COLUMNS)


def pillar_rows() -> list[Row]:
    """Return the rows of the pillar table."""
    return table_with(PILLAR_COLUMNS, without=frozenset({"lo", "hi", "pillar"}))


def test_the_document_exists_and_names_the_default_version() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert DEFAULT.version in text.splitlines()[0], "the title should name the version"


@pytest.mark.parametrize("indicator", DEFAULT.indicators, ids=lambda i: i.code)
def test_every_indicator_has_its_row(indicator: Indicator) -> None:
    rows = [r for r in indicator_rows() if plain(r["code"]) == indicator.code]
    assert len(rows) == 1, f"{indicator.code}: expected one row in the indicator table"
    row = rows[0]
    assert number(row["weight"]) == indicator.weight, f"{indicator.code}: weight"
    assert number(row["lo"]) == indicator.lo, f"{indicator.code}: lo goalpost"
    assert number(row["hi"]) == indicator.hi, f"{indicator.code}: hi goalpost"
    assert plain(row["pillar"]) == indicator.pillar, f"{indicator.code}: pillar"
    assert plain(row["direction"]) == indicator.direction, f"{indicator.code}: direction"
    assert plain(row["transform"]) == indicator.transform, f"{indicator.code}: transform"
    assert plain(row["name"]) == indicator.name, f"{indicator.code}: name"
    assert plain(row["unit"]) == indicator.unit, f"{indicator.code}: unit"
    if indicator.derived is not None:
        assert plain(row["plausible range"]) == DERIVED_RANGE, f"{indicator.code}: range"
    else:
        assert interval(row["plausible range"]) == (
            indicator.plausible_min, indicator.plausible_max,
            indicator.plausible_min_exclusive, indicator.plausible_max_exclusive,
        ), f"{indicator.code}: plausible range"


def test_the_indicator_table_lists_only_the_methodology_s_indicators() -> None:
    codes = [plain(r["code"]) for r in indicator_rows()]
    assert sorted(codes) == sorted(i.code for i in DEFAULT.indicators)


def test_every_pillar_and_its_weight_appear(methodology: Methodology) -> None:
    rows = {plain(r["code"]): r for r in pillar_rows()}
    assert sorted(rows) == sorted(p.code for p in methodology.pillars)
    for pillar in methodology.pillars:
        assert number(rows[pillar.code]["weight"]) == pillar.weight, f"{pillar.code}: weight"
        assert plain(rows[pillar.code]["name"]) == pillar.name, f"{pillar.code}: name"


def test_every_derived_indicator_names_its_measure(methodology: Methodology) -> None:
    rows = {plain(r["indicator"]): plain(r["measure (`derived`)"])
            for r in table_with({"indicator", "measure (`derived`)", "definition"})}
    derived = {i.code: i.derived for i in methodology.indicators if i.derived is not None}
    assert rows == derived


def test_the_rules_appear(methodology: Methodology) -> None:
    text = DOC.read_text(encoding="utf-8")
    threshold = f"{methodology.coverage_threshold:.0%}"
    assert threshold == "65%"  # the specification's rule; the document states it as such
    assert threshold in text
    assert f"coverage_threshold = {methodology.coverage_threshold:g}" in text
    assert methodology.base_date.isoformat() in text
    assert f"speed_window_days = {methodology.speed_window_days}" in text
    assert f'aggregation = "{methodology.aggregation}"' in text


def test_the_table_parser_reads_cells() -> None:
    assert cells("| `a.b` | x \\| y | -5 |") == ["`a.b`", "x | y", "-5"]
    assert is_separator("|---|:---:|---:|")
    assert number(" `\u22125` ") == -5.0
    assert interval("[0, 100]") == (0.0, 100.0, False, False)
    assert interval("`(0, 10000]`") == (0.0, 10000.0, True, False)
    assert interval("[\u2212100, 100)") == (-100.0, 100.0, False, True)

"""CSV downloads cannot carry a spreadsheet formula (OWASP's CSV injection rule)."""

from __future__ import annotations

import ast
import csv
import io
from pathlib import Path

import pytest

from services.web.csvsafe import FORMULA_TRIGGERS, csv_text, safe_cell

WEB = Path(__file__).resolve().parents[2] / "services" / "web"
HYPERLINK = '=HYPERLINK("http://x")'


def read(text: str) -> list[list[str]]:
    """Parse CSV text as a spreadsheet would receive it."""
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("cell", [
    HYPERLINK, "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1", "=", "-", "-1.29",
    "=cmd|' /C calc'!A0",
])
def test_text_that_a_spreadsheet_would_evaluate_is_quoted(cell: str) -> None:
    assert cell.startswith(FORMULA_TRIGGERS)
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", [
    "Singapore", "São Paulo", "", "a=b", " =1", "'=already quoted", "2025-06-30", "1e3",
    "\n=1+1",  # a line feed is not in OWASP's list; the csv module quotes the cell
])
def test_other_text_is_unchanged(cell: str) -> None:
    assert safe_cell(cell) == cell


@pytest.mark.parametrize("value", [-1.29, -3, 0, 84.20247240876493, None, 1e-07])
def test_numbers_and_empty_cells_are_untouched(value: float | int | None) -> None:
    assert safe_cell(value) is value


def test_csv_text_neutralises_text_and_keeps_numbers_at_full_precision() -> None:
    score = 0.1 + 0.2
    text = csv_text(["name", "region", "score", "raw", "rank", "missing"],
                    [[HYPERLINK, "@East Asia", score, -1.29, 1, None],
                     ["Seoul", "-", 82.0, -0.0, 2, None]])
    header, first, second = read(text)
    assert header == ["name", "region", "score", "raw", "rank", "missing"]
    assert first == ["'" + HYPERLINK, "'@East Asia", repr(score), "-1.29", "1", ""]
    assert float(first[2]) == score  # every bit of the double
    assert second == ["Seoul", "'-", "82.0", "-0.0", "2", ""]
    # the formula's own quotes and commas stay inside one quoted cell
    assert text.splitlines()[1].startswith('"\'=HYPERLINK(""http://x"")",')


def test_a_header_cell_is_neutralised_too() -> None:
    assert read(csv_text(["=x"], []))[0] == ["'=x"]


def test_every_csv_the_web_service_writes_goes_through_csvsafe() -> None:
    """No module but csvsafe builds CSV itself: a new download cannot skip the rule."""
    offenders = []
    for path in sorted(WEB.rglob("*.py")):
        if path.name == "csvsafe.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if "csv" in names:
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
    users = {p.name for p in WEB.rglob("*.py") if "csv_text(" in p.read_text(encoding="utf-8")}
    assert {"api.py", "pages.py"} <= users

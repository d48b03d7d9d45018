"""CSV output that a spreadsheet cannot run: every CSV the web service writes goes through here.

City names, regions and project terms come from feeds. A cell such as
`=HYPERLINK("http://x")` would be evaluated as a formula by Excel, LibreOffice or Google
Sheets when the download is opened (CSV or formula injection). OWASP's rule: a text cell
that starts with `=`, `+`, `-`, `@`, tab or carriage return gets a leading single quote,
which spreadsheets read as "this is text". Numbers are written as numbers, never escaped,
so a negative value stays a number (and reads back with float()).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | None


def safe_cell(value: Cell) -> Cell:
    """Return a text cell with a leading quote if a spreadsheet would read it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """Return header and rows as CSV text, every text cell neutralised by safe_cell.

    Floats are written by the csv module with repr(), so at full precision; None is an
    empty cell.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([safe_cell(c) for c in row] for row in rows)
    return out.getvalue()

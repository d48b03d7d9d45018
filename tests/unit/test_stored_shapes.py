"""Only the store and the records know how a stored shape is spelled (issue 19, named records).

History entries are stored with one-letter keys (v t r m d s c why p pc ld st n x); outside
shared/store/ and shared/domain/records.py, code reads HistoryEntry, IndicatorChange and the
other records by attribute and never by those letters.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ABBREVIATIONS = frozenset("v t r m d s c why p pc ld st n x".split())
OWNERS = (ROOT / "shared" / "store", ROOT / "shared" / "domain" / "records.py")
# Subscripts of these names use the same letters for something else.
OTHER_LETTERS = frozenset({"UNIT_MS"})  # a span's units (d: a day)
# (file, key): why that spelling there is not a stored member.
ALLOWED = {
    ("services/web/pages.py", "t"): "the API's history entries name the commit time t",
    ("services/web/pages.py", "m"): "the methodology page's template names it m",
    ("services/web/mapview.py", "x"): "a map marker's x coordinate",
    **{("shared/domain/history_rules.py", u): "a span's unit" for u in "smd"},
    **{("shared/cli/review.py", u): "a span's unit" for u in "smd"},
    **{("shared/commands/accept.py", a): "the append script's answer codes" for a in "rn"},
}


def stored_spellings(tree: ast.AST) -> list[tuple[int, str]]:
    """Return (line, key) of every read or write of a stored abbreviation: subscripts,
    .get/.pop/.setdefault calls and dict literal keys."""
    found: list[tuple[int, str]] = []

    def check(node: ast.AST, key: ast.AST | None) -> None:
        if isinstance(key, ast.Constant) and key.value in ABBREVIATIONS:
            found.append((getattr(node, "lineno", 0), key.value))

    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            if not (isinstance(node.value, ast.Name) and node.value.id in OTHER_LETTERS):
                check(node, node.slice)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("get", "pop", "setdefault") and node.args:
                check(node, node.args[0])
        elif isinstance(node, ast.Dict):
            for key in node.keys:
                check(node, key)
    return found


def test_no_code_outside_the_store_spells_a_stored_key() -> None:
    problems = []
    for top in ("shared", "services"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if any(path == o or o in path.parents for o in OWNERS):
                continue
            rel = str(path.relative_to(ROOT))
            for line, key in stored_spellings(ast.parse(path.read_text(encoding="utf-8"))):
                if (rel, key) not in ALLOWED:
                    problems.append(f"{rel}:{line} spells the stored key {key!r}")
    assert problems == [], "read the record's attribute (shared/domain/records.py) instead"


def test_the_scan_catches_reads_gets_and_writes() -> None:
    code = ('a = e["v"]\nb = e.get("why")\nc = {"pc": 1, "score": 2}\n'
            'd = UNIT_MS["d"]\nf = e["score"]\ng = e.pop("x", None)\n')
    assert stored_spellings(ast.parse(code)) == [(1, "v"), (2, "why"), (3, "pc"), (6, "x")]

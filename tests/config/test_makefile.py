"""The Makefile runs mypy once per `make test`, on all of shared/ (the engine included).

mypy used to run three times per `make test`: the `typecheck` target, then a unit test
running it on the engine and again on shared/. The type check is the target's alone; this
test keeps `make test` calling it, so the engine stays type-checked without a second run.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = ROOT / "Makefile"
ENGINE = ["shared/domain", "shared/contract"]


def targets() -> dict[str, tuple[list[str], list[str]]]:
    """Return each Makefile target's prerequisites and recipe lines."""
    out: dict[str, tuple[list[str], list[str]]] = {}
    current: list[str] | None = None
    for line in MAKEFILE.read_text().splitlines():
        match = re.match(r"^([a-z][a-z0-9-]*):(?!=)\s*([^#]*)", line)
        if match:
            current = []
            out[match.group(1)] = (match.group(2).split(), current)
        elif line.startswith("\t") and current is not None:
            current.append(line.strip())
        elif not line.strip():
            current = None
    return out


def test_make_test_type_checks_shared_once_with_mypy() -> None:
    make = targets()
    prerequisites, recipe = make["test"]
    assert "typecheck" in prerequisites and "lint" in prerequisites
    assert not any("mypy" in line for line in recipe)
    checks = [line for line in make["typecheck"][1] if "mypy" in line]
    assert len(checks) == 1
    paths = checks[0].split()[1:]
    assert "shared" in paths
    assert all((ROOT / p).exists() for p in ENGINE)  # the engine lives under shared/


def test_no_test_runs_mypy_again() -> None:
    for path in (ROOT / "tests").rglob("test_*.py"):
        if path == Path(__file__):
            continue
        text = path.read_text()
        assert '"mypy"' not in text and "'mypy'" not in text, path


def test_every_test_folder_has_a_make_target_listed_in_help() -> None:
    make = targets()
    # `make help` lists the lines its own grep pattern matches (it once missed test-e2e)
    pattern = re.search(r"grep -E '([^']+)'", " ".join(make["help"][1]))
    assert pattern
    listed = [line.split(":")[0] for line in MAKEFILE.read_text().splitlines()
              if re.search(pattern.group(1), line)]
    for tier in ("unit", "integration", "e2e", "config"):
        assert f"tests/{tier}" in " ".join(make[f"test-{tier}"][1]), tier
        assert f"test-{tier}" in listed, tier

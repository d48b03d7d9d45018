"""The README stays a five-minute read, and the documents' links and settings stay true."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from shared.platform.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
# [text](target): a target with a scheme (https:, mailto:) or only an anchor is not a file.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def relative_links(doc: Path) -> list[str]:
    """Return the relative link targets of a markdown file, anchors cut off."""
    targets = (m.group(1) for m in LINK.finditer(doc.read_text(encoding="utf-8")))
    return [t.split("#", 1)[0] for t in targets
            if not re.match(r"^[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")]


def test_readme_is_at_most_100_lines() -> None:
    """README.md is read in five minutes: everything longer belongs in docs/."""
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 100


@pytest.mark.parametrize("doc", [README, *DOCS], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_points_to_an_existing_file(doc: Path) -> None:
    """Each relative link in README.md and docs/*.md names a file or folder of the checkout."""
    missing = [t for t in relative_links(doc) if not (doc.parent / t).exists()]
    assert not missing, f"{doc.name} links to missing files: {missing}"


def test_the_readme_links_every_document() -> None:
    """README.md leads to every document in docs/ and to BENCHMARKS.md."""
    linked = {(README.parent / t).resolve() for t in relative_links(README)}
    expected = {d.resolve() for d in DOCS} | {(ROOT / "BENCHMARKS.md").resolve()}
    assert expected <= linked, sorted(p.name for p in expected - linked)


def test_operations_lists_every_setting() -> None:
    """docs/operations.md names every AICITY_* setting, so a new one cannot go undocumented."""
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    missing = [f"AICITY_{f.name.upper()}" for f in fields(Settings)
               if f"AICITY_{f.name.upper()}`" not in text]
    assert not missing, missing

"""What it takes in plain sentences, with the numbers a city official would quote.

Used by the city page and `aicity gap`. A quoted requirement is rounded in the indicator's
good direction (up when higher is better), so the number said still closes the gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Line:
    text: str
    indicator: str | None = None  # the indicator's code, for a link to its row


def ordinal(n: int) -> str:
    """Return 1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _decimals(value: float) -> int:
    size = abs(value)
    return 0 if size >= 100 else 1 if size >= 10 else 2


def quote(value: float, up: bool, decimals: int | None = None) -> str:
    """Return value with thousands separators, rounded up (up) or down at a readable precision."""
    d = _decimals(value) if decimals is None else decimals
    scale = 10.0 ** d
    rounded = (math.ceil if up else math.floor)(round(value * scale, 6)) / scale
    return f"{rounded:,.{d}f}"


def _plain(value: float) -> str:
    return f"{value:,.{_decimals(value)}f}"


def _pct(pct: float | None) -> str:
    if pct is None:
        return ""
    return f", {pct:+.0f}%" if abs(pct) >= 10 else f", {pct:+.1f}%"


def _project_text(lever: dict[str, Any], city: str) -> str:
    kind = lever["project"]
    where = (f"in {kind['sector']}, a sector {city} has no deployed project in yet"
             if lever["new_sector"] else f"in {kind['sector']}, a sector it already has")
    owner = {"public": "public-sector", "private": "private-sector"}.get(kind["owner"],
                                                                          kind["owner"])
    count = lever["count"]
    return (f"{count} more {owner} AI project{'s' if count != 1 else ''} {kind['stage']} "
            f"now {where} (on {lever['current']:,} deployed{_pct(lever['change_pct'])})")


def headline(doc: dict[str, Any]) -> str:
    """Return the first sentence: how far behind (or ahead of) the target the city is."""
    target = doc["target"]
    them = f"{target['name']} ({ordinal(target['rank'])})"
    if doc["ahead"]:
        return f"{doc['name']} leads {them} by {-doc['points_needed']:.2f} points."
    some = any(lever["sufficient"] for lever in doc["levers"])
    if doc["points_needed"] == 0:
        return (f"{doc['name']} is level with {them}: equal scores share a rank, so passing "
                f"means scoring more." + (" Any one of these alone would do it:" if some else ""))
    return (f"{doc['name']} is {doc['points_needed']:.2f} points behind {them}."
            + (" Any one of these alone would close it:" if some else ""))


def sufficient_lines(doc: dict[str, Any]) -> list[Line]:
    """Return one sentence per lever that alone closes the gap, smallest relative change first."""
    out = []
    for lever in doc["levers"]:
        if not lever["sufficient"]:
            continue
        if lever["kind"] == "projects":
            out.append(Line(_project_text(lever, doc["name"])))
            continue
        up = lever["direction"] == "higher"
        out.append(Line(
            f"{lever['name']}: from {_plain(lever['current'])} to "
            f"{quote(lever['required'], up)} {lever['unit']}{_pct(lever['change_pct'])}",
            lever["indicator"]))
    return out


def short_lines(doc: dict[str, Any]) -> list[Line]:
    """Return one sentence per lever that cannot close the gap alone, with the most it adds."""
    out = []
    for lever in doc["levers"]:
        if lever["sufficient"]:
            continue
        if lever["kind"] == "projects":
            out.append(Line(f"Even {_project_text(lever, doc['name'])} would add only "
                            f"{lever['best_points']:.2f} points."))
            continue
        at = "its goalpost" if lever["change"] else "its goalpost already"
        out.append(Line(
            f"{lever['name']}: at most {lever['best_points']:.2f} points, at {at} "
            f"({_plain(lever['required'])} {lever['unit']})", lever["indicator"]))
    return out

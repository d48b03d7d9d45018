"""Formatting shared by the pages' sentences and the template filters (views.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from shared.contract.methodology import Methodology


def fmt_signed(value: float | None) -> str:
    """Format a difference with its sign and one decimal."""
    return "—" if value is None else f"{value:+.1f}".replace("-", "−")


def fmt_qty(value: float | None, unit: str = "") -> str:
    """Format a raw indicator value with its unit."""
    if value is None:
        return "—"
    if abs(value) >= 1000 or float(value).is_integer():
        text = f"{value:,.0f}"
    elif abs(value) < 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:,.1f}"
    if not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


def fmt_ordinal(value: int | None) -> str:
    """Format a rank as an English ordinal (1st, 2nd, 3rd, 11th, 22nd)."""
    if value is None:
        return "—"
    suffix = "th" if 10 <= value % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(value % 10, "th")
    return f"{value}{suffix}"


def fmt_day(value: str | None) -> str:
    """Format an ISO date or timestamp as a day (30 Jun 2025)."""
    if not value:
        return "—"
    try:
        return date.fromisoformat(value[:10]).strftime("%-d %b %Y")
    except ValueError:
        return value


def fmt_moment(value: str | None) -> str:
    """Format an ISO timestamp as a UTC minute (26 Nov 2026 14:05 UTC)."""
    if not value:
        return "—"
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%-d %b %Y %H:%M UTC")



def top_change(entry: Mapping[str, Any], m: Methodology) -> str | None:
    """Return the largest indicator change of a history entry in words, or None."""
    changes = entry.get("changes") or []
    if not changes:
        return None

    def size(ch: Mapping[str, Any]) -> float:
        return abs(float(ch.get("to_normalised") or 0.0) - float(ch.get("from_normalised") or 0.0))

    ch = max(changes, key=size)
    code = ch["indicator"]
    ind = m.indicator(code) if m.has_indicator(code) else None
    unit = ind.unit if ind else ""
    text = (f"{ind.name if ind else code} {fmt_qty(ch.get('from_value'), unit)} → "
            f"{fmt_qty(ch.get('to_value'), unit)}")
    if ch.get("feed"):
        text += f" (feed {ch['feed']})"
    if len(changes) > 1:
        text += f" and {len(changes) - 1} more"
    return text



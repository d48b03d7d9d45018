"""What history is kept and how a past moment is resolved against it (pure rules).

The setting is a list of tiers, youngest first: ``"1h=all,1d=10m,14d=1h,400d=1d"`` keeps
every ranking version of the last hour, then each city's last entry per 10-minute bucket up
to a day old, per hour up to 14 days, per UTC day up to 400 days, and nothing older (except
each city's newest entry, which is its present).

Buckets nest (every resolution divides the next), so after thinning the state at the end of
any bucket is still exact: each city's last entry at or before that instant is the last of
its bucket and was kept. A moment inside a thinned tier therefore resolves to the end of the
last whole bucket at or before it, which is a moment the index really was in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shared.domain.records import IndicatorChange

UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_SPAN = re.compile(r"^(\d+)([smhd])$")


class TiersError(ValueError):
    """A history_tiers setting that breaks a rule; the message names it."""


@dataclass(frozen=True)
class Tier:
    age_ms: int  # entries younger than this (and older than the previous tier's age)
    resolution_ms: int  # 0: every version; else one entry per city per bucket of this length

    def describe(self) -> str:
        """Return the tier in words, e.g. 'one point per city per 1h up to 14d old'."""
        what = ("every ranking version" if not self.resolution_ms
                else f"one point per city per {span_text(self.resolution_ms)}")
        return f"{what} up to {span_text(self.age_ms)} old"


def span_ms(text: str) -> int:
    """Return a span such as '10m', '1h' or '30d' in milliseconds."""
    found = _SPAN.match(text.strip())
    if not found or int(found.group(1)) <= 0:
        raise TiersError(f"history_tiers: {text!r} is not a span like 30s, 10m, 1h or 30d")
    return int(found.group(1)) * UNIT_MS[found.group(2)]


def span_text(ms: int) -> str:
    """Return milliseconds as the largest whole unit ('1h', '14d', '90s')."""
    for unit in ("d", "h", "m", "s"):
        if ms % UNIT_MS[unit] == 0:
            return f"{ms // UNIT_MS[unit]}{unit}"
    return f"{ms}ms"


def parse_tiers(spec: str) -> list[Tier]:
    """Parse '<age>=<all|resolution>,...' (youngest first) and check the buckets nest."""
    tiers: list[Tier] = []
    for part in spec.split(","):
        age, sep, res = part.strip().partition("=")
        if not sep:
            raise TiersError(f"history_tiers: {part!r} must be <age>=<all or resolution>")
        resolution = 0 if res.strip() == "all" else span_ms(res)
        tier = Tier(span_ms(age), resolution)
        if tiers and tier.age_ms <= tiers[-1].age_ms:
            raise TiersError("history_tiers: ages must grow from the first tier to the last")
        if tiers and tiers[-1].resolution_ms and (
                not resolution or resolution % tiers[-1].resolution_ms):
            raise TiersError("history_tiers: each resolution must be a multiple of the "
                             "previous one (buckets nest)")
        if resolution and UNIT_MS["d"] % resolution and resolution % UNIT_MS["d"]:
            raise TiersError(f"history_tiers: {res.strip()} must divide a day or be whole days")
        tiers.append(tier)
    if not tiers:
        raise TiersError("history_tiers: at least one tier is needed")
    return tiers


def describe(tiers: Iterable[Tier]) -> str:
    """Return the retention in words for documents and error messages."""
    return "; ".join(t.describe() for t in tiers)


def resolution_at(tiers: list[Tier], age_ms: int) -> int | None:
    """Return the resolution kept for entries of this age (0: all, None: not kept)."""
    for tier in tiers:
        if age_ms < tier.age_ms:
            return tier.resolution_ms
    return None


def resolve_moment(tiers: list[Tier], at_ms: int, now_ms: int) -> int:
    """Return the latest instant at or before at_ms whose state the kept history holds exactly.

    Inside the 'all' tier that is at_ms itself; inside a thinned tier it is the last
    millisecond of the last whole bucket ending at or before at_ms. Beyond the last tier it is
    resolved with the last tier's resolution (the caller then finds nothing that old).
    """
    resolution = resolution_at(tiers, max(0, now_ms - at_ms))
    if resolution is None:
        resolution = tiers[-1].resolution_ms
    if not resolution:
        return at_ms
    return (at_ms + 1) // resolution * resolution - 1


def bucket(t_ms: int, resolution_ms: int) -> int:
    """Return the bucket (UTC-aligned) of a commit time at a resolution."""
    return t_ms // resolution_ms


def merge_changes(older: Mapping[str, IndicatorChange], newer: Mapping[str, IndicatorChange]
                  ) -> dict[str, IndicatorChange]:
    """Merge two entries' indicator changes into the change across both: the merged one
    starts where the older started and ends where the newer ended."""
    out = dict(older)
    for code, change in newer.items():
        first = out.get(code)
        out[code] = change if first is None else first.then(change)
    return out


def thin(entries: list[tuple[int, int, dict[str, IndicatorChange]]], resolution_ms: int
         ) -> tuple[list[int], dict[int, dict[str, IndicatorChange]]]:
    """Choose what to drop among one city's (version, t, changes) entries, oldest first.

    Returns (versions to drop, {kept version: merged changes} for kept entries whose
    changes absorbed dropped ones). The last entry of each bucket is kept.
    """
    drop: list[int] = []
    merged: dict[int, dict[str, IndicatorChange]] = {}
    pending: dict[str, IndicatorChange] | None = None
    for n, (version, t, changes) in enumerate(entries):
        last_of_bucket = (n + 1 == len(entries)
                          or bucket(entries[n + 1][1], resolution_ms) != bucket(t, resolution_ms))
        if not last_of_bucket:
            drop.append(version)
            pending = changes if pending is None else merge_changes(pending, changes)
            continue
        if pending is not None:
            merged[version] = merge_changes(pending, changes)
            pending = None
    return drop, merged

"""What moved a city in one commit: its indicator changes and the drivers of its score change.

A change is an IndicatorChange (shared/domain/records.py), stored in the city's history
entry and merged across entries when history is thinned or explained over a longer span
(shared/domain/history_rules.py merge_changes).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from shared.contract.methodology import Methodology
from shared.domain.records import HistoryEntry, IndicatorChange
from shared.domain.scoring import CityResult
from shared.domain.scoring.explain import IndicatorMove, PillarEnd, decompose

log = logging.getLogger("aicity.scoring")

TOP_DRIVERS = 2  # pillars and indicators named in a change message


def indicator_changes(old: Mapping[str, Any] | None, new: CityResult,
                      feed_of: Mapping[str, str], last_project: tuple[str, str, str] | None
                      ) -> dict[str, IndicatorChange]:
    """Return the indicators whose raw or normalised value differs from the old result.

    Each names the event that set its new value and the feed that sent it (for measures
    derived from project records: the last project record applied in this batch).
    """
    before = (old or {}).get("indicators") or {}
    out: dict[str, IndicatorChange] = {}
    for code in [*new.indicators, *(c for c in before if c not in new.indicators)]:
        a, b = before.get(code), new.indicators.get(code)
        from_raw, from_norm = (a["raw"], a["normalised"]) if a else (None, None)
        to_raw, to_norm = (b["raw"], b["normalised"]) if b else (None, None)
        if (from_raw, from_norm) == (to_raw, to_norm):
            continue
        event_id, occurred, feed = None, None, None
        if b is not None and not b.get("derived"):
            event_id, occurred = b.get("event_id"), b.get("observed_at")
            feed = feed_of.get(event_id or "")
        elif last_project is not None:
            event_id, occurred, feed = last_project
        out[code] = IndicatorChange(from_raw, from_norm, to_raw, to_norm, event_id, feed, occurred)
    return out


def result_ends(result: Mapping[str, Any]) -> dict[str, PillarEnd]:
    """Return a stored scoring result's pillars as decomposition ends."""
    return {k: PillarEnd(v["score"], v["coverage"]) for k, v in result["pillars"].items()}


def entry_ends(entry: HistoryEntry) -> dict[str, PillarEnd]:
    """Return a history entry's pillars as decomposition ends."""
    scores, coverage = entry.pillars, entry.pillar_coverage
    return {k: PillarEnd(v, coverage.get(k, 0.0)) for k, v in scores.items()}


def moves_of(changes: Mapping[str, IndicatorChange], methodology: Methodology
             ) -> list[IndicatorMove]:
    """Return indicator changes as decomposition moves (indicators of this methodology only:
    a change of methodology can retire indicators)."""
    return [IndicatorMove(code, c.from_normalised, c.to_normalised)
            for code, c in changes.items()
            if methodology.has_indicator(code)]


def change_drivers(methodology: Methodology, old: Mapping[str, Any] | None, new: CityResult,
                   changes: Mapping[str, IndicatorChange]) -> dict[str, Any]:
    """Return the change message's delta fields: old score, score delta and top drivers."""
    old_score = old.get("score") if old else None
    out: dict[str, Any] = {"old_score": old_score, "score_delta": None,
                           "drivers": {"pillars": [], "indicators": []}}
    if old is None or old_score is None or new.score is None:
        return out
    try:
        return {**out, **_drivers(methodology, old, new, changes)}
    except Exception:  # noqa: BLE001 - an explanation must never stop a city being scored
        log.exception("drivers of %s could not be computed", new.city_id)
        return out


def _drivers(methodology: Methodology, old: Mapping[str, Any], new: CityResult,
             changes: Mapping[str, IndicatorChange]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    split = decompose(methodology, result_ends(old),
                      {k: PillarEnd(p.score, p.coverage) for k, p in new.pillars.items()},
                      moves_of(changes, methodology))
    out["score_delta"] = split.score_delta
    pillars = sorted(((c, k) for k, c in split.pillars.items() if c), key=lambda ck: -abs(ck[0]))
    inds = sorted(((c, k) for k, c in split.indicators.items() if c),
                  key=lambda ck: -abs(ck[0]))
    out["drivers"] = {
        "pillars": [{"pillar": k, "contribution": c} for c, k in pillars[:TOP_DRIVERS]],
        "indicators": [
            {"indicator": k, "pillar": methodology.indicator(k).pillar, "contribution": c,
             "from_value": changes[k].from_raw, "to_value": changes[k].to_raw,
             "event_id": changes[k].event_id, "feed": changes[k].feed}
            for c, k in inds[:TOP_DRIVERS] if methodology.has_indicator(k)],
    }
    return out

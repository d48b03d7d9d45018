"""Read the published index: the rankings document and a city's document, from one read model.

The web's views and pages call these with a view of the store (its per-version caches);
every rank comes from shared.scoring.ranking.rank_scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from shared.methodology import Methodology
from shared.scoring.ranking import rank_scores
from shared.store.ranking import IndexMeta, RankingReader


class BadQuery(ValueError):
    """A query parameter that breaks a rule; the message names it."""


class RankingView(Protocol):
    """The published index as one process sees it (cached per ranking version)."""

    methodology: Methodology
    reader: RankingReader

    def stamp(self) -> IndexMeta: ...
    def ranked(self, pillar: str | None) -> tuple[int, list[dict[str, Any]]]: ...
    def ranks(self, pillar: str | None) -> dict[str, int]: ...


@dataclass(frozen=True)
class RankingQuery:
    pillar: str | None = None
    region: str | None = None
    limit: int | None = None
    offset: int = 0


def iso_ms(ms: int | None) -> str | None:
    """Return a Unix time in milliseconds as RFC 3339 UTC (None for none)."""
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def rankings_document(view: RankingView, query: RankingQuery) -> dict[str, Any]:
    """Return the rankings document: read-model rows, filtered and paged, with the meta."""
    codes = [p.code for p in view.methodology.pillars]
    if query.pillar is not None and query.pillar not in codes:
        raise BadQuery(f"pillar: must be one of {', '.join(codes)}")
    version, rows = view.ranked(query.pillar)
    if query.region is not None:
        rows = [r for r in rows if (r.get("region") or "").lower() == query.region.lower()]
    end = query.offset + query.limit if query.limit else None
    # Read-model rows, copied: pages add display fields to their items.
    items = [dict(r) for r in rows[query.offset: end]]
    meta = view.stamp()
    return {
        "as_of": meta.index_date or view.methodology.base_date.isoformat(),
        "updated_at": iso_ms(meta.updated_ms),
        "ranking_version": version,
        "methodology_version": view.methodology.version,
        "sort": query.pillar or "overall",
        "region": query.region,
        "total": len(rows),
        "offset": query.offset,
        "items": items,
        "unranked": view.reader.unranked(),
    }


def _indicator_meta(methodology: Methodology, code: str) -> dict[str, Any]:
    if not methodology.has_indicator(code):
        return {}
    ind = methodology.indicator(code)
    return {"name": ind.name, "unit": ind.unit, "pillar": ind.pillar}


def city_document(view: RankingView, city_id: str, history: int = 30) -> dict[str, Any] | None:
    """Return a city's document (scores, ranks, indicators, projects, recent history), or None."""
    result = view.reader.result(city_id)
    if result is None:
        return None
    rank = view.ranks(None).get(city_id) if result["score"] is not None else None
    pillar_ranks = {k: view.ranks(k).get(city_id) for k, v in result["pillars"].items()
                    if v["score"] is not None}
    region_rank = None
    profile = result.get("profile") or {}
    if result["score"] is not None and profile.get("region"):
        _, rows = view.ranked(None)
        region = rank_scores((r["city_id"], r["score"]) for r in rows
                             if r.get("region") == profile["region"] and r.get("score") is not None)
        region_rank = next((r.rank for r in region if r.city_id == city_id), None)
    meta = view.stamp()
    return {
        "city_id": city_id,
        "name": profile.get("name", city_id),
        "country": profile.get("country"), "region": profile.get("region"),
        "population": profile.get("population"), "lat": profile.get("lat"),
        "lon": profile.get("lon"),
        "score": result["score"], "rank": rank, "region_rank": region_rank,
        "ranked": result["score"] is not None, "reason": result["reason"],
        "coverage": result["coverage"],
        "as_of": result["index_date"], "methodology_version": result["methodology_version"],
        "ranking_version": meta.ranking_version,
        "pillars": {k: {"score": v["score"], "rank": pillar_ranks.get(k),
                        "coverage": v["coverage"], "reason": v["reason"]}
                    for k, v in result["pillars"].items()},
        "indicators": {code: {**info, **_indicator_meta(view.methodology, code)}
                       for code, info in result["indicators"].items()},
        "projects": result["projects"],
        "history": view.reader.history(city_id, history),
    }

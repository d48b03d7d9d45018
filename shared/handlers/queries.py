"""Read the published index: the rankings document and a city's document, from one read model.

The web's views and pages call these with a view of the store (its per-version caches);
every rank comes from shared.scoring.ranking.rank_scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from shared import readmodel
from shared.methodology import Methodology
from shared.scoring.ranking import rank_scores
from shared.scoring.whatif import (
    WeightsError,
    WhatIf,
    parse_aggregation,
    parse_weights,
    whatif_rank,
)
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
    def bands(self) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class RankingQuery:
    pillar: str | None = None
    region: str | None = None
    limit: int | None = None
    offset: int = 0
    fresh: bool = False  # True: leave out stale cities (data older than stale_after_days)
    weights: str | None = None  # what-if: 'pillar:number,...' (renormalised)
    aggregation: str | None = None  # what-if: arithmetic or geometric


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
    spec = whatif_spec(view.methodology, query)
    if spec is not None:
        rows = whatif_rows(rows, spec)
    if query.region is not None:
        rows = [r for r in rows if (r.get("region") or "").lower() == query.region.lower()]
    if query.fresh:
        rows = [r for r in rows if r.get("stale") is False]
    end = query.offset + query.limit if query.limit else None
    # Read-model rows, copied: pages add display fields to their items.
    items = [dict(r) for r in rows[query.offset: end]]
    bands = view.bands()
    for item in items:
        item["rank_band"] = readmodel.band_of(bands, item["city_id"])
    meta = view.stamp()
    return {
        "as_of": meta.index_date or view.methodology.base_date.isoformat(),
        "updated_at": iso_ms(meta.updated_ms),
        "ranking_version": version,
        "methodology_version": view.methodology.version,
        "sort": query.pillar or "overall",
        "region": query.region,
        **({} if spec is None else {"weights": spec.weights, "aggregation": spec.aggregation}),
        "fresh": query.fresh,
        "total": len(rows),
        "offset": query.offset,
        "items": items,
        "unranked": view.reader.unranked(),
    }


def whatif_spec(methodology: Methodology, query: RankingQuery) -> WhatIf | None:
    """Return the what-if weighting a query asks for, or None for the official ranking."""
    if query.weights is None and query.aggregation is None:
        return None
    codes = [p.code for p in methodology.pillars]
    if query.pillar is not None:
        raise BadQuery("weights: what-if weights rank by the overall score; drop pillar=")
    try:
        weights = (parse_weights(query.weights, codes) if query.weights is not None
                   else {p.code: p.weight for p in methodology.pillars})
        aggregation = parse_aggregation(query.aggregation or methodology.aggregation)
    except WeightsError as exc:
        raise BadQuery(str(exc)) from exc
    total = sum(weights.values())
    return WhatIf({c: w / total for c, w in weights.items()}, aggregation)


def whatif_rows(rows: list[dict[str, Any]], spec: WhatIf) -> list[dict[str, Any]]:
    """Return the official rows re-ranked under a what-if weighting, with the official
    rank and score beside the new ones (pure: nothing is written anywhere)."""
    ranked, by_id = whatif_rank(rows, spec)
    out = []
    for item in ranked:
        row = by_id[item.city_id]
        out.append({**row, "rank": item.rank, "score": item.score,
                    "official_rank": row["rank"], "official_score": row["score"]})
    return out


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
        "rank_band": readmodel.band_of(view.bands(), city_id) if rank is not None else None,
        "ranked": result["score"] is not None, "reason": result["reason"],
        "coverage": result["coverage"],
        "last_data_at": result.get("last_data_at"), "stale": result.get("stale", True),
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

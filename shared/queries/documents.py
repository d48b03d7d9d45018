"""Read the published index: the rankings document and a city's document, from one read model.

The web's views and pages call these with a view of the store (its per-version caches);
every rank comes from shared.domain.scoring.ranking.rank_scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from shared.contract.methodology import Methodology
from shared.domain import readmodel
from shared.domain.records import IndexMeta, Moment
from shared.domain.scoring.ranking import rank_scores
from shared.domain.scoring.whatif import WhatIf, whatif_rank
from shared.queries.errors import BadQuery, NotKept
from shared.queries.params import Point
from shared.queries.ports import RankingRecords
from shared.queries.timeline import (
    PastPage,
    Timeline,
    city_history_at,
    indicators_at,
    iso,
    moment_block,
    since_changes,
    snapshot_unranked,
)

__all__ = ["BadQuery", "NotKept", "RankingQuery", "city_document", "rankings_document"]


class RankingView(Protocol):
    """The published index as one process sees it (cached per ranking version)."""

    @property
    def methodology(self) -> Methodology: ...
    @property
    def reader(self) -> RankingRecords: ...
    @property
    def timeline(self) -> Timeline: ...

    def stamp(self) -> IndexMeta: ...
    def ranked(self, pillar: str | None) -> tuple[int, list[dict[str, Any]]]: ...
    def ranks(self, pillar: str | None) -> dict[str, int]: ...
    def bands(self) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class RankingQuery:
    """A rankings query, parsed (shared/queries/params.py): names checked, numbers and
    moments read."""

    since: Point  # rows carry their change since (the default: the start of the UTC day)
    pillar: str | None = None  # a pillar code
    region: str | None = None
    limit: int | None = None
    offset: int = 0
    fresh: bool = False  # True: leave out stale cities (data older than stale_after_days)
    weights: dict[str, float] | None = None  # what-if: as given, per pillar
    aggregation: str | None = None  # what-if: arithmetic or geometric
    as_of: Point | None = None  # a past moment


def ms_to_iso(ms: int | None) -> str | None:
    """Return a Unix time in milliseconds as RFC 3339 UTC (None for none or 0)."""
    return iso(ms) if ms else None


def rankings_document(view: RankingView, query: RankingQuery) -> dict[str, Any]:
    """Return the rankings document: read-model rows, filtered and paged, with the meta.

    With as_of the rows are the ranking served at that moment; every row carries its change
    since a moment (since=, default the start of the current UTC day).
    """
    spec = whatif_spec(view.methodology, query)
    past: Moment | None = None
    page: PastPage | None = None
    at_block = None
    if query.as_of is not None:
        past = view.timeline.resolve("as_of", query.as_of)
        at_block = moment_block("as_of", query.as_of, past)
        version = past.version
        if (query.limit and query.pillar is None and query.region is None and not query.fresh
                and spec is None):  # one page, overall: the scores and the page's entries
            page = view.timeline.page(past, query.offset, query.limit)
            rows = page.rows
        else:
            rows = view.timeline.rows(past, query.pillar)
    else:
        version, rows = view.ranked(query.pillar)
    since_block = None
    if view.timeline.latest() is not None:
        # a since before the oldest kept point starts at the oldest one
        since_moment = view.timeline.resolve("since", query.since, clamp=True)
        if past is None or since_moment.version <= past.version:
            rows = [dict(r) for r in rows]
            since_changes(view.timeline, since_moment, rows, query.pillar)
            since_block = moment_block("since", query.since, since_moment)
    if spec is not None:
        rows = whatif_rows(rows, spec)
    if query.region is not None:
        rows = [r for r in rows if (r.get("region") or "").lower() == query.region.lower()]
    if query.fresh:
        rows = [r for r in rows if r.get("stale") is False]
    total = len(rows) if page is None else page.total
    end = query.offset + query.limit if query.limit else None
    # Read-model rows, copied: pages add display fields to their items.
    items = [dict(r) for r in (rows[query.offset: end] if page is None else rows)]
    bands = view.bands() if past is None else None  # bands are not kept for past moments
    for item in items:
        item["rank_band"] = readmodel.band_of(bands, item["city_id"])
    meta = view.stamp()
    index_date: str | None
    methodology: str | None
    if past is None:
        index_date, methodology = meta.index_date, view.methodology.version
        updated = ms_to_iso(meta.updated_ms)
        unranked = view.reader.unranked()
    else:
        if page is None:
            snap = view.timeline.snapshot(past)
            index_date, methodology = snap.index_date(), snap.methodology()
            unranked = snapshot_unranked(snap)
        else:
            index_date, methodology, unranked = page.index_date, page.methodology, page.unranked
        updated = ms_to_iso(past.version_t)
    day = index_date or view.methodology.base_date.isoformat()
    return {
        "index_date": day,
        "as_of": day,  # deprecated alias of index_date for one release
        "updated_at": updated,
        "ranking_version": version,
        "methodology_version": methodology or view.methodology.version,
        **({} if at_block is None else {"point_in_time": at_block}),
        **({} if since_block is None else {"since": since_block}),
        "sort": query.pillar or "overall",
        "region": query.region,
        **({} if spec is None else {"weights": spec.weights, "aggregation": spec.aggregation}),
        "fresh": query.fresh,
        "total": total,
        "offset": query.offset,
        "items": items,
        "unranked": unranked,
    }


def whatif_spec(methodology: Methodology, query: RankingQuery) -> WhatIf | None:
    """Return the what-if weighting a query asks for, or None for the official ranking."""
    if query.weights is None and query.aggregation is None:
        return None
    if query.pillar is not None:
        raise BadQuery("weights", "what-if weights rank by the overall score; drop pillar=")
    weights = (query.weights if query.weights is not None
               else {p.code: p.weight for p in methodology.pillars})
    total = sum(weights.values())
    return WhatIf({c: w / total for c, w in weights.items()},
                  query.aggregation or methodology.aggregation)


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


def city_document(view: RankingView, city_id: str, history: int = 30,
                  as_of: Point | None = None) -> dict[str, Any] | None:
    """Return a city's document (scores, ranks, indicators, projects, recent history), or None.

    With as_of: the city as it was served then (scores and ranks exact; indicators are
    today's with every later change undone; projects are today's summary and left out).
    """
    if as_of is not None:
        return _city_document_at(view, city_id, history, as_of)
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
        "index_date": result["index_date"],
        "as_of": result["index_date"],  # deprecated alias of index_date for one release
        "methodology_version": result["methodology_version"],
        "ranking_version": meta.ranking_version,
        "pillars": {k: {"score": v["score"], "rank": pillar_ranks.get(k),
                        "coverage": v["coverage"], "reason": v["reason"]}
                    for k, v in result["pillars"].items()},
        "indicators": {code: {**info, **_indicator_meta(view.methodology, code)}
                       for code, info in result["indicators"].items()},
        "projects": result["projects"],
        "history": view.reader.history(city_id, history),
    }


def _city_document_at(view: RankingView, city_id: str, history: int, point: Point
                      ) -> dict[str, Any] | None:
    current = view.reader.result(city_id)
    if current is None:  # an unknown city is a 404 whatever the moment
        return None
    timeline = view.timeline
    moment = timeline.resolve("as_of", point)
    snap = timeline.snapshot(moment)
    entry = snap.entries.get(city_id)
    if entry is None:
        return None
    card = snap.cards.get(city_id, {})
    ranks = {r["city_id"]: r["rank"] for r in timeline.rows(moment)}
    pillar_ranks = {p: {r["city_id"]: r["rank"] for r in timeline.rows(moment, p)}.get(city_id)
                    for p in entry.pillars}
    region_rank = None
    if entry.score is not None and card.get("region"):
        region = rank_scores((r["city_id"], r["score"]) for r in timeline.rows(moment)
                             if r.get("region") == card["region"])
        region_rank = next((r.rank for r in region if r.city_id == city_id), None)
    coverage = entry.pillar_coverage
    return {
        "city_id": city_id, "name": card.get("name", city_id),
        "country": card.get("country"), "region": card.get("region"),
        "population": (current.get("profile") or {}).get("population"),
        "lat": card.get("lat"), "lon": card.get("lon"),
        "score": entry.score, "rank": ranks.get(city_id), "region_rank": region_rank,
        "rank_band": None, "ranked": entry.score is not None, "reason": entry.reason,
        "coverage": entry.coverage, "last_data_at": entry.last_data_at,
        "stale": entry.stale, "as_of": entry.index_date,
        "index_date": entry.index_date,  # as_of here is its deprecated alias (one release)
        "methodology_version": entry.methodology, "ranking_version": moment.version,
        "point_in_time": moment_block("as_of", point, moment),
        "pillars": {k: {"score": v, "rank": pillar_ranks.get(k) if v is not None else None,
                        "coverage": coverage.get(k), "reason": None}
                    for k, v in entry.pillars.items()},
        "indicators": {code: {**info, **_indicator_meta(view.methodology, code)}
                       for code, info in indicators_at(timeline, city_id, moment,
                                                       current["indicators"]).items()},
        "projects": None,
        "history": city_history_at(timeline, city_id, moment, history),
    }

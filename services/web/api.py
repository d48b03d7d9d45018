"""JSON API of the web service: rankings, cities, history, methodology."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from services.web.caching import cacheable
from services.web.context import WebContext
from services.web.csvsafe import csv_text
from shared import readmodel
from shared.jsonfast import compact
from shared.scoring.ranking import rank_scores

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class BadQuery(ValueError):
    """A query parameter that breaks a rule; the message names it."""


def ctx() -> WebContext:
    """Return the web context of the current app."""
    c: WebContext = current_app.extensions["aicity"]
    return c


def _int_arg(name: str, default: int | None, lo: int, hi: int) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise BadQuery(f"{name}: must be an integer") from exc
    if not lo <= value <= hi:
        raise BadQuery(f"{name}: must be between {lo} and {hi}")
    return value


def rankings_payload() -> dict[str, Any]:
    """Build the rankings document for the current query string."""
    c = ctx()
    pillar = request.args.get("pillar") or None
    codes = [p.code for p in c.methodology.pillars]
    if pillar is not None and pillar not in codes:
        raise BadQuery(f"pillar: must be one of {', '.join(codes)}")
    region = request.args.get("region") or None
    limit = _int_arg("limit", None, 1, 100_000)
    offset = _int_arg("offset", 0, 0, 10_000_000) or 0
    version, rows = c.ranked(pillar)
    if region is not None:
        rows = [r for r in rows if (r.get("region") or "").lower() == region.lower()]
    total = len(rows)
    # Read-model rows (ctx.ranked), copied: pages add display fields to their items.
    items = [dict(r) for r in rows[offset: offset + limit if limit else None]]
    meta = c.stamp()
    return {
        "as_of": meta.index_date or c.methodology.base_date.isoformat(),
        "updated_at": _iso(meta.updated_ms),
        "ranking_version": version,
        "methodology_version": c.methodology.version,
        "sort": pillar or "overall",
        "region": region,
        "total": total,
        "offset": offset,
        "items": items,
        "unranked": c.reader.unranked(),
    }


def _iso(ms: int | None) -> str | None:
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=message, status=status), status


@bp.errorhandler(BadQuery)
def _bad_query(exc: BadQuery) -> tuple[Response, int]:
    return _error(400, str(exc))


@bp.get("/rankings")
@cacheable("rankings")
def rankings() -> Response:
    """Return the live ranking (pillar=, region=, limit=, offset=)."""
    # Serialised once per ranking version and query: most reads hit between two commits.
    _, body = ctx().cached_body(("json", request.query_string),
                                lambda: compact(rankings_payload()))
    return Response(body, mimetype="application/json")


@bp.get("/rankings.csv")
@cacheable("rankings-csv")
def rankings_csv() -> Response:
    """Return the live ranking as CSV."""
    doc = rankings_payload()
    pillars = [p.code for p in ctx().methodology.pillars]
    body = csv_text(readmodel.csv_header(pillars),
                    (readmodel.csv_cells(item, pillars) for item in doc["items"]))
    resp = Response(body, mimetype="text/csv")
    resp.headers["Content-Disposition"] = (
        f'attachment; filename="aicity-ranking-v{doc["ranking_version"]}.csv"')
    return resp


def city_payload(city_id: str, history: int = 30) -> dict[str, Any] | None:
    """Build the city document: scores, ranks, indicators, projects, recent history."""
    c = ctx()
    result = c.reader.result(city_id)
    if result is None:
        return None
    # Every rank comes from rank_scores (through the per-version caches of ctx).
    rank = c.ranks(None).get(city_id) if result["score"] is not None else None
    pillar_ranks = {k: c.ranks(k).get(city_id) for k, v in result["pillars"].items()
                    if v["score"] is not None}
    region_rank = None
    profile = result.get("profile") or {}
    if result["score"] is not None and profile.get("region"):
        _, rows = c.ranked(None)
        region = rank_scores((r["city_id"], r["score"]) for r in rows
                             if r.get("region") == profile["region"] and r.get("score") is not None)
        region_rank = next((r.rank for r in region if r.city_id == city_id), None)
    meta = c.stamp()
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
        "indicators": {code: {**info, **_indicator_meta(code)}
                       for code, info in result["indicators"].items()},
        "projects": result["projects"],
        "history": c.reader.history(city_id, history),
    }


def _indicator_meta(code: str) -> dict[str, Any]:
    methodology = ctx().methodology
    if not methodology.has_indicator(code):
        return {}
    ind = methodology.indicator(code)
    return {"name": ind.name, "unit": ind.unit, "pillar": ind.pillar}


@bp.get("/cities/<city_id>")
@cacheable("city")
def city(city_id: str) -> tuple[Response, int] | Response:
    """Return one city's scores, ranks, indicators, projects and recent history."""
    doc = city_payload(city_id)
    if doc is None:
        return _error(404, f"city {city_id!r} is not in the index")
    return jsonify(doc)


@bp.get("/cities/<city_id>/history")
@cacheable("city-history")
def city_history(city_id: str) -> tuple[Response, int] | Response:
    """Return a city's score, rank and pillars over time."""
    if ctx().reader.result(city_id) is None:
        return _error(404, f"city {city_id!r} is not in the index")
    return jsonify(city_id=city_id, history=ctx().reader.history(city_id))


@bp.get("/methodology")
@cacheable("methodology", source="methodology")
def methodology() -> Response:
    """Return the methodology in force."""
    return jsonify(ctx().methodology.to_dict())

"""JSON API of the web service: rankings, cities, history, methodology."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from services.web.caching import cacheable
from services.web.context import WebContext
from services.web.csvsafe import csv_text
from shared import readmodel
from shared.handlers.queries import (
    BadQuery,
    NotKept,
    RankingQuery,
    city_document,
    rankings_document,
)
from shared.handlers.timeline import explain_document, parse_point, since_point
from shared.jsonfast import compact

bp = Blueprint("api", __name__, url_prefix="/api/v1")


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


def _bool_arg(name: str) -> bool:
    raw = (request.args.get(name) or "").lower()
    if raw in ("", "false", "0"):
        return False
    if raw in ("true", "1"):
        return True
    raise BadQuery(f"{name}: must be true or false")


def rankings_payload() -> dict[str, Any]:
    """Build the rankings document for the current query string."""
    query = RankingQuery(pillar=request.args.get("pillar") or None,
                         region=request.args.get("region") or None,
                         limit=_int_arg("limit", None, 1, 100_000),
                         offset=_int_arg("offset", 0, 0, 10_000_000) or 0,
                         fresh=_bool_arg("fresh"),
                         weights=request.args.get("weights"),
                         aggregation=request.args.get("aggregation"),
                         as_of=request.args.get("as_of") or None,
                         since=request.args.get("since") or None)
    return rankings_document(ctx(), query)


def city_payload(city_id: str, history: int = 30) -> dict[str, Any] | None:
    """Build the city document: scores, ranks, indicators, projects, recent history
    (as it was at as_of= if given)."""
    return city_document(ctx(), city_id, history, as_of=request.args.get("as_of") or None)


def explain_payload(city_id: str) -> dict[str, Any] | None:
    """Build why a city moved between since= (default: the start of the UTC day) and
    until= (default: now)."""
    timeline = ctx().timeline
    now = timeline.now_ms()
    since = request.args.get("since") or None
    until = request.args.get("until") or None
    start = since_point(since, now)
    return explain_document(timeline, city_id, start,
                            None if until is None else parse_point("until", until, now))


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=message, status=status), status


@bp.errorhandler(BadQuery)
def _bad_query(exc: BadQuery) -> tuple[Response, int]:
    return _error(400, str(exc))


@bp.errorhandler(NotKept)
def _not_kept(exc: NotKept) -> tuple[Response, int]:
    return _error(404, str(exc))


@bp.get("/rankings")
@cacheable("rankings")
def rankings() -> Response:
    """Return the live ranking (pillar=, region=, limit=, offset=, fresh=; what-if:
    weights=, aggregation=)."""
    # Serialised once per ranking version and query: most reads hit between two commits.
    _, body = ctx().cached_body(("json", request.query_string, time.time() // 86_400),
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


@bp.get("/cities/<city_id>/explain")
@cacheable("city-explain")
def city_explain(city_id: str) -> tuple[Response, int] | Response:
    """Return why a city's score and rank moved between two moments."""
    doc = explain_payload(city_id)
    if doc is None:
        return _error(404, f"city {city_id!r} is not in the index")
    return jsonify(doc)


@bp.get("/methodology")
@cacheable("methodology", source="methodology")
def methodology() -> Response:
    """Return the methodology in force."""
    return jsonify(ctx().methodology.to_dict())

"""JSON API of the web service: rankings, cities, history, methodology."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from services.web.caching import cacheable, moments_key
from services.web.context import WebContext
from services.web.csvsafe import csv_text
from shared.contract.jsonfast import compact
from shared.domain import readmodel
from shared.domain.scoring.whatif import AGGREGATIONS
from shared.queries import params
from shared.queries.documents import RankingQuery, city_document, rankings_document
from shared.queries.gap import gap_document
from shared.queries.timeline import explain_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")
RANKING_MOMENTS = ("as_of", "since")  # the moments a ranking read takes (ETag, cache key)


def ctx() -> WebContext:
    """Return the web context of the current app."""
    c: WebContext = current_app.extensions["aicity"]
    return c


def arg(name: str) -> str | None:
    """Return a query parameter's first value; empty counts as not given."""
    return request.args.get(name) or None


def ranking_query() -> RankingQuery:
    """Parse the ranking parameters of the query string (shared/queries/params.py)."""
    c = ctx()
    codes = [p.code for p in c.methodology.pillars]
    weights = arg("weights")
    return RankingQuery(
        since=c.since(),
        pillar=params.choice("pillar", arg("pillar"), codes),
        region=arg("region"),
        limit=params.whole_number("limit", arg("limit"), None, 1, 100_000),
        offset=params.whole_number("offset", arg("offset"), 0, 0, 10_000_000),
        fresh=params.flag("fresh", arg("fresh")),
        weights=None if weights is None else params.weights(weights, codes),
        aggregation=params.choice("aggregation", arg("aggregation"), AGGREGATIONS),
        as_of=c.moment("as_of"))


def rankings_payload() -> dict[str, Any]:
    """Build the rankings document for the current query string."""
    return rankings_document(ctx(), ranking_query())


def city_payload(city_id: str, history: int = 30) -> dict[str, Any] | None:
    """Build the city document: scores, ranks, indicators, projects, recent history
    (as it was at as_of= if given)."""
    return city_document(ctx(), city_id, history, as_of=ctx().moment("as_of"))


def explain_payload(city_id: str) -> dict[str, Any] | None:
    """Build why a city moved between since= (default: the start of the UTC day) and
    until= (default: now)."""
    c = ctx()
    return explain_document(c.timeline, city_id, c.since(), c.moment("until"))


def gap_payload(city_id: str) -> dict[str, Any] | None:
    """Build what it takes for a city to pass to= (a city) or the city listed rank= (default:
    the one ranked just above), from the published state; None for a city not ranked."""
    c = ctx()
    to = params.city_slug("to", arg("to"))
    rank = params.whole_number("rank", arg("rank"), None, 1, 1_000_000)
    key = ("gap", city_id, to, rank)
    _, doc = c.cached_body(key, lambda: gap_document(c, city_id, to, rank,
                                                     c.settings.max_projects_per_city))
    return doc


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=message, status=status), status


@bp.get("/rankings")
@cacheable("rankings", moments=RANKING_MOMENTS)
def rankings() -> Response:
    """Return the live ranking (pillar=, region=, limit=, offset=, fresh=; what-if:
    weights=, aggregation=)."""
    # Serialised once per ranking version, query and resolved moments (a span such as
    # since=20s moves every second): most reads hit between two commits.
    key = ("json", request.query_string, moments_key(RANKING_MOMENTS))
    _, body = ctx().cached_body(key, lambda: compact(rankings_payload()))
    return Response(body, mimetype="application/json")


@bp.get("/rankings.csv")
@cacheable("rankings-csv", moments=RANKING_MOMENTS)
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
@cacheable("city", moments=("as_of",))
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
@cacheable("city-explain", moments=("since", "until"))
def city_explain(city_id: str) -> tuple[Response, int] | Response:
    """Return why a city's score and rank moved between two moments."""
    doc = explain_payload(city_id)
    if doc is None:
        return _error(404, f"city {city_id!r} is not in the index")
    return jsonify(doc)


@bp.get("/cities/<city_id>/gap")
@cacheable("city-gap")
def city_gap(city_id: str) -> tuple[Response, int] | Response:
    """Return what alone would lift a city's score above another's (to= or rank=)."""
    doc = gap_payload(city_id)
    if doc is None:
        return _error(404, f"city {city_id!r} is not ranked in the index")
    return jsonify(doc)


@bp.get("/methodology")
@cacheable("methodology", source="methodology")
def methodology() -> Response:
    """Return the methodology in force."""
    return jsonify(ctx().methodology.to_dict())

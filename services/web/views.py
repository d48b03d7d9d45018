"""HTML pages: the live ranking, city profiles, comparison and methodology."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for

from services.web import formatting, pages
from services.web.api import RANKING_MOMENTS, city_payload, ctx
from services.web.caching import cacheable
from services.web.explore import explore_page
from services.web.mapview import map_page

# Templates and static files live in the app's own folders (services/web/templates, static).
bp = Blueprint("views", __name__)

# Pages load nothing from elsewhere and run no inline script: a stray name cannot execute.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")


@bp.after_request
def _headers(resp: Response) -> Response:
    if resp.mimetype == "text/html":
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "same-origin"
    return resp


# A bad query parameter (BadQuery: 400) or a moment not kept (NotKept: 404) is answered by
# the app's one handler (services/web/app.py) with the site's error page.


@bp.get("/")
@cacheable("page-ranking", moments=RANKING_MOMENTS)
def ranking() -> str:
    """Render the live ranking (sort=, dir=, region=, q=, since=), or a past one (as_of=)."""
    return render_template("ranking.html", **pages.ranking_page(request.args.to_dict()))


@bp.get("/cities/<city_id>")
@cacheable("page-city", moments=("as_of", "since"))
def city(city_id: str) -> tuple[str, int] | str:
    """Render a city's profile, now or at as_of=, with what changed since since=."""
    page = pages.city_page(city_id, request.args.to_dict())
    if page is None:
        return not_found(f"No city with id “{city_id}” is in the index.")
    return render_template("city.html", **page)


@bp.get("/cities/<city_id>.csv")
@cacheable("city-csv", moments=("as_of",))
def city_csv(city_id: str) -> Response | tuple[str, int]:
    """Return a city's scores and indicators as CSV."""
    doc = city_payload(city_id)
    if doc is None:
        return not_found(f"No city with id “{city_id}” is in the index.")
    body = pages.city_csv(doc, ctx().methodology.pillars)
    resp = Response(body, mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="aicity-{city_id}.csv"'
    return resp


@bp.get("/compare")
def compare() -> Any:
    """Render 2-4 cities side by side (c=a,b); repeated c= redirects to the shareable form."""
    values = request.args.getlist("c")
    ids = pages.parse_compare(values)
    if len(values) > 1 or (values and ",".join(ids) != values[0]):
        return redirect(url_for("views.compare", c=",".join(ids)) if ids
                        else url_for("views.compare"))
    return _compare(ids)


@cacheable("page-compare", moments=("as_of",))  # its city documents honour as_of=
def _compare(ids: list[str]) -> Any:
    page, status = pages.compare_page(ids)
    return render_template("compare.html", **page), status


@bp.get("/map")
@cacheable("page-map", moments=RANKING_MOMENTS)
def world_map() -> str:
    """Render the world map of the ranking (colour=overall or a pillar code)."""
    return render_template("map.html", **map_page(request.args.get("colour")))


@bp.get("/explore")
@cacheable("page-explore")
def explore() -> str:
    """Render the ranking under the reader's weights (weights=, aggregation=)."""
    return render_template("explore.html", **explore_page(request.args.to_dict()))


@bp.get("/methodology")
@cacheable("page-methodology", source="methodology")
def methodology() -> str:
    """Render the methodology in force."""
    return render_template("methodology.html", **pages.methodology_page())


def not_found(message: str) -> tuple[str, int]:
    """Render the HTML not-found page."""
    return render_template("error.html", title="Not found", message=message), 404


@bp.app_template_filter("score")
def fmt_score(value: float | None) -> str:
    """Format a 0-100 score with one decimal."""
    return "—" if value is None else f"{value:.1f}"


@bp.app_template_filter("pct")
def fmt_pct(value: float | None) -> str:
    """Format a 0-1 share as a whole percentage."""
    return "—" if value is None else f"{value * 100:.0f}%"


bp.add_app_template_filter(formatting.fmt_qty, "qty")
bp.add_app_template_filter(formatting.fmt_day, "day")
bp.add_app_template_filter(formatting.fmt_moment, "moment")


@bp.app_template_filter("ms")
def fmt_ms(value: float | None) -> str:
    """Format epoch milliseconds as a UTC time."""
    if not value:
        return "—"
    return datetime.fromtimestamp(value / 1000, UTC).strftime("%-d %b %Y %H:%M:%S UTC")


@bp.app_template_filter("iso_time")
def fmt_iso_time(value: str | None) -> str:
    """Format an ISO timestamp as a UTC time."""
    if not value:
        return "—"
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%-d %b %Y %H:%M:%S UTC")


bp.add_app_template_filter(formatting.fmt_ordinal, "ordinal")
bp.add_app_template_filter(formatting.fmt_signed, "signed")

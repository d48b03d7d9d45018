"""Web service app factory: JSON API, SSE, HTML pages, OpenAPI, ops endpoints."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from services.web import api, stream
from services.web import metrics as m
from services.web.collector import PipelineCollector
from services.web.context import WebContext
from services.web.openapi import build_openapi
from shared.platform.logs import configure_logging
from shared.platform.ops import (
    FastJSONProvider,
    metrics_registry,
    ops_blueprint,
    redis_unavailable_handler,
)
from shared.platform.settings import Settings
from shared.queries.errors import BadQuery, NotFound, NotKept


def create_app(settings: Settings | None = None) -> Flask:
    """Create the web Flask app."""
    settings = settings or Settings.from_env()
    configure_logging(settings)
    app = Flask(__name__)
    app.json = FastJSONProvider(app)
    ctx = WebContext(settings)
    app.extensions["aicity"] = ctx
    app.register_blueprint(api.bp)
    app.register_blueprint(stream.bp)
    try:
        from services.web import views
    except ImportError:  # pages not built yet
        views = None  # type: ignore[assignment]
    if views is not None:
        app.register_blueprint(views.bp)
    collector = PipelineCollector(ctx.client)
    app.register_blueprint(ops_blueprint(ctx.ready, lambda: metrics_registry([collector])))
    m.HTTP.install(app)
    # Redis full, unreachable or this process's pool busy: 503 + Retry-After, not 500
    redis_unavailable_handler(app, settings.retry_after_seconds)
    openapi = build_openapi(ctx.methodology)

    @app.get("/openapi.json")
    def openapi_json() -> Response:
        return jsonify(openapi)

    def error(code: int, title: str, message: str, field: str | None = None
              ) -> tuple[Response | str, int]:
        if request.path.startswith("/api/") or request.path.startswith("/openapi"):
            extra = {} if field is None else {"field": field}
            return jsonify(error=message, status=code, **extra), code
        # Pages: the site's own error page (landmarks, skip link, styles), not werkzeug's.
        return render_template("error.html", title=title, message=message), code

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response | str, int]:
        return error(exc.code or 500, exc.name, exc.description or exc.name)

    # Every view parses its query with shared/queries/params.py; a refusal is answered here
    # once, for the JSON API, the CSV downloads and the pages alike.
    @app.errorhandler(BadQuery)
    def _bad_query(exc: BadQuery) -> tuple[Response | str, int]:
        return error(400, "Bad request", str(exc), exc.parameter)

    @app.errorhandler(NotKept)
    def _not_kept(exc: NotKept) -> tuple[Response | str, int]:
        return error(404, "Not kept", str(exc), exc.parameter)

    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound) -> tuple[Response | str, int]:
        return error(404, "Not found", str(exc), exc.parameter)

    return app

"""Ingest service app factory."""

from __future__ import annotations

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from services.ingest import api
from services.ingest import metrics as m
from services.ingest.openapi import openapi_blueprint
from shared.bootstrap import Ingest
from shared.platform.logs import configure_logging
from shared.platform.ops import (
    FastJSONProvider,
    metrics_registry,
    ops_blueprint,
    redis_unavailable_handler,
)
from shared.platform.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    """Create the ingest Flask app."""
    settings = settings or Settings.from_env()
    configure_logging(settings)
    app = Flask(__name__)
    app.json = FastJSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = settings.ingest_max_body_bytes
    ctx = Ingest(settings)
    app.extensions["aicity"] = ctx
    app.register_blueprint(api.bp)
    app.register_blueprint(ops_blueprint(ctx.ready, metrics_registry))
    app.register_blueprint(openapi_blueprint(ctx.codec))
    m.HTTP.install(app)
    # Redis full, unreachable or this process's pool busy: 503 + Retry-After, not 500
    redis_unavailable_handler(app, settings.retry_after_seconds)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        code = exc.code or 500
        message = exc.description or exc.name
        if code == 413:
            message = (f"request body over the limit of {settings.ingest_max_body_bytes} bytes; "
                       "split it into smaller batches")
        return jsonify(error=message, status=code), code

    return app

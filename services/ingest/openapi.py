"""GET /openapi.json: the ingest API described by the schemas that validate its events."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from shared.contract.events import EventCodec
from shared.contract.openapi import ingest_openapi


def openapi_blueprint(codec: EventCodec) -> Blueprint:
    """Return the blueprint serving the ingest service's OpenAPI document (built once)."""
    bp = Blueprint("openapi", __name__)
    document = ingest_openapi(codec)

    @bp.get("/openapi.json")
    def openapi_json() -> Response:
        return jsonify(document)

    return bp

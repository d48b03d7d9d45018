"""The OpenAPI document of both HTTP services, generated from the marshmallow schemas."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from shared.events import EventCodec
from shared.methodology import Methodology
from shared.openapi import add_ingest, json_body, new_spec
from shared.readmodel import RankingRowSchema

WEB_SERVER = {"url": "http://127.0.0.1:8000", "description": "web (default port 8000)"}
# Ranking, city and methodology reads carry an ETag and Cache-Control (services/web/caching.py).
NOT_MODIFIED = {"description": "not modified: the If-None-Match tag is current"}
INGEST_SERVER = {"url": "http://127.0.0.1:8001", "description": "ingest (default port 8001)"}


class UnrankedSchema(Schema):
    city_id = fields.String()
    reason = fields.String()


class RankingSchema(Schema):
    as_of = fields.String(metadata={"description": "index date"})
    updated_at = fields.String(allow_none=True)
    ranking_version = fields.Integer()
    methodology_version = fields.String()
    sort = fields.String()
    region = fields.String(allow_none=True)
    fresh = fields.Boolean(metadata={"description": "true: stale cities are left out"})
    weights = fields.Dict(keys=fields.String(), values=fields.Float(), metadata={
        "description": "what-if only: the weights used, renormalised to sum to 1"})
    aggregation = fields.String(metadata={"description": "what-if only: arithmetic or geometric"})
    total = fields.Integer()
    offset = fields.Integer()
    items = fields.List(fields.Nested(RankingRowSchema))  # the read model's one row schema
    unranked = fields.List(fields.Nested(UnrankedSchema))


def build_openapi(methodology: Methodology) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of the web (port 8000) and ingest (port 8001) APIs.

    The ingest part is the ingest service's own description (shared.openapi), generated
    from the codec's schemas; its operations name the ingest server.
    """
    spec = new_spec("AI City Index", methodology.version,
                    "Web API (default port 8000, paths /api/v1/...) and ingest API "
                    "(default port 8001, paths /v1/...).", servers=[WEB_SERVER])
    add_ingest(spec, EventCodec(methodology), servers=[INGEST_SERVER])
    spec.components.schema("Ranking", schema=RankingSchema)
    query = [{"in": "query", "name": n, "schema": {"type": t}, "required": False}
             for n, t in (("pillar", "string"), ("region", "string"), ("limit", "integer"),
                          ("offset", "integer"))]
    query.append({"in": "query", "name": "fresh", "required": False,
                  "schema": {"type": "boolean"},
                  "description": "true (or 1): leave out stale cities, whose newest data is "
                                 "more than the methodology's stale_after_days before the "
                                 "index date; false (or 0, the default): keep them"})
    query.append({"in": "query", "name": "weights", "required": False,
                  "schema": {"type": "string"}, "example": "infrastructure:20,research:15,"
                  "talent:15,adoption:35,governance:15",
                  "description": "what-if: pillar:number pairs (any non-negative numbers, "
                                 "renormalised; a pillar not named weighs 0); items are "
                                 "re-ranked from the stored pillar scores and carry "
                                 "official_rank and official_score. Nothing is written."})
    query.append({"in": "query", "name": "aggregation", "required": False,
                  "schema": {"type": "string", "enum": ["arithmetic", "geometric"]},
                  "description": "what-if: how pillars combine (default: the methodology's)"})
    spec.path("/api/v1/rankings", operations={"get": {
        "summary": "The live ranking", "parameters": query,
        "responses": {"200": json_body("Ranking", "ranking"), "304": NOT_MODIFIED,
                      "400": json_body("Error", "bad query parameter")}}})
    spec.path("/api/v1/rankings.csv", operations={"get": {
        "summary": ("The live ranking as CSV (text cells a spreadsheet would read as a "
                    "formula start with a single quote)"), "parameters": query,
        "responses": {"200": {"description": "CSV", "content": {"text/csv": {}}},
                      "400": json_body("Error", "bad query parameter")}}})
    city_param = [{"in": "path", "name": "city_id", "required": True,
                   "schema": {"type": "string"}}]
    for path, summary in (("/api/v1/cities/{city_id}", "A city: pillars, indicators, projects"),
                          ("/api/v1/cities/{city_id}/history", "Score, rank, pillars over time")):
        spec.path(path, operations={"get": {
            "summary": summary, "parameters": city_param,
            "responses": {"200": {"description": "ok", "content": {"application/json": {}}},
                          "404": json_body("Error", "unknown city")}}})
    spec.path("/api/v1/methodology", operations={"get": {
        "summary": "The methodology in force",
        "responses": {"200": {"description": "ok", "content": {"application/json": {}}}}}})
    spec.path("/api/v1/stream", operations={"get": {
        "summary": "Server-Sent Events of ranking changes (resumable with Last-Event-ID)",
        "responses": {"200": {"description": "event stream",
                              "content": {"text/event-stream": {}}},
                      "503": json_body("Error", "this process holds its maximum of live "
                                                "viewers (Retry-After)")}}})
    return spec.to_dict()

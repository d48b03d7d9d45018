"""The OpenAPI document of both HTTP services, generated from the marshmallow schemas."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from shared.events import (
    CityUpsertedSchema,
    EnvelopeSchema,
    IndexTickedSchema,
    ProjectRemovedSchema,
)
from shared.methodology import Methodology


class ItemResultSchema(Schema):
    index = fields.Integer()
    event_id = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": ["accepted", "duplicate", "rejected"]})
    errors = fields.Dict(metadata={"description": "field name -> messages naming the rule"})


class SubmissionSchema(Schema):
    accepted = fields.Integer()
    duplicates = fields.Integer()
    rejected = fields.Integer()
    results = fields.List(fields.Nested(ItemResultSchema))


class EventStatusSchema(Schema):
    event_id = fields.String()
    status = fields.String(metadata={"enum": ["accepted", "applied", "superseded"]})
    type = fields.String()
    city_id = fields.String(allow_none=True)
    log_id = fields.String()
    accepted_at_ms = fields.Integer()
    ranking_version = fields.Integer(allow_none=True)
    scored = fields.Boolean()


class RankingItemSchema(Schema):
    rank = fields.Integer()
    city_id = fields.String()
    name = fields.String()
    country = fields.String()
    region = fields.String()
    score = fields.Float()
    pillars = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    coverage = fields.Float()
    pillar_score = fields.Float(metadata={"description": "present when sorted by pillar="})


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
    total = fields.Integer()
    offset = fields.Integer()
    items = fields.List(fields.Nested(RankingItemSchema))
    unranked = fields.List(fields.Nested(UnrankedSchema))


class ErrorSchema(Schema):
    error = fields.String()
    status = fields.Integer()


def _json(schema: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def build_openapi(methodology: Methodology) -> dict[str, Any]:
    """Return the OpenAPI 3 document of the ingest (port 8001) and web (port 8000) APIs."""
    spec = APISpec(
        title="AI City Index", version=methodology.version, openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Ingest API (default port 8001, paths /v1/...) and web API "
                             "(default port 8000, paths /api/v1/...)."},
        servers=[{"url": "http://127.0.0.1:8000", "description": "web"},
                 {"url": "http://127.0.0.1:8001", "description": "ingest"}],
    )
    for name, schema in (("Event", EnvelopeSchema), ("CityUpserted", CityUpsertedSchema),
                         ("ProjectRemoved", ProjectRemovedSchema),
                         ("IndexTicked", IndexTickedSchema), ("Submission", SubmissionSchema),
                         ("EventStatus", EventStatusSchema), ("Ranking", RankingSchema),
                         ("Error", ErrorSchema)):
        spec.components.schema(name, schema=schema)
    spec.components.security_scheme("feedToken", {"type": "http", "scheme": "bearer"})
    err = {str(c): {"description": d, **_json("Error")} for c, d in (
        (400, "unparseable body"), (401, "no valid feed token"), (413, "over the size limit"),
        (429, "scoring backlog over its bound (Retry-After)"))}
    spec.path("/v1/events", operations={"post": {
        "summary": "Submit one event, a JSON array, or NDJSON (application/x-ndjson)",
        "security": [{"feedToken": []}],
        "requestBody": {"content": {
            "application/json": {"schema": {"oneOf": [
                {"$ref": "#/components/schemas/Event"},
                {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}]}},
            "application/x-ndjson": {"schema": {"type": "string"}}}},
        "responses": {"202": {"description": "stored durably", **_json("Submission")},
                      "403": {"description": "feed may write none of the cities",
                              **_json("Submission")},
                      "422": {"description": "nothing accepted", **_json("Submission")}, **err},
    }})
    spec.path("/v1/events/{event_id}", operations={"get": {
        "summary": "What became of a submission",
        "parameters": [{"in": "path", "name": "event_id", "required": True,
                        "schema": {"type": "string"}}],
        "responses": {"200": {"description": "status", **_json("EventStatus")},
                      "404": {"description": "never accepted", **_json("Error")}}}})
    query = [{"in": "query", "name": n, "schema": {"type": t}, "required": False}
             for n, t in (("pillar", "string"), ("region", "string"), ("limit", "integer"),
                          ("offset", "integer"))]
    spec.path("/api/v1/rankings", operations={"get": {
        "summary": "The live ranking", "parameters": query,
        "responses": {"200": {"description": "ranking", **_json("Ranking")},
                      "400": {"description": "bad query parameter", **_json("Error")}}}})
    spec.path("/api/v1/rankings.csv", operations={"get": {
        "summary": "The live ranking as CSV", "parameters": query,
        "responses": {"200": {"description": "CSV", "content": {"text/csv": {}}}}}})
    city_param = [{"in": "path", "name": "city_id", "required": True,
                   "schema": {"type": "string"}}]
    for path, summary in (("/api/v1/cities/{city_id}", "A city: pillars, indicators, projects"),
                          ("/api/v1/cities/{city_id}/history", "Score, rank, pillars over time")):
        spec.path(path, operations={"get": {
            "summary": summary, "parameters": city_param,
            "responses": {"200": {"description": "ok", "content": {"application/json": {}}},
                          "404": {"description": "unknown city", **_json("Error")}}}})
    spec.path("/api/v1/methodology", operations={"get": {
        "summary": "The methodology in force",
        "responses": {"200": {"description": "ok", "content": {"application/json": {}}}}}})
    spec.path("/api/v1/stream", operations={"get": {
        "summary": "Server-Sent Events of ranking changes (resumable with Last-Event-ID)",
        "responses": {"200": {"description": "event stream",
                              "content": {"text/event-stream": {}}}}}})
    return spec.to_dict()

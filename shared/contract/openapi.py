"""The ingest API's OpenAPI description, generated from the schemas that validate events.

Both services serve it: the ingest service as its own document, the web service inside the
document of both APIs. The event schemas are the EventCodec's own marshmallow schemas (the
envelope and one data schema per type), so the document cannot drift from what ingest
accepts; the response bodies are declared here once.
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import EXCLUDE, Schema, fields

from shared.contract.events import (
    CITY_UPSERTED,
    COUNTRY_CODES,
    EVENT_KINDS,
    EVENT_TYPES,
    INDEX_TICKED,
    EnvelopeSchema,
    EventCodec,
)
from shared.contract.fields import FiniteNumber, IsoDate, OffsetDateTime, StrictInteger

OPENAPI_VERSION = "3.1.0"  # schemas are JSON Schema 2020-12: null is a type, const exists
# Component names of the data schemas, one per event type.
DATA_SCHEMAS = {name: kind.component for name, kind in EVENT_KINDS.items()}
JSON_SAFE_INTEGER = 2**53 - 1  # StrictInteger's bound
# The codec's own field classes, as OpenAPI (type, format).
CODEC_FIELDS: tuple[tuple[type[fields.Field[Any]], str, str | None], ...] = (
    (FiniteNumber, "number", None),
    (StrictInteger, "integer", None),
    (OffsetDateTime, "string", "date-time"),
    (IsoDate, "string", "date"),
)


class _Response(Schema):
    """A response body: open to fields added later, so clients that validate keep working."""

    class Meta:
        unknown = EXCLUDE


class ItemResultSchema(_Response):
    index = fields.Integer(required=True)
    event_id = fields.String(required=True, allow_none=True)
    status = fields.String(required=True,
                           metadata={"enum": ["accepted", "duplicate", "rejected", "held"]})
    errors = fields.Dict(required=True, metadata={
        "description": "field name -> messages naming the rule (nested for data fields)"})


class SubmissionSchema(_Response):
    accepted = fields.Integer(required=True)
    duplicates = fields.Integer(required=True)
    rejected = fields.Integer(required=True)
    held = fields.Integer(metadata={"description": "stored but held for an operator's review"})
    results = fields.List(fields.Nested(ItemResultSchema), required=True)


class ImpactSchema(_Response):
    city_id = fields.String(required=True)
    score_before = fields.Float(required=True, allow_none=True, metadata={
        "description": "the city as the workers will score what is already accepted "
                       "(null: unranked)"})
    score_after = fields.Float(required=True, allow_none=True, metadata={
        "description": "the same with the batch applied, full precision"})
    rank_before = fields.Integer(required=True, allow_none=True)
    rank_after = fields.Integer(required=True, allow_none=True)
    places_gained = fields.Integer(allow_none=True, metadata={
        "description": "rank_before - rank_after (positive: rose; null: unranked at an end)"})
    pillars = fields.Dict(required=True, metadata={
        "description": "pillar code -> [before, after] pillar score",
        "additionalProperties": {"type": "array", "items": {"type": ["number", "null"]},
                                 "minItems": 2, "maxItems": 2}})


class DryRunSchema(SubmissionSchema):
    dry_run = fields.Boolean(required=True, metadata={"const": True})
    impact = fields.List(fields.Nested(ImpactSchema), required=True, allow_none=True,
                         metadata={"description": (
                             "per city the batch touches; null when it holds an index.ticked "
                             "that would move the index date (every city rescored)")})
    impact_note = fields.String(metadata={"description": "why impact is null"})


class FeedCountsSchema(_Response):
    accepted = fields.Integer(required=True)
    duplicates = fields.Integer(required=True)
    rejected = fields.Dict(required=True, metadata={
        "description": "reason -> count: validation, scope, conflict (an event_id reused)",
        "additionalProperties": {"type": "integer"}})
    rejected_total = fields.Integer(required=True)
    held = fields.Integer(required=True, metadata={
        "description": "held for review (an implausible jump); released ones are not "
                       "counted again as accepted"})
    failed = fields.Integer(required=True, metadata={
        "description": "accepted but could not be applied (dead-lettered)"})


class RejectedItemSchema(_Response):
    at = fields.String(required=True, metadata={"description": "when it was refused (UTC)"})
    index = fields.Integer(required=True, allow_none=True, metadata={
        "description": "its place in the request (null: rejected at an operator's review)"})
    event_id = fields.String(required=True, allow_none=True)
    type = fields.String(required=True)
    errors = fields.Dict(required=True, metadata={
        "description": "field path -> messages, as in the per-item result"})


class FeedReportSchema(_Response):
    feed = fields.String(required=True)
    admin = fields.Boolean(required=True)
    cities = fields.List(fields.String(), required=True, allow_none=True, metadata={
        "description": "the cities the feed may write (null: every city, an admin feed)"})
    counts = fields.Dict(required=True, metadata={
        "description": "last_24h (the current UTC hour and the 23 before it), last_7d (168 "
                       "hours) and all_time",
        "additionalProperties": {"$ref": "#/components/schemas/FeedCounts"}})
    last_accepted_at = fields.String(required=True, allow_none=True)
    last_rejected = fields.List(fields.Nested(RejectedItemSchema), required=True, metadata={
        "description": "the latest 50 rejected items, newest first"})


class EventStatusSchema(_Response):
    event_id = fields.String(required=True)
    status = fields.String(required=True, metadata={
        "enum": ["accepted", "applied", "superseded", "failed", "held", "rejected"]})
    type = fields.String(required=True, allow_none=True)
    city_id = fields.String(required=True, allow_none=True)
    feed = fields.String(allow_none=True, metadata={"description": "the feed that sent it"})
    log_id = fields.String(required=True)
    accepted_at_ms = fields.Integer(required=True)
    ranking_version = fields.Integer(required=True, allow_none=True, metadata={
        "description": "the first ranking that includes it"})
    scored = fields.Boolean(required=True)
    reason = fields.String(metadata={"description": "why it failed or was rejected at review; "
                                                    "with status failed or rejected"})


class ErrorSchema(_Response):
    error = fields.String(required=True)
    status = fields.Integer(required=True)
    retry_after = fields.Integer(metadata={"description": "seconds; with 429 and 503"})
    limit = fields.Integer(metadata={"description": "the batch limit; with 413"})
    cause = fields.String(metadata={"description": "machine-readable cause; with 503"})
    field = fields.String(metadata={"description": "the query parameter at fault; with 400, and "
                                                   "with a 404 for a moment not kept"})


def ecma_pattern(pattern: str) -> str:
    """Return a Python regex as the ECMA-262 regex OpenAPI expects (\\Z means end of input)."""
    # Python's \\Z (end of string) is ECMA's $ without the m flag; Python's $ would also
    # match before a final newline, which is why the codec's patterns use \\Z.
    return pattern.replace("\\Z", "$")


def _codec_field_attributes(self: Any, field: fields.Field[Any], ret: dict[str, Any],
                            **kwargs: Any) -> dict[str, Any]:
    """Describe what the codec's own fields add: ECMA patterns, the JSON-safe integer range."""
    extra: dict[str, Any] = {}
    if "pattern" in ret:
        extra["pattern"] = ecma_pattern(ret["pattern"])
    if isinstance(field, StrictInteger):
        extra["maximum"] = min(ret.get("maximum", JSON_SAFE_INTEGER), JSON_SAFE_INTEGER)
        extra["minimum"] = max(ret.get("minimum", -JSON_SAFE_INTEGER), -JSON_SAFE_INTEGER)
    return extra


def new_spec(title: str, version: str, description: str,
             servers: list[dict[str, str]] | None = None) -> APISpec:
    """Return an OpenAPI 3.1 APISpec whose marshmallow plugin knows the codec's fields."""
    plugin = MarshmallowPlugin()
    spec = APISpec(title=title, version=version, openapi_version=OPENAPI_VERSION,
                   plugins=[plugin], info={"description": description},
                   **({"servers": servers} if servers else {}))
    for field_cls, openapi_type, fmt in CODEC_FIELDS:  # apispec is untyped here
        plugin.map_to_openapi_type(field_cls, openapi_type, fmt)  # type: ignore[no-untyped-call]
    assert plugin.converter is not None  # set by APISpec(plugins=...)
    plugin.converter.add_attribute_function(  # type: ignore[no-untyped-call]
        _codec_field_attributes)
    return spec


def json_body(schema: str, description: str) -> dict[str, Any]:
    """Return a response object whose JSON body is the named component schema."""
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _data_schema(codec: EventCodec, kind: str) -> Schema:
    """Return the codec's own data schema instance for an event type."""
    # The very instance that validates (per methodology: indicator codes, project terms).
    schema: Schema = codec.data_schemas()[kind]
    return schema


def _event_variant(kind: str) -> dict[str, Any]:
    """Return the schema of one event type: the envelope, its type fixed, its data schema."""
    # index.ticked applies to every city: city_id absent (or null); every other type names one.
    city_id: dict[str, Any] = {"type": "null"} if kind == INDEX_TICKED else {"type": "string"}
    return {
        "allOf": [{"$ref": "#/components/schemas/EventEnvelope"}],
        "properties": {"type": {"const": kind}, "city_id": city_id,
                       "data": {"$ref": f"#/components/schemas/{DATA_SCHEMAS[kind]}"}},
        **({} if kind == INDEX_TICKED else {"required": ["city_id"]}),
    }


def add_ingest(spec: APISpec, codec: EventCodec,
               servers: list[dict[str, str]] | None = None) -> None:
    """Add the ingest API to spec: event and response schemas, POST and GET /v1/events.

    servers, if given, are set on the ingest operations (for a document that also holds
    the web API, which is served elsewhere).
    """
    spec.components.schema("EventEnvelope", {"description": (
        "The fields every event has; `data` follows the schema of its `type`.")},
        schema=EnvelopeSchema)
    for kind in EVENT_TYPES:
        spec.components.schema(DATA_SCHEMAS[kind], schema=_data_schema(codec, kind))
    # The country rule is a plain function the converter cannot read: state its set.
    spec.components.schemas[DATA_SCHEMAS[CITY_UPSERTED]]["properties"]["country"]["enum"] = (
        sorted(COUNTRY_CODES))
    for kind in EVENT_TYPES:
        spec.components.schema(f"{DATA_SCHEMAS[kind]}Event", _event_variant(kind))
    variants = {kind: f"#/components/schemas/{DATA_SCHEMAS[kind]}Event" for kind in EVENT_TYPES}
    spec.components.schema("Event", {
        "description": ("One event of the ingest contract. Unknown fields are refused; "
                        "event ids are case-insensitive (stored lower-case); the first "
                        "event of an id is kept: the same id again with the same content "
                        "is a duplicate, with other content it is rejected."),
        "oneOf": [{"$ref": ref} for ref in variants.values()],
        "discriminator": {"propertyName": "type", "mapping": variants},
    })
    for name, schema in (("ItemResult", ItemResultSchema), ("Submission", SubmissionSchema),
                         ("Impact", ImpactSchema), ("DryRun", DryRunSchema),
                         ("FeedCounts", FeedCountsSchema), ("RejectedItem", RejectedItemSchema),
                         ("FeedReport", FeedReportSchema),
                         ("EventStatus", EventStatusSchema), ("Error", ErrorSchema)):
        spec.components.schema(name, schema=schema)
    spec.components.security_scheme("feedToken", {"type": "http", "scheme": "bearer"})
    where: dict[str, Any] = {"servers": servers} if servers else {}
    errors = {str(code): json_body("Error", text) for code, text in (
        (400, "unparseable body"), (401, "no valid feed token"),
        (413, "body or batch over its limit"),
        (429, "the feed's quota cannot pay for the request (one unit per item, charged before "
              "the body is parsed or validated, invalid items too; dry runs and batches the "
              "review gate judges also pay per record of their cities' state), or the feed's "
              "or the global backlog is over its bound; see Retry-After"),
        (503, "Redis cannot take the request now (`cause`): its memory is high "
              "(redis_memory_high) or full (redis_memory_full), every Redis connection of "
              "this process is busy (redis_pool_busy) or Redis is unreachable "
              "(redis_unavailable); see Retry-After"))}
    spec.path("/v1/events", operations={"post": {
        **where,
        "summary": "Submit one event, a JSON array of events, or NDJSON",
        "description": (
            "With `dry_run=true` every check runs as for a real post (validation, bounds, "
            "scope, the store's id, identity and project rules, the feed's rate limit) but "
            "nothing is stored and no recompute is queued: the event ids stay unused. The "
            "answer is 200 (where a real post would say 202) with the same per-item results "
            "plus `impact`, computed by the workers' own functions from each touched city's "
            "current state; 403 and 422 carry the same body when every item is refused. A "
            "dry run pays one quota unit per item plus 0.5 (by default) per record (project "
            "record or queued event) of the cities it touches, before their state is read."),
        "security": [{"feedToken": []}],
        "parameters": [{"in": "query", "name": "dry_run", "required": False,
                        "schema": {"type": "string", "enum": ["true", "false", "1", "0"],
                                   "default": "false"},
                        "description": "answer what the post would do, store nothing "
                                       "(any other value: 400 naming dry_run)"}],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": {"oneOf": [
                {"$ref": "#/components/schemas/Event"},
                {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}]}},
            "application/x-ndjson": {"schema": {
                "type": "string", "description": "one Event per line"}}}},
        "responses": {
            "200": json_body("DryRun", "dry_run=true: what a real post would do, and its "
                             "impact; nothing stored"),
            "202": json_body("Submission", "stored durably (some items may be rejected)"),
            "403": json_body("Submission", "the feed may write none of the cities"),
            "422": json_body("Submission", "nothing accepted: every item named its errors"),
            **errors},
    }})
    spec.path("/v1/feed", operations={"get": {
        **where,
        "summary": "The calling feed's report: scope, outcome counts, latest rejections",
        "description": ("Counts of accepted, duplicate, rejected (by reason) and failed "
                        "events over the last 24 h, 7 days and all time, kept per feed as "
                        "the outcomes happen; the latest 50 rejected items with their "
                        "errors; the time of the feed's last accepted event."),
        "security": [{"feedToken": []}],
        "responses": {"200": json_body("FeedReport", "the feed's report"),
                      "401": json_body("Error", "no valid feed token")}}})
    spec.path("/v1/events/{event_id}", operations={"get": {
        **where,
        "summary": "What became of a submission: accepted, applied, superseded or failed",
        "security": [{"feedToken": []}],
        "parameters": [{"in": "path", "name": "event_id", "required": True,
                        "schema": {"type": "string"}}],
        "responses": {"200": json_body("EventStatus", "status"),
                      "401": json_body("Error", "no valid feed token"),
                      "404": json_body("Error", "never accepted (from this feed)")}}})


def add_ops(spec: APISpec) -> None:
    """Add the operational paths every Flask service serves (shared/platform/ops.py) and /openapi.json."""
    json_ok = {"description": "ok", "content": {"application/json": {}}}
    spec.path("/healthz", operations={"get": {
        "summary": "Liveness: the process answers (checks no dependency)", "tags": ["ops"],
        "responses": {"200": json_ok}}})
    spec.path("/readyz", operations={"get": {
        "summary": "Readiness: Redis answers and the methodology is loaded", "tags": ["ops"],
        "responses": {"200": json_ok, "503": {"description": "not ready (the body says which "
                                                            "check failed)",
                                              "content": {"application/json": {}}}}}})
    spec.path("/metrics", operations={"get": {
        "summary": "Prometheus metrics of this service", "tags": ["ops"],
        "responses": {"200": {"description": "Prometheus text format",
                              "content": {"text/plain": {}}}}}})
    spec.path("/openapi.json", operations={"get": {
        "summary": "This document", "tags": ["ops"], "responses": {"200": json_ok}}})


def ingest_openapi(codec: EventCodec) -> dict[str, Any]:
    """Return the ingest service's own OpenAPI document."""
    spec = new_spec("AI City Index ingest API", codec.methodology.version,
                    "Feeds submit events here (default port 8001). Event schemas follow "
                    f"methodology {codec.methodology.version}.")
    add_ingest(spec, codec)
    add_ops(spec)
    return spec.to_dict()

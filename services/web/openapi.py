"""The OpenAPI document of both HTTP services, generated from the marshmallow schemas."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from marshmallow import Schema, fields

from shared.contract.events import EventCodec
from shared.contract.methodology import Methodology
from shared.contract.openapi import add_ingest, add_ops, json_body, new_spec
from shared.domain.readmodel import RankingRowSchema, deprecated_alias, places_gained_field
from shared.queries import params

WEB_SERVER = {"url": "http://127.0.0.1:8000", "description": "web (default port 8000)"}
# Ranking, city and methodology reads carry an ETag and Cache-Control (services/web/caching.py).
NOT_MODIFIED = {"description": "not modified: the If-None-Match tag is current"}
INGEST_SERVER = {"url": "http://127.0.0.1:8001", "description": "ingest (default port 8001)"}


INDEX_DATE = ("the index date: the day the scores are computed for (moved only by the "
              "daily tick; not a request moment)")
AS_OF_NOTE = "same value; as a query parameter as_of stays: a past moment"
FELL = "the opposite sign: positive = fell, i.e. -places_gained"


class UnrankedSchema(Schema):
    city_id = fields.String()
    reason = fields.String()


class MomentSchema(Schema):
    requested = fields.String(metadata={"description": "the moment as asked"})
    resolved_at = fields.String(metadata={
        "description": "the instant whose state is returned (at or before the requested one; "
                       "in a thinned tier the end of the last whole bucket)"})
    ranking_version = fields.Integer(metadata={"description": "the ranking version then"})
    committed_at = fields.String(metadata={"description": "when that version was committed"})


class ExplainEndSchema(Schema):
    score = fields.Float(allow_none=True)
    rank = fields.Integer(allow_none=True)
    ranking_version = fields.Integer()
    at = fields.String(metadata={"description": "the resolved moment (RFC 3339, UTC)"})
    methodology_version = fields.String(allow_none=True)
    pillars = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))


class PillarContributionSchema(Schema):
    pillar = fields.String()
    name = fields.String()
    from_ = fields.Float(allow_none=True, data_key="from")
    to = fields.Float(allow_none=True)
    contribution = fields.Float(allow_none=True, metadata={
        "description": "points of score_delta; the pillars' contributions sum to it"})


class IndicatorContributionSchema(Schema):
    indicator = fields.String()
    pillar = fields.String(allow_none=True)
    name = fields.String()
    from_value = fields.Float(allow_none=True)
    to_value = fields.Float(allow_none=True)
    from_normalised = fields.Float(allow_none=True)
    to_normalised = fields.Float(allow_none=True)
    contribution = fields.Float(allow_none=True, metadata={
        "description": "points of score_delta; the indicators' contributions sum to it"})
    event_id = fields.String(allow_none=True, metadata={
        "description": "the event that set the value at the end (for measures from project "
                       "records: the last project record folded in with the change)"})
    occurred_at = fields.String(allow_none=True)
    feed = fields.String(allow_none=True, metadata={"description": "the feed that sent it"})


class CityRankSchema(Schema):
    city_id = fields.String()
    rank = fields.Integer(metadata={"description": "its rank at the end"})


class ExplainSchema(Schema):
    city_id = fields.String()
    name = fields.String()
    from_ = fields.Nested(ExplainEndSchema, data_key="from")
    to = fields.Nested(ExplainEndSchema)
    score_delta = fields.Float(allow_none=True, metadata={
        "description": "null when the city was unranked at either end"})
    rank_before = fields.Integer(allow_none=True, metadata={
        "description": "rank at since (from.rank; null: not ranked then)"})
    rank_after = fields.Integer(allow_none=True, metadata={
        "description": "rank at until (to.rank; null: not ranked then)"})
    places_gained = places_gained_field()
    places_gained_own = places_gained_field(
        "the part of places_gained the city's own score change explains")
    places_gained_others = places_gained_field(
        "the part other cities' changes explain (own + others = places_gained)")
    rank_delta = deprecated_alias("places_gained", FELL)
    rank_delta_own = deprecated_alias("places_gained_own", FELL)
    rank_delta_others = deprecated_alias("places_gained_others", FELL)
    aggregation = fields.String()
    pillars = fields.List(fields.Nested(PillarContributionSchema))
    indicators = fields.List(fields.Nested(IndicatorContributionSchema))
    coverage_changes = fields.List(fields.Dict())
    passed = fields.List(fields.Nested(CityRankSchema), metadata={
        "description": "cities above it at the start and below it at the end"})
    passed_by = fields.List(fields.Nested(CityRankSchema), metadata={
        "description": "cities below it at the start and above it at the end"})
    history_kept = fields.String(metadata={"description": "the retention, in words"})


class RankingSchema(Schema):
    index_date = fields.String(metadata={"description": INDEX_DATE})
    as_of = deprecated_alias("index_date", AS_OF_NOTE, fields.String)
    updated_at = fields.String(allow_none=True)
    ranking_version = fields.Integer()
    methodology_version = fields.String()
    sort = fields.String()
    region = fields.String(allow_none=True)
    fresh = fields.Boolean(metadata={"description": "true: stale cities are left out"})
    weights = fields.Dict(keys=fields.String(), values=fields.Float(), metadata={
        "description": "what-if only: the weights used, renormalised to sum to 1"})
    aggregation = fields.String(metadata={"description": "what-if only: arithmetic or geometric"})
    point_in_time = fields.Nested(MomentSchema, metadata={
        "description": "as_of only: how the moment was resolved"})
    since = fields.Nested(MomentSchema, metadata={
        "description": "the moment each row's change is measured from"})
    total = fields.Integer()
    offset = fields.Integer()
    items = fields.List(fields.Nested(RankingRowSchema))  # the read model's one row schema
    unranked = fields.List(fields.Nested(UnrankedSchema))


class StreamSnapshotSchema(Schema):
    """The data of the stream's first `snapshot` event."""

    ranking_version = fields.Integer()
    index_date = fields.String(allow_none=True, metadata={
        "description": INDEX_DATE + "; null until the first daily tick (the methodology's "
                       "base date applies)"})
    as_of = deprecated_alias("index_date", AS_OF_NOTE, fields.String)
    updated_ms = fields.Integer(allow_none=True, metadata={
        "description": "when the ranking was last committed (Unix ms)"})


class StreamChangeSchema(Schema):
    """The data of one `change` event on the stream: one city's commit."""

    ranking_version = fields.Integer()
    t = fields.Integer(metadata={"description": "commit time (Unix ms)"})
    city_id = fields.String()
    index_date = fields.String(metadata={"description": INDEX_DATE})
    score = fields.Float(allow_none=True)
    pillars = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    events = fields.Integer(metadata={"description": "events folded into this commit"})
    old_score = fields.Float(allow_none=True, metadata={"description": "score before"})
    score_delta = fields.Float(allow_none=True)
    drivers = fields.Dict(metadata={
        "description": "the Shapley split of score_delta: its top two pillars and indicators "
                       "({pillars: [{pillar, contribution}], indicators: [{indicator, pillar, "
                       "contribution, from_value, to_value, event_id, feed}]})"})
    rank_before = fields.Integer(allow_none=True, metadata={
        "description": "rank before the commit (null: not ranked)"})
    rank_after = fields.Integer(allow_none=True, metadata={
        "description": "rank after it (null: not ranked)"})
    places_gained = places_gained_field()
    rank = fields.Integer(allow_none=True, metadata={"description": "rank after (= rank_after)"})
    old_rank = deprecated_alias("rank_before")
    rank_delta = deprecated_alias("places_gained", "rank - old_rank; " + FELL)


class PillarChangeSchema(Schema):
    pillar = fields.String()
    before = fields.Float()
    after = fields.Float()
    delta = fields.Float(metadata={"description": "after - before (rounded to 6 places)"})


class WebhookChangeSchema(Schema):
    """The `data` of a rank_change or score_change webhook delivery."""

    city_id = fields.String()
    ranking_version = fields.Integer()
    score_before = fields.Float(allow_none=True)
    score_after = fields.Float(allow_none=True)
    rank_before = fields.Integer(allow_none=True)
    rank_after = fields.Integer(allow_none=True)
    places_gained = places_gained_field()
    pillar_changes = fields.List(fields.Nested(PillarChangeSchema), metadata={
        "description": "the three pillars whose scores moved most, largest first (raw pillar "
                       "deltas, not the Shapley drivers of the stream and explain)"})
    top_drivers = deprecated_alias("pillar_changes", "same value", fields.List,
                                   fields.Nested(PillarChangeSchema))
    committed_ms = fields.Integer()


def build_openapi(methodology: Methodology) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of the web (port 8000) and ingest (port 8001) APIs.

    The ingest part is the ingest service's own description (shared.contract.openapi), generated
    from the codec's schemas; its operations name the ingest server.
    """
    spec = new_spec("AI City Index", methodology.version,
                    "Web API (default port 8000, paths /api/v1/...) and ingest API "
                    "(default port 8001, paths /v1/...).", servers=[WEB_SERVER])
    add_ingest(spec, EventCodec(methodology), servers=[INGEST_SERVER])
    spec.components.schema("Ranking", schema=RankingSchema)
    codes = [p.code for p in methodology.pillars]
    query: list[dict[str, Any]] = [
        {"in": "query", "name": "pillar", "required": False,
         "schema": {"type": "string", "enum": codes},
         "description": "rank by this pillar's score instead of the overall score"},
        {"in": "query", "name": "region", "required": False, "schema": {"type": "string"}},
        {"in": "query", "name": "limit", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": 100_000}},
        {"in": "query", "name": "offset", "required": False,
         "schema": {"type": "integer", "minimum": 0, "maximum": 10_000_000}}]
    query.append({"in": "query", "name": "fresh", "required": False,
                  "schema": {"type": "boolean"},
                  "description": "true (or 1): leave out stale cities, whose newest data is "
                                 "more than the methodology's stale_after_days before the "
                                 "index date; false (or 0, the default): keep them"})
    query.append({"in": "query", "name": "weights", "required": False,
                  "schema": {"type": "string", "pattern": params.weights_pattern(codes)},
                  "example": "infrastructure:20,research:15,talent:15,adoption:35,governance:15",
                  "description": "what-if: pillar:number pairs (plain decimals from 0 to "
                                 f"{params.MAX_WEIGHT:g}, renormalised; a pillar not named "
                                 "weighs 0); items are re-ranked from the stored pillar "
                                 "scores and carry official_rank and official_score. Nothing "
                                 "is written."})
    query.append({"in": "query", "name": "aggregation", "required": False,
                  "schema": {"type": "string", "enum": ["arithmetic", "geometric"]},
                  "description": "what-if: how pillars combine (default: the methodology's)"})
    moment_rules = ("ASCII digits only; a ranking version has at most "
                    f"{params.MAX_VERSION_DIGITS} digits (-0 is 0); an RFC 3339 time needs a "
                    "colon in its offset (+09:00), seconds may be left out; a moment in the "
                    "future or before 1970 is a 400 naming the parameter")
    as_of = {"in": "query", "name": "as_of", "required": False,
             "schema": {"type": "string", "maxLength": params.MOMENT_MAX_CHARS,
                        "pattern": params.moment_pattern(spans=False)},
             "example": "2026-11-20T12:00:00Z",
             "description": "a past moment: RFC 3339 time (no offset: UTC), a date (the end of "
                            "that UTC day; today: now) or a ranking version. The answer is what "
                            "was served then, to full precision; 404 before the oldest kept "
                            f"point. {moment_rules}"}
    span_schema = {"type": "string", "maxLength": params.MOMENT_MAX_CHARS,
                   "pattern": params.moment_pattern(spans=True)}
    since = {"in": "query", "name": "since", "required": False, "schema": span_schema,
             "example": "7d",
             "description": "rows' change is measured from this moment: RFC 3339 time, date, "
                            "ranking version or a span back from now, to the second (20s, 15m, "
                            "24h, 7d: a whole number of s, m, h or d); default: the start of the "
                            f"current UTC day. {moment_rules}"}
    query += [as_of, since]
    not_kept = json_body("Error", "as_of before the oldest kept point of history")
    spec.components.schema("Explain", schema=ExplainSchema)
    spec.components.schema("StreamSnapshot", schema=StreamSnapshotSchema)
    spec.components.schema("StreamChange", schema=StreamChangeSchema)
    spec.components.schema("WebhookChange", schema=WebhookChangeSchema)
    spec.path("/api/v1/rankings", operations={"get": {
        "summary": "The live ranking (or as it was at as_of)", "parameters": query,
        "responses": {"200": json_body("Ranking", "ranking"), "304": NOT_MODIFIED,
                      "400": json_body("Error", "bad query parameter"), "404": not_kept}}})
    spec.path("/api/v1/rankings.csv", operations={"get": {
        "summary": ("The live ranking as CSV (text cells a spreadsheet would read as a "
                    "formula start with a single quote)"), "parameters": query,
        "responses": {"200": {"description": "CSV", "content": {"text/csv": {}}},
                      "400": json_body("Error", "bad query parameter"), "404": not_kept}}})
    city_param = [{"in": "path", "name": "city_id", "required": True,
                   "schema": {"type": "string"}}]
    for path, summary, extra in (
            ("/api/v1/cities/{city_id}", "A city: pillars, indicators, projects (as_of: as "
             "it was then)", [as_of]),
            ("/api/v1/cities/{city_id}/history", "Score, rank, pillars and the changes behind "
             "them over the kept history", [])):
        spec.path(path, operations={"get": {
            "summary": summary, "parameters": city_param + extra,
            "responses": {"200": {"description": "ok", "content": {"application/json": {}}},
                          "400": json_body("Error", "bad query parameter"),
                          "404": json_body("Error", "unknown city, or as_of before the "
                                                    "oldest kept point")}}})
    until = {"in": "query", "name": "until", "required": False, "schema": span_schema,
             "description": "the end moment (same forms as since; default: now)"}
    spec.path("/api/v1/cities/{city_id}/explain", operations={"get": {
        "summary": "Why a city's score and rank moved between since and until: pillar and "
                   "indicator contributions summing to the score change, the events and "
                   "feeds behind them, and who passed whom (docs/methodology.md §8.2)",
        "parameters": [*city_param, since, until],
        "responses": {"200": json_body("Explain", "explanation"), "304": NOT_MODIFIED,
                      "400": json_body("Error", "bad query parameter"),
                      "404": json_body("Error", "unknown city, a since given as a version "
                                                "before the oldest kept point, or an until "
                                                "before the oldest kept point or before the "
                                                "city's history starts (the message says "
                                                "where)")}}})
    gap_query = [
        {"in": "query", "name": "to", "required": False,
         "schema": {"type": "string", "pattern": "^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"},
         "description": "the city to pass (default: the one ranked just above; for the first "
                        "city, the second)"},
        {"in": "query", "name": "rank", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
         "description": "pass the city listed at this place of the ranking (not with to=)"}]
    spec.path("/api/v1/cities/{city_id}/gap", operations={"get": {
        "summary": "What it takes: the change of each indicator, or the number of projects of "
                   "a kind, that alone would lift the city's score above the target's; and "
                   "each pillar's score that would (docs/methodology.md §8.3)",
        "parameters": [*city_param, *gap_query],
        "responses": {"200": {"description": "ok", "content": {"application/json": {}}},
                      "304": NOT_MODIFIED,
                      "400": json_body("Error", "bad to= or rank= (field names it)"),
                      "404": json_body("Error", "unknown or unranked city, or unknown target "
                                                "(field: to)")}}})
    spec.path("/api/v1/methodology", operations={"get": {
        "summary": "The methodology in force",
        "responses": {"200": {"description": "ok", "content": {"application/json": {}}}}}})
    stream_query = [
        {"in": "query", "name": "last_event_id", "required": False,
         "schema": {"type": "string", "pattern": "^[0-9]{1,15}(?:-[0-9]{1,15})?$"},
         "description": "resume after this stream id (as the Last-Event-ID header)"},
        {"in": "query", "name": "once", "required": False, "schema": {"type": "boolean"},
         "description": "true (or 1): close after the first changes (for scripts)"}]
    spec.path("/api/v1/stream", operations={"get": {
        "summary": "Server-Sent Events of ranking changes (resumable with Last-Event-ID)",
        "parameters": stream_query,
        "responses": {"200": {"description": "event stream: a `snapshot` event "
                                             "(StreamSnapshot), then a `change` event per "
                                             "commit (StreamChange)",
                              "content": {"text/event-stream": {}}},
                      "400": json_body("Error", "bad query parameter"),
                      "503": json_body("Error", "this process holds its maximum of live "
                                                "viewers (Retry-After)")}}})
    add_pages(spec, city_param)
    add_ops(spec)
    return spec.to_dict()


def add_pages(spec: APISpec, city_param: list[dict[str, Any]]) -> None:
    """Add the HTML pages and the city CSV (services/web/views.py), so every route is listed."""
    html = {"description": "HTML page", "content": {"text/html": {}}}
    unknown = {"description": "unknown city (HTML page)", "content": {"text/html": {}}}
    for path, summary in (
            ("/", "The live ranking page (sort=, dir=, region=, q=, since=; as_of= for a "
                  "past one)"),
            ("/compare", "2-4 cities side by side (c=a,b; a repeated c= redirects to that "
                         "form)"),
            ("/map", "The world map of the ranking (colour=overall or a pillar code)"),
            ("/explore", "The ranking under the reader's weights (weights=, aggregation=)"),
            ("/methodology", "The methodology in force")):
        spec.path(path, operations={"get": {"summary": summary, "tags": ["pages"],
                                            "responses": {"200": html}}})
    spec.path("/cities/{city_id}", operations={"get": {
        "summary": "A city's profile page, now or at as_of=, with what changed since since=",
        "tags": ["pages"], "parameters": city_param,
        "responses": {"200": html, "404": unknown}}})
    spec.path("/cities/{city_id}.csv", operations={"get": {
        "summary": "A city's scores and indicators as CSV (a download)", "tags": ["pages"],
        "parameters": city_param,
        "responses": {"200": {"description": "CSV", "content": {"text/csv": {}}},
                      "404": unknown}}})

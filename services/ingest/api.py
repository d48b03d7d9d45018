"""HTTP edge of the ingest service: POST /v1/events and GET /v1/events/<id>."""

from __future__ import annotations

import logging
from collections import Counter

from flask import Blueprint, Response, current_app, jsonify, request

from services.ingest import handlers
from services.ingest import metrics as m
from services.ingest.context import IngestContext
from services.ingest.parsing import BodyError, parse_body

bp = Blueprint("ingest", __name__)
log = logging.getLogger("aicity.ingest")


def _ctx() -> IngestContext:
    ctx: IngestContext = current_app.extensions["aicity"]
    return ctx


def _error(status: int, message: str, **extra: object) -> tuple[Response, int]:
    return jsonify(error=message, status=status, **extra), status


@bp.post("/v1/events")
def post_events() -> tuple[Response, int] | Response:
    """Accept one event, an array or NDJSON; 202 only once stored durably."""
    ctx = _ctx()
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    feed = ctx.feeds.authenticate(token) if token else None
    if feed is None:
        resp, status = _error(401, "a valid feed token is required: Authorization: Bearer <token>")
        resp.headers["WWW-Authenticate"] = 'Bearer realm="aicity-ingest"'
        return resp, status
    if ctx.backlog() > ctx.settings.backlog_limit:
        m.THROTTLED.inc()
        resp, status = _error(429, "scoring backlog is over its bound; retry later",
                              retry_after=ctx.settings.retry_after_seconds)
        resp.headers["Retry-After"] = str(ctx.settings.retry_after_seconds)
        return resp, status
    body = request.get_data(cache=False)
    m.BODY_BYTES.observe(len(body))
    try:
        items = parse_body(body, request.mimetype, ctx.settings.ingest_max_batch)
    except BodyError as exc:
        return _error(400, str(exc))
    except OverflowError as exc:
        return _error(413, str(exc), limit=ctx.settings.ingest_max_batch)
    m.BATCH_SIZE.observe(len(items))
    result = handlers.submit(items, feed, ctx.codec, ctx.log, ctx.publisher, ctx.known_cities)
    for (kind, outcome), count in Counter(result.outcomes).items():  # one inc per series
        m.EVENTS.labels(kind, outcome).inc(count)
    log.info("batch", extra={"feed": feed.name, "events": len(items),
                             "accepted": result.body["accepted"],
                             "duplicates": result.body["duplicate"],
                             "rejected": result.body["rejected"], "status": result.http_status})
    body_out = {"accepted": result.body["accepted"], "duplicates": result.body["duplicate"],
                "rejected": result.body["rejected"], "results": result.body["results"]}
    return jsonify(body_out), result.http_status


@bp.get("/v1/events/<event_id>")
def get_event(event_id: str) -> tuple[Response, int] | Response:
    """Say what became of a submission: accepted, applied or superseded, scored."""
    status = _ctx().log.status(event_id)
    if status is None:
        return _error(404, f"event {event_id!r} was never accepted")
    return jsonify(status)

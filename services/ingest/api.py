"""HTTP edge of the ingest service: POST /v1/events and GET /v1/events/<id>."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, jsonify, request

from services.ingest import metrics as m
from services.ingest.parsing import BodyError, parse_body, read_body
from shared.bootstrap import Ingest
from shared.commands.accept import Submission, Throttled, accept
from shared.commands.budget import Meter
from shared.commands.impact import predict_impact
from shared.domain.records import Feed
from shared.queries.feed_report import feed_report

bp = Blueprint("ingest", __name__)
log = logging.getLogger("aicity.ingest")


def _ctx() -> Ingest:
    ctx: Ingest = current_app.extensions["aicity"]
    return ctx


def _error(status: int, message: str, **extra: object) -> tuple[Response, int]:
    return jsonify(error=message, status=status, **extra), status


def _throttled(exc: Throttled) -> tuple[Response, int]:
    m.THROTTLED.labels(exc.scope).inc()
    resp, status = _error(429, exc.reason, retry_after=exc.retry_after)
    resp.headers["Retry-After"] = str(exc.retry_after)
    return resp, status


def _authenticate(ctx: Ingest) -> Feed | None:
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    return ctx.feeds.authenticate(token) if token else None


def _unauthorized() -> tuple[Response, int]:
    resp, status = _error(401, "a valid feed token is required: Authorization: Bearer <token>")
    resp.headers["WWW-Authenticate"] = 'Bearer realm="aicity-ingest"'
    return resp, status


_BOOLS = {"true": True, "1": True, "false": False, "0": False}


@bp.post("/v1/events")
def post_events() -> tuple[Response, int] | Response:
    """Accept one event, an array or NDJSON; 202 only once stored durably (dry_run: 200, nothing stored).

    The feed pays before any work: one quota unit for the request before its body is read,
    the rest of its items once they are counted (before they are parsed one by one or
    validated), then what its cities' state costs (accept()). Past its budget: 429.
    """
    ctx = _ctx()
    feed = _authenticate(ctx)
    if feed is None:
        return _unauthorized()
    dry_arg = request.args.get("dry_run", "false").lower()
    if dry_arg not in _BOOLS:
        return _error(400, "dry_run must be true or false", field="dry_run")
    dry_run = _BOOLS[dry_arg]
    if (memory := ctx.memory_high()) is not None:  # refuse before storing anything
        retry = ctx.settings.retry_after_seconds
        resp, status = _error(503, f"Redis memory is high ({memory.describe()}): new events are "
                              "refused until scoring drains or an operator frees memory",
                              cause="redis_memory_high", retry_after=retry)
        resp.headers["Retry-After"] = str(retry)
        return resp, status
    meter = Meter(feed, ctx.ports, datetime.now(UTC))
    try:
        meter(1)  # a feed with nothing left is refused before its body is even read
        body = read_body(request)  # chunked bodies past the limit: 413, not cut short
        m.BODY_BYTES.observe(len(body))
        try:
            items = parse_body(body, request.mimetype, ctx.settings.ingest_max_batch, meter)
        except BodyError as exc:
            return _error(400, str(exc))
        except OverflowError as exc:
            return _error(413, str(exc), limit=ctx.settings.ingest_max_batch)
        m.BATCH_SIZE.observe(len(items))
        result = accept(items, feed, ctx.ports, datetime.now(UTC), dry_run=dry_run,
                        paid=meter.paid)
    except Throttled as exc:
        return _throttled(exc)
    if dry_run:
        m.DRY_RUNS.inc()
        return jsonify(_dry_body(ctx, result)), result.http_status
    for (kind, outcome), count in Counter(result.outcomes).items():  # one inc per series
        m.EVENTS.labels(kind, outcome).inc(count)
    if result.publish_failed:
        m.PUBLISH_FAILURES.inc()
    log.info("batch", extra={"feed": feed.name, "events": len(items),
                             "accepted": result.counts["accepted"],
                             "duplicates": result.counts["duplicate"],
                             "rejected": result.counts["rejected"], "held": result.held,
                             "status": result.http_status})
    body_out = {"accepted": result.counts["accepted"], "duplicates": result.counts["duplicate"],
                "rejected": result.counts["rejected"], "held": result.held,
                "results": result.results}
    return jsonify(body_out), result.http_status


def _dry_body(ctx: Ingest, result: Submission) -> dict[str, object]:
    body: dict[str, object] = {
        "dry_run": True, "accepted": result.counts["accepted"],
        "duplicates": result.counts["duplicate"], "rejected": result.counts["rejected"],
        "held": result.held, "results": result.results}
    if result.rebuild:  # a new index date rescores every city: no per-city prediction
        body["impact"] = None
        body["impact_note"] = ("the batch moves the index date (index.ticked): every city "
                               "is rescored, so no per-city impact is predicted")
    else:
        body["impact"] = predict_impact(result.accepted, ctx.cities, ctx.ranking,
                                        ctx.codec.methodology)
    return body


@bp.get("/v1/events/<event_id>")
def get_event(event_id: str) -> tuple[Response, int] | Response:
    """Say what became of a submission: accepted, applied or superseded, failed, scored."""
    ctx = _ctx()
    feed = _authenticate(ctx)
    if feed is None:
        return _unauthorized()
    status = ctx.log.status(event_id[:64], None if feed.admin else feed.name)
    if status is None:
        return _error(404, f"event {event_id[:64]!r} was never accepted from feed {feed.name!r}")
    return jsonify(status)


@bp.get("/v1/feed")
def get_feed() -> tuple[Response, int] | Response:
    """Report on the calling feed: scope, outcome counts, latest rejections, last accepted."""
    ctx = _ctx()
    feed = _authenticate(ctx)
    if feed is None:
        return _unauthorized()
    return jsonify(feed_report(feed, ctx.stats, datetime.now(UTC)))

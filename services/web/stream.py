"""Server-Sent Events of ranking changes, resumable with Last-Event-ID."""

from __future__ import annotations

import json
from collections.abc import Iterator

import redis
from flask import Blueprint, Response, request, stream_with_context

from services.web import metrics as m
from services.web.api import ctx

bp = Blueprint("stream", __name__)
BLOCK_MS = 5000
KEEPALIVE_EVERY = 3  # idle blocks between keep-alive comments (~15 s)


def _sse(event: str, data: object, event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@bp.get("/api/v1/stream")
def stream() -> Response:
    """Stream ranking changes; a snapshot header first, then one `change` per commit."""
    c = ctx()
    reader = c.reader
    resume = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    once = request.args.get("once") == "1"  # close after the first batch (for scripts)

    def generate() -> Iterator[str]:
        m.SSE_CLIENTS.inc()
        try:
            yield "retry: 2000\n\n"
            last = resume
            first = reader.first_change_id()
            if last and first and _older(last, first):
                yield _sse("reset", {"reason": "Last-Event-ID is older than the retained "
                                               "stream; reload the ranking"})
                last = None
            if not last:
                last = reader.last_change_id()
                meta = reader.meta()
                yield _sse("snapshot", {"ranking_version": meta.ranking_version,
                                        "as_of": meta.index_date, "updated_ms": meta.updated_ms},
                           last)
            idle = 0
            while True:
                try:
                    changes = reader.changes_after(last, BLOCK_MS)
                except redis.RedisError:
                    yield _sse("error", {"reason": "store unavailable; reconnecting"})
                    return
                if changes:
                    idle = 0
                    for sid, change in changes:
                        last = sid
                        yield _sse("change", change, sid)
                    if once:
                        return
                else:
                    idle += 1
                    if idle % KEEPALIVE_EVERY == 0:
                        yield ": keep-alive\n\n"
        finally:
            m.SSE_CLIENTS.dec()

    resp = Response(stream_with_context(generate()), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["X-Accel-Buffering"] = "no"
    return resp


def _older(a: str, b: str) -> bool:
    ams, _, aseq = a.partition("-")
    bms, _, bseq = b.partition("-")
    try:
        return (int(ams), int(aseq or 0)) < (int(bms), int(bseq or 0))
    except ValueError:
        return True

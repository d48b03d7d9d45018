"""Server-Sent Events of ranking changes, resumable with Last-Event-ID.

Each viewer is a cursor into the process's fan-out (services/web/fanout.py): no Redis
connection and, under the gevent worker, no thread of its own. A keep-alive comment every
KEEPALIVE_SECONDS makes a closed connection fail its next writes, so a gone viewer is
released within two of them; TCP_USER_TIMEOUT does the same for a peer that vanished
without closing.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

from flask import Blueprint, Response, jsonify, request

from services.web import metrics as m
from services.web.api import ctx
from services.web.fanout import StoreUnavailable, Viewer, ViewerCapReached, sse
from shared.queries import params

bp = Blueprint("stream", __name__)
KEEPALIVE_SECONDS = 5.0
UNACKED_MS = 15_000  # TCP_USER_TIMEOUT: sent data unacknowledged this long drops the peer


@bp.get("/api/v1/stream")
def stream() -> Response | tuple[Response, int]:
    """Stream ranking changes; a snapshot first (or the changes after Last-Event-ID)."""
    c = ctx()
    once = params.flag("once", request.args.get("once"))  # close after the first changes
    try:
        viewer = c.fanout.join()
    except ViewerCapReached:
        retry = c.settings.retry_after_seconds
        resp = jsonify(error="this server holds as many live viewers as it may; retry later "
                             "or reload the ranking without live updates", status=503)
        resp.headers["Retry-After"] = str(retry)
        return resp, 503
    m.SSE_CLIENTS.inc()
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            viewer.close()
            m.SSE_CLIENTS.dec()

    resume = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    _drop_silent_peers(request.environ.get("gunicorn.socket"))
    resp = Response(_events(viewer, resume, once, release), mimetype="text/event-stream")
    resp.call_on_close(release)  # also when the body was never started
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["X-Accel-Buffering"] = "no"
    return resp


def _events(viewer: Viewer, resume: str | None, once: bool,
            release: Callable[[], None]) -> Iterator[bytes]:
    try:
        yield b"retry: 2000\n\n"
        try:
            first = viewer.open(resume)
        except StoreUnavailable:
            yield sse("error", {"reason": "store unavailable; reconnecting"})
            return
        yield b"".join(first)
        if once and any(f.startswith(b"id: ") and b"event: change" in f for f in first):
            return
        while True:
            frames = viewer.wait(KEEPALIVE_SECONDS)
            if frames:
                yield b"".join(frames)
                if once:
                    return
            else:
                yield b": keep-alive\n\n"
    finally:
        release()


def _drop_silent_peers(sock: socket.socket | None) -> None:
    """Make the kernel drop the connection when the peer stops acknowledging data."""
    if sock is None or not hasattr(socket, "TCP_USER_TIMEOUT"):
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, UNACKED_MS)
    except OSError:
        pass

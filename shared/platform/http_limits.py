"""A deadline on reading a request body, for WSGI apps served by gunicorn's gevent worker.

gunicorn bounds the time to read a request's head (its `keepalive` setting under the
gevent worker) but not its body: a client announcing 16 MB and sending a byte a second
would hold its greenlet, its socket and a parsed request for days. This middleware gives
every body read a deadline counted from the start of the request; past it the read raises
408 Request Timeout (an HTTPException, so Flask answers it like any client error).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import RequestTimeout

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class BodyTooSlow(RequestTimeout):
    """The client did not send its request body in time."""

    description = "The request body was not received in time."


class DeadlineInput:
    """A wsgi.input whose reads fail with BodyTooSlow once the deadline has passed."""

    def __init__(self, stream: Any, deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def _bounded(self, method: str, *args: Any) -> Any:
        import gevent  # only under the gevent worker, which imported it long before

        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise BodyTooSlow()
        with gevent.Timeout(remaining, BodyTooSlow()):
            return getattr(self._stream, method)(*args)

    def read(self, *args: Any) -> bytes:
        """Read like the wrapped stream, within the deadline."""
        return self._bounded("read", *args)  # type: ignore[no-any-return]

    def readline(self, *args: Any) -> bytes:
        """Read a line like the wrapped stream, within the deadline."""
        return self._bounded("readline", *args)  # type: ignore[no-any-return]

    def readlines(self, *args: Any) -> list[bytes]:
        """Read lines like the wrapped stream, within the deadline."""
        return self._bounded("readlines", *args)  # type: ignore[no-any-return]

    def __iter__(self) -> DeadlineInput:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


def _has_body(environ: dict[str, Any]) -> bool:
    length = environ.get("CONTENT_LENGTH") or ""
    return (length not in ("", "0")) or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "")


def bound_body_reads(app: WSGIApp, seconds: float) -> WSGIApp:
    """Return app with every request body read bounded to `seconds` from the request start."""

    def bounded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if _has_body(environ):
            environ["wsgi.input"] = DeadlineInput(environ["wsgi.input"],
                                                  time.monotonic() + seconds)
        return app(environ, start_response)

    return bounded

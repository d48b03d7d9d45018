"""The request-body deadline: a body that trickles in past it is refused with 408."""

from __future__ import annotations

import io
import time
from typing import Any

import gevent
import pytest

from shared.platform.http_limits import BodyTooSlow, bound_body_reads


class Trickle(io.RawIOBase):
    """A body that yields one byte per `every` seconds (cooperatively, as under gevent)."""

    def __init__(self, every: float) -> None:
        self.every = every

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        gevent.sleep(self.every)
        return b"x"


def _app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = b"".join(iter(lambda: environ["wsgi.input"].read(1), b""))
    start_response("200 OK", [])
    return [body]


def test_a_body_slower_than_the_deadline_is_refused() -> None:
    app = bound_body_reads(_app, 0.3)
    environ = {"CONTENT_LENGTH": "1000", "wsgi.input": Trickle(0.05)}
    t = time.monotonic()
    with pytest.raises(BodyTooSlow) as info:
        app(environ, lambda *a: None)
    assert 0.25 < time.monotonic() - t < 1.0
    assert info.value.code == 408


def test_requests_without_a_body_are_untouched() -> None:
    stream = io.BytesIO(b"")
    environ = {"CONTENT_LENGTH": "", "wsgi.input": stream}
    bound_body_reads(_app, 0.1)(environ, lambda *a: None)
    assert environ["wsgi.input"] is stream


def test_a_prompt_body_is_read_whole() -> None:
    environ = {"CONTENT_LENGTH": "3", "wsgi.input": io.BytesIO(b"abc")}
    out = bound_body_reads(lambda e, s: [e["wsgi.input"].read(3)], 5)(environ, lambda *a: None)
    assert list(out) == [b"abc"]

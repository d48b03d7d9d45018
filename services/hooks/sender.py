"""The HTTP of webhook deliveries: one POST per attempt within a whole-request deadline.

The hooks worker runs Celery's gevent pool (sockets monkey-patched), so a gevent.Timeout
interrupts the attempt wherever it waits: connecting, sending, reading headers trickled a
byte at a time, or the body. The answer is streamed and at most `cap` bytes are read (raw
bytes: a compressed answer is never inflated); redirects are never followed. Without
gevent (a solo pool) each socket operation is still bounded by the deadline and the body's
reads are checked against it, but headers trickled slower than that are not.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import gevent
import requests
from requests.adapters import HTTPAdapter

from shared.commands.hooks import Deadline, DeadlineExceeded, Reply, read_capped

CHUNK = 1024


class Sender:
    """POST deliveries with one shared, pooled session (keep-alive to good receivers)."""

    def __init__(self, cap: int, pool_size: int) -> None:
        self.cap = cap
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies or .netrc from the worker's environment
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def post(self, url: str, headers: dict[str, str], body: str, deadline_s: float) -> Reply:
        """Send one attempt; return the receiver's status, or raise (deadline, cap, network)."""
        timer = gevent.Timeout(deadline_s)
        timer.start()
        try:
            return self._post(url, headers, body, Deadline(deadline_s, time.monotonic))
        except gevent.Timeout as exc:
            if exc is not timer:
                raise
            raise DeadlineExceeded(f"no complete answer within {deadline_s:g} s") from None
        finally:
            timer.close()

    def _post(self, url: str, headers: dict[str, str], body: str, deadline: Deadline) -> Reply:
        per_op = deadline.seconds + 1  # the timer fires first; this bounds a solo pool
        resp = self.session.post(url, data=body.encode("utf-8"), headers=headers,
                                 timeout=(per_op, per_op), allow_redirects=False, stream=True)
        try:
            read_capped(_chunks(resp), self.cap, deadline, resp.headers.get("content-length"))
            return Reply(int(resp.status_code), resp.headers.get("location", ""))
        finally:
            resp.close()  # an answer not read to its end closes the connection


def _chunks(resp: requests.Response) -> Iterator[bytes]:
    """Yield the answer's raw bytes as they arrive (read1: no waiting for a full chunk)."""
    while True:
        chunk = resp.raw.read1(CHUNK, decode_content=False)
        if not chunk:
            return
        yield chunk

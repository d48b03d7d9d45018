"""Webhook receivers that misbehave, on one local HTTP server (tests and the bench).

Paths: `/ok` answers 204 at once; `/hang` reads the delivery and never answers; `/trickle`
answers one byte a second from the status line on (a read timeout per socket read never
fires); `/trickle-body` sends its headers at once, then its 100-byte body one byte a second;
`/huge` answers 200 with a 300 MB body (Content-Length says so), `/huge-stream` the same
without a length (ended by closing); `/redirect` answers 302 to `/redirected` (which must never
be hit: redirects are not followed). Every request is counted per path with its arrival
time; `/ok` also records each delivery's commit-to-arrival latency.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BAD_PATHS = ("/hang", "/trickle", "/trickle-body", "/huge", "/huge-stream", "/redirect")
HUGE_BYTES = 300 * 1024 * 1024
_BLOCK = b"x" * 65536


class Receivers:
    """One threaded HTTP server with a good and several bad receivers."""

    def __init__(self) -> None:
        self.hits: dict[str, list[float]] = {}
        self.active: dict[str, int] = {}  # requests being answered (or held) right now
        self.ok_latency_s: list[float] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        receivers = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receivers._hit(self.path, +1)
                route = {"/ok": self._ok, "/hang": self._hang, "/trickle": self._trickle,
                         "/trickle-body": self._trickle_body, "/huge": self._huge,
                         "/huge-stream": self._huge, "/redirect": self._redirect}.get(self.path, self._ok)
                try:
                    route(body)
                except OSError:  # the worker gave up and closed: what we want
                    pass
                finally:
                    receivers._hit(self.path, -1)

            def _ok(self, body: bytes) -> None:
                if self.path == "/ok":
                    committed = json.loads(body)["data"].get("committed_ms")
                    if committed:
                        receivers.ok_latency_s.append(time.time() - committed / 1000)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _hang(self, body: bytes) -> None:
                receivers._wait_for_close(self.connection)

            def _trickle(self, body: bytes) -> None:
                self._dribble(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"y" * 100)

            def _trickle_body(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                self.wfile.flush()
                self._dribble(b"y" * 100)

            def _dribble(self, data: bytes) -> None:
                for i in range(len(data)):
                    if receivers.stopping.wait(1.0):
                        return
                    self.wfile.write(data[i:i + 1])
                    self.wfile.flush()

            def _huge(self, body: bytes) -> None:
                self.send_response(200)
                if self.path == "/huge":
                    self.send_header("Content-Length", str(HUGE_BYTES))
                self.end_headers()
                sent = 0
                while sent < HUGE_BYTES and not receivers.stopping.is_set():
                    self.wfile.write(_BLOCK)
                    sent += len(_BLOCK)

            def _redirect(self, body: bytes) -> None:
                self.send_response(302)
                self.send_header("Location", receivers.url("/redirected"))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _hit(self, path: str, delta: int) -> None:
        with self._lock:
            if delta > 0:
                self.hits.setdefault(path, []).append(time.time())
            self.active[path] = self.active.get(path, 0) + delta

    def _wait_for_close(self, conn: socket.socket) -> None:
        """Hold the connection without answering until the client closes it."""
        while not self.stopping.is_set():
            readable, _, _ = select.select([conn], [], [], 0.5)
            if readable and not conn.recv(1024):
                return

    def url(self, path: str) -> str:
        """Return the receiver's URL for a path."""
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def count(self, path: str) -> int:
        """Return how many requests a path received."""
        with self._lock:
            return len(self.hits.get(path, []))

    def last_hit(self, path: str) -> float:
        """Return the time of a path's latest request (0 if none)."""
        with self._lock:
            return max(self.hits.get(path, [0.0]))

    def close(self) -> None:
        """Stop answering and close the server."""
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

"""Cheap HTTP load clients for the e2e tests and the bench: raw sockets, no framework.

A client library would spend more CPU than the server it measures on a 2-core machine;
these speak just enough HTTP/1.x: keep-alive GETs with Content-Length bodies, Server-Sent
Events over HTTP/1.0 (so no chunked framing to undo), and deliberately slow clients.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


def host_port(url: str) -> tuple[str, int]:
    """Return (host, port) of an http:// URL."""
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


class KeepAliveClient:
    """One blocking keep-alive HTTP/1.1 connection for sequential requests."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.host, self.port = host_port(url)
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buf = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.buf = sock, b""
        return sock

    def _fill(self, sock: socket.socket) -> None:
        chunk = sock.recv(262144)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
        """Send one request; return (status, lower-cased headers, body)."""
        sock = self.sock or self._connect()
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
        for k, v in (headers or {}).items():
            head += f"{k}: {v}\r\n"
        if body:
            head += f"Content-Length: {len(body)}\r\n"
        try:
            sock.sendall(head.encode() + b"\r\n" + body)
            while b"\r\n\r\n" not in self.buf:
                self._fill(sock)
        except (ConnectionError, OSError):
            self.close()
            raise
        raw, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        length = int(hdrs.get("content-length", "0"))
        while len(self.buf) < length:
            self._fill(sock)
        data, self.buf = self.buf[:length], self.buf[length:]
        if hdrs.get("connection", "").lower() == "close":
            self.close()
        return status, hdrs, data

    def get(self, path: str, headers: dict[str, str] | None = None
            ) -> tuple[int, dict[str, str], bytes]:
        """GET path on the kept-alive connection."""
        return self.request("GET", path, headers)

    def close(self) -> None:
        """Close the connection (the next request opens a new one)."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None


@dataclass
class Viewer:
    """What one SSE viewer saw."""

    status: int = 0
    connected_at: float = 0.0
    events: list[tuple[str, str, str, float]] = field(default_factory=list)  # event, id, data, t
    error: str | None = None
    closed: bool = False

    def versions(self) -> dict[int, float]:
        """Return ranking_version -> wall time the change carrying it arrived."""
        out: dict[int, float] = {}
        for event, _, data, at in self.events:
            if event == "change":
                out.setdefault(json.loads(data)["ranking_version"], at)
        return out


async def _cancel_when(stop: asyncio.Event, task: asyncio.Task[Any]) -> None:
    await stop.wait()
    task.cancel()


async def watch(url: str, path: str, viewer: Viewer, stop: asyncio.Event,
                headers: dict[str, str] | None = None,
                on_event: Callable[[Viewer], None] | None = None) -> None:
    """Hold one SSE connection (HTTP/1.0, so the body is the raw event stream) until stop.

    The read loop awaits only the socket (a helper cancels it on stop): thousands of
    viewers in one process must cost little per received event.
    """
    host, port = host_port(url)
    me = asyncio.current_task()
    assert me is not None
    stopper = asyncio.ensure_future(_cancel_when(stop, me))
    writer: asyncio.StreamWriter | None = None
    try:
        reader, writer = await asyncio.open_connection(host, port)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}\r\nAccept: text/event-stream\r\n"
                     f"{extra}\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        viewer.status = int(head.split(b" ", 2)[1])
        viewer.connected_at = time.time()
        if viewer.status != 200:
            return
        buf = b""
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                viewer.closed = True
                return
            buf += chunk
            if b"\n\n" not in buf:
                continue
            now = time.time()
            *blocks, buf = buf.split(b"\n\n")
            for block in blocks:
                event, sid, data = "message", "", ""
                for line in block.decode().split("\n"):
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("id: "):
                        sid = line[4:]
                    elif line.startswith("data: "):
                        data = line[6:]
                if data or event != "message":
                    viewer.events.append((event, sid, data, now))
                    if on_event is not None:
                        on_event(viewer)
    except asyncio.CancelledError:
        if not stop.is_set():
            raise
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        viewer.error = repr(exc)
    finally:
        stopper.cancel()
        if writer is not None:
            writer.close()


async def _trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, piece: Callable[[int], bytes],
                   stop: asyncio.Event, every: float) -> str:
    """Send a piece every `every` seconds, ignoring any answer, until the server hangs up."""
    answer = b""
    n = 0
    try:
        while not stop.is_set():
            await writer.drain()
            try:
                data = await asyncio.wait_for(reader.read(1024), every)
            except TimeoutError:
                writer.write(piece(n))
                n += 1
                continue
            if not data:
                break
            answer = answer or data
        else:
            return "held"
    except OSError:
        pass
    finally:
        writer.close()
    if answer.startswith(b"HTTP/"):
        return "answered " + answer.split(b"\r\n", 1)[0].decode("latin-1")[9:12] + ", closed"
    return "closed by server"


async def slow_headers(url: str, stop: asyncio.Event, every: float = 1.0) -> str:
    """Send a request head one header line a second until the server hangs up (or stop)."""
    host, port = host_port(url)
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n".encode())
    return await _trickle(reader, writer, lambda n: f"X-Slow-{n}: {'a' * 10}\r\n".encode(),
                          stop, every)


async def slow_body(url: str, path: str, stop: asyncio.Event, every: float = 1.0,
                    headers: dict[str, str] | None = None) -> str:
    """Announce a 1 MB body and send ten bytes a second until the server hangs up (or stop)."""
    host, port = host_port(url)
    reader, writer = await asyncio.open_connection(host, port)
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    writer.write(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-ndjson\r\n"
                 f"{extra}Content-Length: 1000000\r\n\r\n".encode())
    return await _trickle(reader, writer, lambda n: b" " * 10, stop, every)


@dataclass
class Answer:
    """What one request of a burst got: its status (0: no answer), headers and body."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None


async def _one(host: str, port: int, head: bytes, body: bytes, go: asyncio.Event,
               connected: list[int], answer: Answer, timeout: float) -> None:
    writer: asyncio.StreamWriter | None = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        connected[0] += 1
        await go.wait()
        writer.write(head + body)
        await writer.drain()
        raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        lines = raw.decode("latin-1").split("\r\n")
        answer.status = int(lines[0].split(" ", 2)[1])
        for line in lines[1:]:
            k, _, v = line.partition(":")
            if k:
                answer.headers[k.strip().lower()] = v.strip()
        length = int(answer.headers.get("content-length", "0"))
        answer.body = await asyncio.wait_for(reader.readexactly(length), timeout)
    except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
        answer.error = repr(exc)
    finally:
        if writer is not None:
            writer.close()


async def burst(url: str, requests: list[tuple[str, str, dict[str, str], bytes]],
                timeout: float = 60.0) -> list[Answer]:
    """Open one connection per (method, path, headers, body), then send them all at once.

    Every connection is open before the first request is written, so the server holds them
    all simultaneously.
    """
    host, port = host_port(url)
    go = asyncio.Event()
    connected = [0]
    answers = [Answer() for _ in requests]
    tasks = []
    for (method, path, headers, body), answer in zip(requests, answers):
        head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head += f"Content-Length: {len(body)}\r\n\r\n"
        tasks.append(asyncio.ensure_future(
            _one(host, port, head.encode(), body, go, connected, answer, timeout)))
    deadline = time.monotonic() + timeout
    while connected[0] + sum(t.done() for t in tasks) < len(tasks) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    go.set()
    await asyncio.gather(*tasks)
    return answers

"""One reader of the ranking-change stream per web process, fanned out to every viewer.

The reader (a thread; a greenlet under gunicorn's gevent worker) holds the process's one
blocking `XREAD` on the change stream, encodes each change as a Server-Sent Event once, and
keeps the last `buffer` of them in memory. A viewer is a cursor into that buffer: waiting
costs it a condition wait, sending costs one socket write of bytes shared by every viewer.
A viewer that resumes (Last-Event-ID) from before the buffer, or falls behind it, reads
the gap from Redis once and rejoins. Redis connections stay constant whatever the viewers.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice

import redis

from shared.contract.jsonfast import JSONDecodeError, compact, loads
from shared.domain.records import IndexMeta
from shared.domain.scoring.explain import rank_change
from shared.queries.params import stream_id
from shared.store.ranking import RankingReader

BLOCK_MS = 1000  # the reader's XREAD BLOCK; also how often the snapshot metadata refreshes
BUFFER = 1024  # changes kept in memory for viewers that lag or resume
READY_WAIT = 5.0  # seconds a new viewer waits for the reader's first read


class ViewerCapReached(Exception):
    """This process serves as many viewers as it may."""


class StoreUnavailable(Exception):
    """The change stream cannot be read now."""


def sid_key(sid: str) -> tuple[int, int] | None:
    """Return a stream id ('<ms>-<seq>') as a sortable pair, or None if it is not one."""
    return stream_id(sid)


def sse(event: str, data: object, event_id: str | None = None) -> bytes:
    """Encode one Server-Sent Event."""
    return sse_raw(event, compact(data), event_id)


def sse_raw(event: str, json_text: str, event_id: str | None = None) -> bytes:
    """Encode one Server-Sent Event whose data is JSON text already."""
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {json_text}\n\n".encode()


def change_text(raw: str) -> str:
    """Return a stored change message as the stream sends it: with its rank change in the
    public convention (rank_before, rank_after, places_gained: positive = rose) beside the
    deprecated old_rank and rank_delta (positive = fell), kept for one release."""
    try:
        change = loads(raw)
    except JSONDecodeError:
        return raw
    if not isinstance(change, dict) or "places_gained" in change:
        return raw
    change.update(rank_change(change.get("old_rank"), change.get("rank")))
    return compact(change)


@dataclass(frozen=True)
class Frame:
    seq: int  # position in this process's sequence of changes (1, 2, ...)
    key: tuple[int, int]
    sid: str
    data: bytes


class Fanout:
    """The change stream of one process: one reader, any number of viewers."""

    def __init__(self, reader_factory: Callable[[], RankingReader], gap_reader: RankingReader,
                 max_viewers: int, buffer: int = BUFFER, block_ms: int = BLOCK_MS) -> None:
        self._reader_factory = reader_factory
        self.gap_reader = gap_reader  # the app's shared client: for the rare gap reads
        self.max_viewers = max_viewers
        self.block_ms = block_ms
        self._cond = threading.Condition()
        self._frames: deque[Frame] = deque(maxlen=buffer)
        self._seq = 0
        self._position: str | None = None  # newest stream id read
        self._meta: IndexMeta | None = None
        self._thread: threading.Thread | None = None
        self.healthy = False
        self.viewers = 0
        self.reads = 0  # XREAD replies handled (for tests and debugging)

    # ------------------------------------------------------------------ reader

    def start(self) -> None:
        """Start the reader unless it runs."""
        with self._cond:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="sse-fanout", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        reader = self._reader_factory()
        backoff = 0.1
        while True:
            try:
                self._read_once(reader)
                backoff = 0.1
            except redis.RedisError:
                with self._cond:
                    self.healthy = False
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _read_once(self, reader: RankingReader) -> None:
        if self._position is None:
            position = reader.last_change_id()
            meta = reader.meta()
            with self._cond:
                self._position, self._meta, self.healthy = position, meta, True
                self._cond.notify_all()
            return
        changes = reader.changes_raw_after(self._position, self.block_ms)
        meta = reader.meta()
        with self._cond:
            for sid, raw in changes:
                key = sid_key(sid)
                if key is None:
                    continue
                self._seq += 1
                self._frames.append(Frame(self._seq, key, sid,
                                         sse_raw("change", change_text(raw), sid)))
                self._position = sid
            self._meta, self.healthy = meta, True
            self.reads += 1
            if changes:
                self._cond.notify_all()

    # ------------------------------------------------------------------ viewers

    def join(self) -> Viewer:
        """Register a viewer; raise ViewerCapReached past max_viewers."""
        with self._cond:
            if self.viewers >= self.max_viewers:
                raise ViewerCapReached()
            self.viewers += 1
        self.start()
        return Viewer(self)

    def _leave(self) -> None:
        with self._cond:
            self.viewers -= 1

    def _ready(self) -> tuple[str, IndexMeta, int]:
        """Return (position, meta, sequence) once the reader has read; else StoreUnavailable."""
        deadline = time.monotonic() + READY_WAIT
        with self._cond:
            while self._position is None or self._meta is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StoreUnavailable()
                self._cond.wait(left)
            return self._position, self._meta, self._seq

    def _after(self, seq: int, timeout: float) -> list[Frame] | None:
        """Return the frames after seq, waiting up to timeout for one; None if seq has
        fallen out of the buffer (the caller must read the gap from Redis)."""
        with self._cond:
            if self._seq <= seq:
                self._cond.wait(timeout)
            if self._seq <= seq:
                return []
            first = self._frames[0].seq if self._frames else self._seq + 1
            if first > seq + 1:
                return None
            return list(islice(self._frames, seq + 1 - first, None))

    def _window(self) -> tuple[Frame | None, str | None, int]:
        """Return the oldest buffered frame, the reader's position and sequence."""
        with self._cond:
            return (self._frames[0] if self._frames else None), self._position, self._seq


class Viewer:
    """One connected viewer: a cursor into its process's fan-out."""

    def __init__(self, fanout: Fanout) -> None:
        self.fanout = fanout
        self.seq = 0
        self.last: tuple[int, int] | None = None
        self.last_sid: str | None = None
        self._closed = False

    def close(self) -> None:
        """Release the viewer's place (idempotent)."""
        if not self._closed:
            self._closed = True
            self.fanout._leave()

    def open(self, resume: str | None) -> list[bytes]:
        """Return the first events: a snapshot, or the changes after a Last-Event-ID."""
        position, meta, seq = self.fanout._ready()
        out: list[bytes] = []
        key = sid_key(resume) if resume else None
        if resume and key is not None:
            first = self.fanout.gap_reader.first_change_id()
            if first is not None and key < (sid_key(first) or (0, 0)):
                out.append(sse("reset", {"reason": "Last-Event-ID is older than the retained "
                                                   "stream; reload the ranking"}))
            else:
                self.last, self.last_sid = key, resume
                return self._catch_up()
        self.seq, self.last, self.last_sid = seq, sid_key(position), position
        out.append(sse("snapshot", {"ranking_version": meta.ranking_version,
                                    "index_date": meta.index_date,
                                    "as_of": meta.index_date,  # deprecated alias, one release
                                    "updated_ms": meta.updated_ms},
                       position))
        return out

    def _catch_up(self) -> list[bytes]:
        """Read what the buffer lacks after self.last from Redis, then point into the buffer."""
        assert self.last_sid is not None
        oldest, position, seq = self.fanout._window()
        out: list[bytes] = []
        if oldest is not None and self.last is not None and self.last >= oldest.key:
            self.seq = oldest.seq - 1  # everything after last is in the buffer
            return out
        until = oldest.sid if oldest is not None else None
        after = self.last_sid
        while True:
            rows = self.fanout.gap_reader.changes_between(after, until)
            for sid, raw in rows:
                key = sid_key(sid)
                if until is None and position is not None and key is not None \
                        and key > (sid_key(position) or key):
                    break  # the buffer will carry it
                out.append(sse_raw("change", change_text(raw), sid))
                self.last, self.last_sid, after = key, sid, sid
            if len(rows) < 1000:
                break
        self.seq = oldest.seq - 1 if oldest is not None else seq
        return out

    def wait(self, timeout: float) -> list[bytes]:
        """Return the next changes, waiting up to timeout; [] when there were none."""
        deadline = time.monotonic() + timeout
        while True:
            frames = self.fanout._after(self.seq, max(0.0, deadline - time.monotonic()))
            if frames is None:  # fell out of the buffer while writing to a slow socket
                out = self._catch_up()
                if out:
                    return out
                continue
            out = []
            for frame in frames:
                self.seq = frame.seq
                if self.last is None or frame.key > self.last:
                    out.append(frame.data)
                    self.last, self.last_sid = frame.key, frame.sid
            if out or time.monotonic() >= deadline:
                return out

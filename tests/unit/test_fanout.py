"""The SSE fan-out against an in-memory change stream: snapshot, delivery, resume, cap."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from services.web.fanout import Fanout, StoreUnavailable, ViewerCapReached
from tests.support.fakes import FakeStream


def _fanout(stream: FakeStream, buffer: int = 4, max_viewers: int = 10) -> Fanout:
    fan = Fanout(lambda: stream, stream, max_viewers, buffer=buffer, block_ms=50)  # type: ignore[arg-type, return-value]
    return fan


def _events(frames: list[bytes]) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for frame in b"".join(frames).decode().split("\n\n"):
        if not frame:
            continue
        fields = dict(line.split(": ", 1) for line in frame.split("\n"))
        out.append((fields["event"], fields.get("id", ""), json.loads(fields["data"])))
    return out


def _collect(viewer: Any, want: int, timeout: float = 5.0) -> list[tuple[str, str, dict[str, Any]]]:
    got: list[tuple[str, str, dict[str, Any]]] = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        got += _events(viewer.wait(0.2))
    return got


def test_new_viewer_gets_a_snapshot_then_every_change() -> None:
    stream = FakeStream()
    stream.add(2)
    fan = _fanout(stream)
    viewer = fan.join()
    first = _events(viewer.open(None))
    assert [e[0] for e in first] == ["snapshot"] and first[0][1] == "1002-0"
    assert first[0][2]["ranking_version"] == 2
    assert first[0][2]["index_date"] == first[0][2]["as_of"] == "2025-06-30"  # alias kept
    sids = stream.add(3)
    got = _collect(viewer, 3)
    assert [(e[0], e[1]) for e in got] == [("change", s) for s in sids]


def test_many_viewers_share_one_reader() -> None:
    stream = FakeStream()
    fan = _fanout(stream, buffer=16)
    viewers = [fan.join() for _ in range(5)]
    for v in viewers:
        v.open(None)
    sids = stream.add(2)
    for v in viewers:
        assert [e[1] for e in _collect(v, 2)] == sids
    assert fan.viewers == 5


def test_resume_inside_the_buffer_reads_nothing_from_redis() -> None:
    stream = FakeStream()
    fan = _fanout(stream, buffer=8)
    fan.join().open(None)  # starts the reader
    sids = stream.add(4)
    late = fan.join()
    deadline = time.monotonic() + 5
    while fan._window()[1] != sids[-1] and time.monotonic() < deadline:
        time.sleep(0.01)
    before = stream.gap_reads
    got = _events(late.open(sids[1]))
    got += _collect(late, 2 - len(got))
    assert [e[1] for e in got] == sids[2:]
    assert stream.gap_reads == before


def test_resume_older_than_the_buffer_reads_the_gap_once_then_joins() -> None:
    stream = FakeStream()
    fan = _fanout(stream, buffer=3)
    fan.join().open(None)
    sids = stream.add(8)  # the buffer keeps the last 3
    deadline = time.monotonic() + 5
    while fan._window()[1] != sids[-1] and time.monotonic() < deadline:
        time.sleep(0.01)
    viewer = fan.join()
    before = stream.gap_reads
    got = _events(viewer.open(sids[0]))
    assert stream.gap_reads == before + 1
    got += _collect(viewer, 7 - len(got))
    assert [e[1] for e in got] == sids[1:]  # no gap, no duplicate
    more = stream.add(2)
    assert [e[1] for e in _collect(viewer, 2)] == more


def test_resume_from_before_the_retained_stream_resets_then_snapshots() -> None:
    stream = FakeStream()
    sids = stream.add(5)
    stream.trimmed_before = 3
    fan = _fanout(stream)
    got = _events(fan.join().open(sids[0]))
    assert [e[0] for e in got] == ["reset", "snapshot"]


def test_the_cap_refuses_and_a_closed_viewer_frees_its_place() -> None:
    stream = FakeStream()
    fan = _fanout(stream, max_viewers=2)
    a, _ = fan.join(), fan.join()
    with pytest.raises(ViewerCapReached):
        fan.join()
    a.close()
    a.close()  # idempotent
    fan.join()
    assert fan.viewers == 2


def test_store_down_at_start_is_reported_not_hung(monkeypatch: pytest.MonkeyPatch) -> None:
    import services.web.fanout as fanout_module

    monkeypatch.setattr(fanout_module, "READY_WAIT", 0.3)
    stream = FakeStream()
    stream.fail = True
    stream.last_change_id = lambda: (_ for _ in ()).throw(  # type: ignore[method-assign]
        __import__("redis").ConnectionError("down"))
    fan = _fanout(stream)
    with pytest.raises(StoreUnavailable):
        fan.join().open(None)


def test_changes_carry_places_gained_live_and_when_read_from_the_gap() -> None:
    stream = FakeStream()

    def ranked(sid: str, old_rank: int, rank: int) -> None:
        with stream.cond:
            stream.rows.append((sid, json.dumps({"ranking_version": 1, "t": 0, "rank": rank,
                                                 "old_rank": old_rank,
                                                 "rank_delta": rank - old_rank})))
            stream.cond.notify_all()

    stream.add(1)  # 1001-0, without ranks
    ranked("1002-0", 4, 2)
    fan = _fanout(stream)
    viewer = fan.join()
    [gap] = _events(viewer.open("1001-0"))  # read from Redis: behind the buffer
    assert gap[0] == "change" and gap[2]["places_gained"] == 2 and gap[2]["rank_delta"] == -2
    assert (gap[2]["rank_before"], gap[2]["rank_after"]) == (4, 2)
    ranked("1003-0", 1, 3)
    [live] = _collect(viewer, 1)
    assert live[2]["places_gained"] == -2 and live[2]["rank_delta"] == 2  # fell; alias kept

"""The Lua scripts against a real Redis: scores keep every digit (no cjson on the way) and
every submission record the scripts write reads back through the one Python definition."""

from __future__ import annotations

from typing import Any

import pytest

from shared.contract.events import decode_event, dump_event
from shared.contract.jsonfast import canonical, compact, loads
from shared.domain.outcome import Outcome
from shared.domain.records import Commit
from shared.domain.submission import APPLIED, FAILED, HELD, REJECTED, Submission
from shared.store import keys as K
from shared.store import lua
from shared.store.cities import CityStore
from shared.store.events_log import EventLog
from shared.store.history import HistoryStore
from shared.store.review import ReviewStore
from tests.support.events import city, event, indicator
from tests.support.procs import RedisProc

pytestmark = pytest.mark.integration

SCORE = 0.12345678901234567  # 17 significant digits: cjson would keep 14


def _pairs(*raw: dict[str, Any]) -> list[Any]:
    events = [decode_event(r) for r in raw]
    return [(e, canonical(dump_event(e))) for e in events]


def test_scores_pass_through_the_commit_with_every_digit(redis_proc: RedisProc) -> None:
    """The commit stores the scores, entry and message Python built, to the last digit."""
    client = redis_proc.client()
    store = CityStore(client)
    store.ensure_methodology("2025.1")
    result = canonical({"score": SCORE})
    commit = Commit(
        city_id="alpha", rev="0", consumed=0, state_json="{}", result_json=result,
        card_json="{}", score=SCORE, reason="", index_date="", methodology="2025.1",
        now_ms=1_700_000_000_000, changed=True,
        history_body=compact({"s": SCORE, "p": {"research": SCORE}}),
        pillars=[("research", SCORE), ("talent", None)],
        change_body=compact({"score": SCORE}))
    assert store.commit_many([commit])[0].status == "ok"
    assert client.zscore(K.RANK_OVERALL, "alpha") == SCORE
    assert client.zscore(K.rank_pillar("research"), "alpha") == SCORE
    assert client.get(K.city_result("alpha")) == result
    entry = HistoryStore(client).entry_at("alpha", 1)
    assert entry is not None and entry.score == SCORE and entry.rank == 1
    raw_entry = client.zrange(K.city_history("alpha"), 0, 0)[0]
    assert raw_entry.startswith('{"v":1,"t":') and raw_entry.endswith(
        f',"r":1,"s":{SCORE!r},"p":{{"research":{SCORE!r}}}}}')
    message = client.xrange(K.CHANGES)[-1][1]["c"]
    assert message.endswith(f',"city_id":"alpha","score":{SCORE!r}}}')
    assert loads(message)["score"] == SCORE


def test_an_empty_entry_and_message_still_read_as_json(redis_proc: RedisProc) -> None:
    """With nothing to add, the commit's own members make the whole object."""
    client = redis_proc.client()
    store = CityStore(client)
    store.ensure_methodology("2025.1")
    commit = Commit(
        city_id="alpha", rev="0", consumed=0, state_json="{}", result_json="{}",
        card_json="{}", score=None, reason="no data", index_date="", methodology="2025.1",
        now_ms=1_700_000_000_000, changed=True, history_body="{}", pillars=[])
    assert store.commit_many([commit])[0].status == "ok"
    assert loads(client.zrange(K.city_history("alpha"), 0, 0)[0])["r"] is None
    assert loads(client.xrange(K.CHANGES)[-1][1]["c"])["city_id"] == "alpha"


def test_every_record_the_scripts_write_reads_back_exactly(redis_proc: RedisProc) -> None:
    """Accepted, tick, held, rejected and failed records: from_stored and back, same bytes."""
    client = redis_proc.client()
    log, review, cities = EventLog(client), ReviewStore(client), CityStore(client)
    cities.ensure_methodology("2025.1")
    admin = _pairs(city("alpha"), indicator("alpha", "infra.5g_coverage_pct", 40.0),
                   event("index.ticked", None, {"date": "2025-06-01"}))
    assert log.append("admin", True, admin).outcomes == (Outcome.ACCEPTED,) * 3
    held = _pairs(indicator("alpha", "infra.5g_coverage_pct", 90.0),
                  indicator("alpha", "infra.5g_coverage_pct", 91.0))
    got = log.append("partner", False, held, holds={0: '{"e":1}', 1: '{"e":2}'})
    assert got.outcomes == (Outcome.HELD, Outcome.HELD)
    review.reject([held[1][0].event_id], "too | far")
    bad = "00000000-0000-4000-8000-00000000bad1"
    cities.push_raw("alpha", '{"event_id":"' + bad + '"}', bad, 1_700_000_000_000, "partner")
    cities.commit_many([Commit(
        city_id="alpha", rev="0", consumed=0, state_json="{}", result_json="{}",
        card_json="{}", score=None, reason="", index_date="2025-06-01", methodology="2025.1",
        now_ms=1_700_000_000_000, changed=False, history_body="{}", pillars=[],
        dead=[(bad, "KeyError: 'type'")])])
    ids = [e.event_id for e, _ in admin + held] + [bad]
    records = {i: client.get(K.event(i)) for i in ids}
    for text in records.values():
        assert Submission.from_stored(text).to_stored() == text
    subs = {i: Submission.from_stored(t) for i, t in records.items()}
    assert [subs[i].feed for i in ids] == ["admin"] * 3 + ["partner"] * 3
    assert subs[ids[2]].status == APPLIED and subs[ids[2]].city_id == ""
    assert subs[ids[3]].status == HELD and subs[ids[3]].event_type == "indicator.observed"
    assert (subs[ids[4]].status, subs[ids[4]].reason) == (REJECTED, "too | far")
    assert (subs[bad].status, subs[bad].reason) == (FAILED, "KeyError: 'type'")
    assert log.append("partner", False, held[:1], release=True).outcomes == (Outcome.ACCEPTED,)
    assert log.append("partner", False, held[1:], release=True).outcomes == (Outcome.NOT_HELD,)


def test_redis_compiles_every_script(redis_proc: RedisProc) -> None:
    """Each registered script loads into Redis (a syntax error shows here, not in production)."""
    client = redis_proc.client()
    for name in lua.SCRIPTS:
        assert client.script_load(lua.source(name))

"""The named stored shapes: each reads back what it writes, byte for byte what was stored."""

from __future__ import annotations

from datetime import date, datetime

from shared.commands.recompute import history_body
from shared.contract.events import (
    CITY_UPSERTED,
    INDICATOR_OBSERVED,
    PROJECT_REMOVED,
    PROJECT_UPSERTED,
    CityUpserted,
    Event,
    IndicatorObserved,
    ProjectRemoved,
    ProjectUpserted,
)
from shared.contract.jsonfast import canonical, compact, loads
from shared.domain.history_rules import merge_changes
from shared.domain.readmodel import band_of
from shared.domain.records import (
    ChangeMessage,
    DeadLetter,
    EntryVersion,
    HistoryEntry,
    InboxHead,
    IndicatorChange,
    RankBand,
    ScoredMember,
    VersionMember,
    changes_from_stored,
    changes_to_stored,
    state_entry,
)
from shared.domain.state import CityState, apply_event, events_of

EID = "0b9e6a7c-1111-4a2b-9c3d-000000000001"
CHANGE = [12.0, 0.4, 15.5, 0.55, EID, "admin", "2025-05-30T12:00:00+00:00"]
# The members the recompute wrote before the records (its compact({...})[1:-1] of letters).
BODY = ('"m":"2025.1","d":"2025-06-01","s":71.25,"c":0.875,"why":null,'
        '"p":{"research":80.5,"talent":null},"pc":{"research":1.0,"talent":0.4},'
        '"ld":"2025-05-30T12:00:00+00:00","st":false,"n":3,'
        f'"x":{{"research.papers":[12.0,0.4,15.5,0.55,"{EID}","admin","2025-05-30T12:00:00+00:00"],'
        '"adoption.speed":[null,null,2.0,0.2,null,null,null]}')
# ...and the entry as the commit script stores it: its head, then that body.
ENTRY = '{"v":41,"t":1748736000123,"r":3,' + BODY + "}"


def test_an_indicator_change_is_its_seven_slots() -> None:
    change = IndicatorChange.from_stored(CHANGE)
    assert change == IndicatorChange(12.0, 0.4, 15.5, 0.55, EID, "admin",
                                     "2025-05-30T12:00:00+00:00")
    assert change.to_stored() == CHANGE
    assert IndicatorChange.from_stored(change.to_stored()) == change
    assert change.moved() and not IndicatorChange(1.0, 0.1, 1.0, 0.1, None, None, None).moved()


def test_merged_changes_start_at_the_older_and_end_at_the_newer() -> None:
    older = changes_from_stored({"a": [1.0, 0.1, 2.0, 0.2, "e1", "f1", "t1"],
                                 "b": [5.0, 0.5, 6.0, 0.6, "e2", "f1", "t2"]})
    newer = changes_from_stored({"a": [2.0, 0.2, 3.0, 0.3, "e3", "f2", "t3"],
                                 "c": [None, None, 1.0, 0.1, None, None, None]})
    assert changes_to_stored(merge_changes(older, newer)) == {
        "a": [1.0, 0.1, 3.0, 0.3, "e3", "f2", "t3"], "b": [5.0, 0.5, 6.0, 0.6, "e2", "f1", "t2"],
        "c": [None, None, 1.0, 0.1, None, None, None]}


def test_a_history_entry_reads_and_writes_the_stored_bytes() -> None:
    entry = HistoryEntry.from_stored(loads(ENTRY))
    assert (entry.version, entry.committed_ms, entry.rank) == (41, 1748736000123, 3)
    assert (entry.methodology, entry.index_date, entry.score, entry.coverage, entry.reason) == (
        "2025.1", "2025-06-01", 71.25, 0.875, None)
    assert entry.pillars == {"research": 80.5, "talent": None}
    assert entry.pillar_coverage == {"research": 1.0, "talent": 0.4}
    assert (entry.last_data_at, entry.stale, entry.events) == (
        "2025-05-30T12:00:00+00:00", False, 3)
    assert entry.changes["research.papers"] == IndicatorChange.from_stored(CHANGE)
    assert compact(entry.to_stored()) == ENTRY
    assert entry.stored_body() == "{" + BODY + "}"  # a whole object: the script adds its head
    assert HistoryEntry.from_stored(entry.to_stored()) == entry


def test_the_recompute_writes_the_same_entry_body_as_before() -> None:
    result = {"methodology_version": "2025.1", "index_date": "2025-06-01", "score": 71.25,
              "coverage": 0.875, "reason": None,
              "pillars": {"research": {"score": 80.5, "coverage": 1.0},
                          "talent": {"score": None, "coverage": 0.4}},
              "last_data_at": "2025-05-30T12:00:00+00:00", "stale": False}
    changes = changes_from_stored(loads(ENTRY)["x"])
    assert history_body(result, 3, changes) == "{" + BODY + "}"


def test_an_entry_missing_members_reads_with_the_old_defaults() -> None:
    # a snapshot read drops x; entries of older workers may lack ld, st, n, pc
    entry = HistoryEntry.from_stored(loads('{"v":7,"t":1000,"r":null,"s":50.0}'))
    assert (entry.rank, entry.score, entry.reason, entry.last_data_at) == (None, 50.0, None, None)
    assert (entry.pillars, entry.pillar_coverage, entry.changes) == ({}, {}, {})
    assert (entry.stale, entry.events) == (True, 0)


def test_version_members_inbox_heads_and_dead_letters_keep_their_strings() -> None:
    assert VersionMember.from_stored("41:1748736000123") == VersionMember(41, 1748736000123)
    assert VersionMember(41, 1748736000123).to_stored() == "41:1748736000123"
    assert ScoredMember.from_stored("17:41") == ScoredMember(17, 41)
    assert ScoredMember(17, 41).to_stored() == "17:41"
    head = InboxHead.from_stored("1748736000123-0 admin")
    assert head == InboxHead("1748736000123-0", "admin") and head.ack_ms() == 1748736000123
    assert head.to_stored() == "1748736000123-0 admin"
    assert InboxHead.from_stored("odd").ack_ms() is None
    row = f"alpha aicity:ev:{EID} ValueError: bad value: x y"
    dead = DeadLetter.from_stored(row, "aicity:ev:")
    assert dead == DeadLetter("alpha", EID, "ValueError: bad value: x y")
    assert dead.to_stored("aicity:ev:") == row
    assert dead._asdict() == {"city_id": "alpha", "event_id": EID,
                              "reason": "ValueError: bad value: x y"}


# The state a city held before the records, as stored (canonical JSON).
STATE = (
    '{"city_id":"alpha","indicators":{"infra.latency_ms":{"at":"2025-05-01T10:00:00+02:00",'
    '"v":["2025-05-01T08:00:00.000000Z","00000000-0000-4000-8000-000000000002"],"value":20.0}},'
    '"profile":{"at":"2025-05-01T10:00:00+02:00","country":"AT","lat":48.2,"lon":16.4,'
    '"name":"Alpha","population":1000,"region":"Europe",'
    '"v":["2025-05-01T08:00:00.000000Z","00000000-0000-4000-8000-000000000001"]},'
    '"projects":{"p1":{"at":"2025-05-01T10:00:00+02:00","deployed_at":"2025-03-04",'
    '"name":"Bus AI","organization":"City","owner":"public","removed":false,'
    '"sector":"transport","stage":"deployed","started_at":"2025-01-02",'
    '"v":["2025-05-01T08:00:00.000000Z","00000000-0000-4000-8000-000000000003"]},'
    '"p2":{"at":"2025-05-01T10:00:00+02:00","removed":true,'
    '"v":["2025-05-01T08:00:00.000000Z","00000000-0000-4000-8000-000000000004"]}}}')


def test_city_state_entries_are_stored_as_before() -> None:
    at = datetime.fromisoformat("2025-05-01T10:00:00+02:00")
    state = CityState("alpha")
    for n, (kind, data) in enumerate([
            (CITY_UPSERTED, CityUpserted("Alpha", "AT", "Europe", 1000, 48.2, 16.4)),
            (INDICATOR_OBSERVED, IndicatorObserved("infra.latency_ms", 20.0)),
            (PROJECT_UPSERTED, ProjectUpserted("p1", "Bus AI", "City", "transport", "public",
                                               "deployed", date(2025, 1, 2), date(2025, 3, 4))),
            (PROJECT_REMOVED, ProjectRemoved("p2"))], start=1):
        apply_event(state, Event(f"00000000-0000-4000-8000-00000000000{n}", kind, "alpha", at,
                                 data))
    assert canonical(state.to_dict()) == STATE
    stored = CityState.from_dict(loads(STATE))
    assert canonical(stored.to_dict()) == STATE
    version = EntryVersion.of(stored.indicators["infra.latency_ms"])
    assert version == EntryVersion("2025-05-01T08:00:00.000000Z",
                                   "00000000-0000-4000-8000-000000000002")
    assert EntryVersion.from_stored(version.to_stored()) == version
    assert state_entry(version, "x", value=1.0) == {"v": list(version), "at": "x", "value": 1.0}
    assert [e.event_id for e in events_of(stored)] == [
        f"00000000-0000-4000-8000-00000000000{n}" for n in (1, 2, 3, 4)]


# A change message as the commit script writes it: its own members, then the recompute's.
SCRIPT_PART = ('{"ranking_version":41,"t":1748736000123,"rank":3,"old_rank":5,"rank_delta":-2,'
               '"city_id":"delta"')
EXTRAS = ('"index_date":"2025-06-01","score":71.25,"pillars":{"research":80.5,"talent":null},'
          '"events":2,"old_score":69.0,"score_delta":2.25,"drivers":{"pillars":'
          '[{"pillar":"research","contribution":2.25}],"indicators":[{"indicator":'
          f'"research.papers","pillar":"research","contribution":2.25,"from_value":12.0,'
          f'"to_value":15.5,"event_id":"{EID}","feed":"admin"}}]}}')
MESSAGE = SCRIPT_PART + "," + EXTRAS + "}"


def test_a_change_message_is_what_the_script_writes_and_the_recompute_adds() -> None:
    message = ChangeMessage.from_stored(loads(MESSAGE))
    assert (message.ranking_version, message.committed_ms, message.rank, message.old_rank,
            message.rank_delta, message.city_id) == (41, 1748736000123, 3, 5, -2, "delta")
    assert (message.score, message.old_score, message.score_delta, message.events) == (
        71.25, 69.0, 2.25, 2)
    assert compact(message.to_stored()) == MESSAGE
    assert message.stored_extras() == "{" + EXTRAS + "}"
    assert ChangeMessage.from_stored(message.to_stored()) == message
    # what the recompute wrote before the records: compact of its members without braces
    old = compact({"index_date": "2025-06-01", "score": 71.25,
                   "pillars": {"research": 80.5, "talent": None}, "events": 2,
                   **{"old_score": 69.0, "score_delta": 2.25,
                      "drivers": loads(MESSAGE)["drivers"]}})[1:-1]
    assert old == EXTRAS
    bare = ChangeMessage.from_stored(loads(SCRIPT_PART + "}"))  # an older worker's message
    assert (bare.score, bare.pillars, bare.drivers) == (None, {}, {})


def test_a_rank_band_is_its_three_ranks() -> None:
    doc = loads('{"ranking_version":41,"draws":1000,"bands":{"alpha":[2,1,4]}}')
    band = RankBand.from_stored(doc["bands"]["alpha"])
    assert band == RankBand(median=2, p05=1, p95=4) and band.to_stored() == [2, 1, 4]
    assert compact({"alpha": band.to_stored()}) == '{"alpha":[2,1,4]}'
    assert band_of(doc, "alpha") == {"median": 2, "p05": 1, "p95": 4, "draws": 1000,
                                     "ranking_version": 41}

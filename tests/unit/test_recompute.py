"""The recompute handler against an in-memory fake of the city store.

The Lua compare-and-set itself is tested on a real Redis (tests/integration); here: what
the handler folds, dead-letters, retries and reports.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from shared.commands.recompute import recompute_cities
from shared.contract.events import codec_for
from shared.contract.methodology import load_methodology
from shared.domain.records import CityWork
from tests.support.events import city, indicator
from tests.support.fakes import FakeCityStore

M = load_methodology("2025.1")
CODEC = codec_for(M.version)
CODE = M.observed_indicator_codes()[0]


def stored(raw: dict[str, object]) -> str:
    return CODEC.encode(CODEC.load(raw))


def _store() -> FakeCityStore:
    store = FakeCityStore(methodology=M.version)
    for name in ("alpha", "beta"):
        store.inboxes[name] = [("1000-0 admin", stored(city(name))),
                               ("1001-0 feed-a", stored(indicator(name, CODE, 5)))]
    return store


def test_an_undecodable_event_is_dead_lettered_and_its_city_and_the_others_commit() -> None:
    store = _store()
    bad_id = "0f8e5a52-8b5f-4c6e-9d3f-2b1a7c9e4d10"
    broken = json.dumps({"event_id": bad_id, "type": "indicator.observed", "city_id": "alpha",
                         "occurred_at": "2025-06-29t00:00:00z",
                         "data": {"indicator": CODE, "value": 7}})
    store.inboxes["alpha"].insert(1, ("1002-0 feed-b", broken))
    reports = recompute_cities(["alpha", "beta"], store, M, lambda: 2000)
    assert [r.status for r in reports] == ["changed", "changed"]
    alpha = next(c for c in store.commits if c.city_id == "alpha")
    assert [event_id for event_id, _ in alpha.dead] == [bad_id]
    assert "2025-06-29t00:00:00z" in alpha.dead[0][1]
    assert alpha.consumed == 3  # the bad entry leaves the inbox with the others
    assert dict(alpha.feeds) == {"admin": 1, "feed-a": 1, "feed-b": 1}
    assert json.loads(alpha.state_json)["indicators"][CODE]["value"] == 5.0
    assert reports[0].dead == 1 and reports[0].applied == 2 and reports[1].dead == 0


def test_a_body_that_is_not_even_json_is_dead_lettered_without_an_id() -> None:
    store = _store()
    store.inboxes["beta"].append(("1003-0 feed-a", "{not json"))
    reports = recompute_cities(["beta"], store, M, lambda: 2000)
    assert reports[0].status == "changed" and reports[0].dead == 1
    assert store.commits[0].dead[0][0] == ""


def test_conflicts_are_retried_and_counted() -> None:
    store = _store()
    store.conflicts["alpha"] = 2
    reports = recompute_cities(["alpha"], store, M, lambda: 2000)
    assert reports[0].status == "changed" and reports[0].conflicts == 2
    assert len(store.commits) == 1 and store.released == ["alpha"]


def test_a_city_that_keeps_conflicting_is_left_to_the_sweeper() -> None:
    store = _store()
    store.conflicts["alpha"] = 1_000
    reports = recompute_cities(["alpha", "beta"], store, M, lambda: 2000)
    assert [r.status for r in reports] == ["conflict", "changed"]
    assert [c.city_id for c in store.commits] == ["beta"]


def test_a_city_whose_scoring_raises_fails_alone() -> None:
    store = _store()
    store.inboxes["alpha"] = [("1000-0 admin", "x")]  # read back as the state itself: broken
    work = store.read_many

    def broken_state(cities: Sequence[str], max_items: int) -> list[CityWork]:
        out = work(cities, max_items)
        return [CityWork(w.city_id, w.rev, "{broken" if w.city_id == "alpha" else None,
                         None, w.items, w.index_date, w.methodology) for w in out]

    store.read_many = broken_state  # type: ignore[method-assign]
    reports = recompute_cities(["alpha", "beta"], store, M, lambda: 2000)
    assert reports[0].status == "failed" and "JSONDecodeError" in (reports[0].error or "")
    assert reports[1].status == "changed"
    assert [c.city_id for c in store.commits] == ["beta"]

"""The accept handler against small in-memory fakes of the store, publisher and quota.

The Lua append itself (dedup, scope, identity, projects) is tested on a real Redis in
tests/integration; here: what the handler decides before and after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.commands.accept import Limits, Ports, Throttled, Unparsed, accept
from shared.contract.events import codec_for
from shared.domain.outcome import Outcome
from shared.domain.records import Feed
from shared.domain.state import CityState, apply_event
from tests.support.events import city, event, indicator
from tests.support.fakes import FakeCityStore, FakeLog, FakePublisher, FakeQuota, FakeStats, FakeWindows

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
ADMIN = Feed("admin", None, 0.0)
SEOUL = Feed("seoul-feed", frozenset({"seoul"}), 0.0)
CODE = "infra.gpu_pflops"
CODEC = codec_for("2025.1")


@pytest.fixture
def ports() -> Ports:
    """Ports of the accept handler with fakes of the log, publisher and quota."""
    return Ports(codec_for("2025.1"), FakeLog(), FakePublisher(), FakeQuota(),
                 Limits(max_skew_seconds=300, backlog_limit=1000, feed_backlog_share=0.5))


def test_valid_events_are_stored_canonically_and_recomputes_queued(ports: Ports) -> None:
    e = indicator("seoul", CODE, 5, at="2025-06-29t00:00:00z")
    result = accept([e], SEOUL, ports, NOW)
    assert result.http_status == 202 and result.counts == {"accepted": 1, "duplicate": 0,
                                                           "rejected": 0}
    [(feed, admin, [(event, body)])] = ports.log.appended  # type: ignore[attr-defined]
    assert (feed, admin) == ("seoul-feed", False)
    assert '"occurred_at":"2025-06-29T00:00:00+00:00"' in body
    assert ports.publisher.sent == [["seoul"]]  # type: ignore[attr-defined]


def test_time_bounds_use_the_given_clock(ports: Ports) -> None:
    late = indicator("seoul", CODE, 5, at=(NOW + timedelta(seconds=301)).isoformat())
    edge = indicator("seoul", CODE, 6, at=(NOW + timedelta(seconds=300)).isoformat())
    result = accept([late, edge], SEOUL, ports, NOW)
    assert [r["status"] for r in result.results] == ["rejected", "accepted"]
    assert list(result.results[0]["errors"]) == ["occurred_at"]


def test_scope_is_checked_per_item_and_all_scope_refusals_give_403(ports: Ports) -> None:
    result = accept([indicator("busan", CODE, 5)], SEOUL, ports, NOW)
    assert result.http_status == 403
    assert "may not write city 'busan'" in result.results[0]["errors"]["city_id"][0]
    mixed = accept([indicator("busan", CODE, 5), {"type": "nope"}], SEOUL, ports, NOW)
    assert mixed.http_status == 422


@pytest.mark.parametrize(("code", "path", "words"), [
    (Outcome.ID_REUSED, ("event_id",), "another feed"),
    (Outcome.UNKNOWN_CITY, ("city_id",), "only an admin feed may create a city"),
    (Outcome.UNKNOWN_PROJECT, ("data", "project_id"), "never had project"),
    (Outcome.IDENTITY_CHANGE, ("data",), "name, country or region"),
    (Outcome.PROJECT_LIMIT, ("data", "project_id"), "limit of projects"),
])
def test_append_refusals_become_per_item_errors(ports: Ports, code: Outcome, path: tuple[str, ...],
                                                words: str) -> None:
    bad = indicator("seoul", CODE, 5)
    ports.log.codes[bad["event_id"]] = code  # type: ignore[attr-defined]
    result = accept([bad, indicator("seoul", CODE, 7)], SEOUL, ports, NOW)
    assert result.http_status == 202
    errors: Any = result.results[0]["errors"]
    for key in path:
        errors = errors[key]
    assert words in errors[0]
    assert result.results[0]["event_id"] == bad["event_id"]
    assert result.results[1]["status"] == "accepted"


def test_unparsed_items_are_rejected_in_place_and_the_rest_stored(ports: Ports) -> None:
    items = [indicator("seoul", CODE, 1), Unparsed({"_json": ["line 2: not valid JSON"]}),
             indicator("seoul", CODE, 2)]
    result = accept(items, SEOUL, ports, NOW)
    assert result.http_status == 202
    assert [r["status"] for r in result.results] == ["accepted", "rejected", "accepted"]
    assert result.results[1] == {"index": 1, "event_id": None, "status": "rejected",
                                 "errors": {"_json": ["line 2: not valid JSON"]}}


def test_a_feed_over_its_rate_is_throttled_and_nothing_is_stored(ports: Ports) -> None:
    ports.quota.wait = 2.2  # type: ignore[union-attr]
    with pytest.raises(Throttled) as caught:
        accept([indicator("seoul", CODE, 1)], SEOUL, ports, NOW)
    assert caught.value.retry_after == 3 and caught.value.scope == "feed"
    assert ports.log.appended == []  # type: ignore[attr-defined]


def test_a_feed_over_its_backlog_share_is_throttled_others_are_not(ports: Ports) -> None:
    ports.log.backlogs["seoul-feed"] = 501  # type: ignore[attr-defined]
    with pytest.raises(Throttled, match="share of the backlog"):
        accept([indicator("seoul", CODE, 1)], SEOUL, ports, NOW)
    other = Feed("busan-feed", frozenset({"busan"}), 0.0)
    assert accept([indicator("busan", CODE, 1)], other, ports, NOW).http_status == 202


def test_the_global_backlog_bound_throttles_everyone(ports: Ports) -> None:
    ports.log.total_backlog = 1001  # type: ignore[attr-defined]
    with pytest.raises(Throttled) as caught:
        accept([city("seoul")], ADMIN, ports, NOW)
    assert caught.value.scope == "global"


def test_admin_feeds_are_not_rate_limited(ports: Ports) -> None:
    ports.quota.wait = 5.0  # type: ignore[union-attr]
    ports.log.backlogs["admin"] = 10_000  # type: ignore[attr-defined]
    assert accept([indicator("seoul", CODE, 1)], ADMIN, ports, NOW).http_status == 202
    assert ports.quota.taken == []  # type: ignore[union-attr]


def test_a_broker_failure_after_the_append_still_answers_202(ports: Ports) -> None:
    ports.publisher.broken = True  # type: ignore[attr-defined]
    result = accept([indicator("seoul", CODE, 1)], SEOUL, ports, NOW)
    assert result.http_status == 202 and result.publish_failed


def test_every_item_is_paid_for_before_it_is_validated(ports: Ports) -> None:
    # Invalid items cost what valid ones cost: validating them is the expensive part.
    result = accept([{"event_id": "x"}, {"type": "nope"}], SEOUL, ports, NOW)
    assert result.http_status == 422 and ports.log.appended == []  # type: ignore[attr-defined]
    assert ports.quota.taken == [("seoul-feed", 2)]  # type: ignore[union-attr]
    ports.quota.wait = 5.0  # type: ignore[union-attr]
    with pytest.raises(Throttled):  # over budget: refused before any item is looked at
        accept([{"event_id": "x"}], SEOUL, ports, NOW)


def test_items_the_caller_already_charged_are_not_charged_again(ports: Ports) -> None:
    batch = [indicator("seoul", CODE, k) for k in range(3)]
    accept(batch, SEOUL, ports, NOW, paid=3)
    accept(batch, SEOUL, ports, NOW, paid=1)
    assert ports.quota.taken == [("seoul-feed", 2)]  # type: ignore[union-attr]


def test_a_dry_run_answers_200_stores_nothing_and_queues_nothing(ports: Ports) -> None:
    e = indicator("seoul", CODE, 5)
    result = accept([e, dict(e), indicator("busan", CODE, 5)], SEOUL, ports, NOW, dry_run=True)
    assert result.http_status == 200 and result.dry_run
    assert [r["status"] for r in result.results] == ["accepted", "duplicate", "rejected"]
    assert [ev.event_id for ev, _ in result.accepted] == [e["event_id"]]
    assert ports.log.appended == [] and ports.publisher.sent == []  # type: ignore[attr-defined]
    real = accept([e], SEOUL, ports, NOW)  # the id stays usable
    assert real.http_status == 202 and real.counts["accepted"] == 1


def test_outcomes_are_counted_for_the_feed_report_but_not_in_a_dry_run(ports: Ports) -> None:
    ports.stats = stats = FakeStats()
    e = indicator("seoul", CODE, 5)
    batch = [e, dict(e), indicator("busan", CODE, 5), {"type": "nope"}]
    accept(batch, SEOUL, ports, NOW, dry_run=True)
    assert stats.recorded == []
    accept(batch, SEOUL, ports, NOW)
    [(feed, counts, rejections)] = stats.recorded
    assert feed == "seoul-feed"
    assert counts == {"accepted": 1, "duplicate": 1, "rejected_scope": 1,
                      "rejected_validation": 1}
    assert [(r["index"], r["type"]) for r in rejections] == [(2, "indicator.observed"),
                                                              (3, "nope")]


def _state(city_id: str, *events: dict[str, Any]) -> CityState:
    state = CityState(city_id)
    for raw in events:
        apply_event(state, CODEC.load(raw))
    return state


def test_a_scoped_feeds_implausible_jump_is_held_an_admins_is_not(ports: Ports) -> None:
    ports.cities = FakeCityStore(rev="1", states={
        "seoul": _state("seoul", indicator("seoul", CODE, 25_000.0))})
    ports.review = windows = FakeWindows()  # ~94 points (log scale) approved
    near = indicator("seoul", CODE, 20_000)  # ~92 points: accepted
    far = indicator("seoul", CODE, 1)  # ~6 points: an 87-point jump, over 40
    new = indicator("seoul", "talent.ai_graduates", 1)  # no current value: nothing to compare
    result = accept([near, far, new], SEOUL, ports, NOW)
    assert [r["status"] for r in result.results] == ["accepted", "held", "accepted"]
    assert result.http_status == 202 and result.held == 1
    assert result.outcomes[1] == ("indicator.observed", "held")
    [entry] = ports.log.held  # type: ignore[attr-defined]
    assert '"current":25000.0' in entry and '"proposed":1.0' in entry
    admin = accept([indicator("seoul", CODE, 2)], ADMIN, ports, NOW)
    assert admin.results[0]["status"] == "accepted"
    assert windows.locks == {}  # the scoped batch's lock was released after its append
    windows.locks["seoul"] = "another ingest"
    with pytest.raises(Throttled, match="being reviewed"):
        accept([indicator("seoul", CODE, 20_001)], SEOUL, ports, NOW)
    assert accept([indicator("seoul", CODE, 3)], ADMIN, ports, NOW).counts["accepted"] == 1


def _project(city_id: str, n: int) -> dict[str, Any]:
    return event("project.upserted", city_id, {
        "project_id": f"p-{n}", "name": "Pilot", "organization": "City", "sector": "health",
        "owner": "public", "stage": "deployed", "started_at": "2024-01-01",
        "deployed_at": "2024-06-01"})


@dataclass
class PricedQuota(FakeQuota):
    """A quota with `left` units: a take that does not fit waits a second."""

    left: float = 0.0

    def take(self, feed: str, events: int, now_ms: int) -> float:
        self.taken.append((feed, events))
        if events > self.left:
            return 1.0
        self.left -= events
        return 0.0


def test_dry_runs_and_judged_batches_pay_for_their_cities_state_before_reading_it(
        ports: Ports) -> None:
    big = _state("seoul", city("seoul"), *(_project("seoul", n) for n in range(400)))
    ports.cities = cities = FakeCityStore(rev="1", states={"seoul": big})
    ports.review = FakeWindows()
    ports.quota = quota = PricedQuota(left=1_000)
    e = indicator("seoul", CODE, 5)
    assert accept([e], SEOUL, ports, NOW, dry_run=True).http_status == 200
    assert quota.taken == [("seoul-feed", 1), ("seoul-feed", 200)]  # 400 records x 0.5
    assert accept([indicator("seoul", CODE, 6)], SEOUL, ports, NOW).http_status == 202
    assert quota.taken[2:] == [("seoul-feed", 1), ("seoul-feed", 200)]  # the gate reads it
    reads = cities.reads
    quota.left = 100  # enough for the items, not for the state: refused before reading it
    with pytest.raises(Throttled, match="400 records"):
        accept([indicator("seoul", CODE, 7)], SEOUL, ports, NOW, dry_run=True)
    assert cities.reads == reads
    assert accept([city("seoul")], SEOUL, ports, NOW).http_status == 202  # nothing judged
    assert accept([indicator("seoul", CODE, 8)], ADMIN, ports, NOW).http_status == 202

"""Webhook handlers, pure parts: the signature, filters, drivers and backoff; each attempt's
deadline, answer cap and redirect rule; one delivery task's budget, lock and hook checks
(a fake store, a fake post and a fake clock: no sockets)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from shared.commands.hooks import (
    MAX_ATTEMPTS,
    Deadline,
    DeadlineExceeded,
    DeliveryLimits,
    Reply,
    ResponseTooLarge,
    backoff_ms,
    deliver,
    event_of,
    matches,
    outcome_of,
    pillar_changes,
    read_capped,
    sign,
)
from shared.domain.records import ChangeMessage, Hook
from tests.support.fakes import FakeClock, FakeHooks

VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks test vector


def test_signature_reproduces_the_published_vector() -> None:
    assert (sign(VECTOR_SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                 '{"test": 2432232314}') == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")


def _hook(on: str, cities: list[str] | None = None, min_move: float = 0) -> Hook:
    return Hook("hk_1", "http://x", on, cities, min_move, VECTOR_SECRET)


def _data(rank: tuple[int | None, int | None], score: tuple[float | None, float],
          city: str = "alpha") -> dict[str, object]:
    return {"city_id": city, "rank_before": rank[0], "rank_after": rank[1],
            "score_before": score[0], "score_after": score[1]}


def test_filters() -> None:
    assert matches(_hook("rank_change"), _data((3, 1), (50, 60)))
    assert not matches(_hook("rank_change"), _data((2, 2), (50, 60)))
    assert matches(_hook("rank_change", min_move=2), _data((3, 1), (50, 60)))
    assert not matches(_hook("rank_change", min_move=3), _data((3, 1), (50, 60)))
    assert matches(_hook("rank_change", min_move=5), _data((None, 4), (None, 60)))  # newly ranked
    assert not matches(_hook("rank_change", ["beta"]), _data((3, 1), (50, 60)))
    assert matches(_hook("score_change", min_move=0.5), _data((2, 2), (50, 50.5)))
    assert not matches(_hook("score_change", min_move=0.6), _data((2, 2), (50, 50.5)))
    assert not matches(_hook("held"), _data((3, 1), (50, 60)))
    disabled = Hook("hk_1", "http://x", "rank_change", None, 0, VECTOR_SECRET, enabled=False)
    assert not matches(disabled, _data((3, 1), (50, 60)))


def test_pillar_changes_are_the_largest_moves_first() -> None:
    before = {"pillars": {"a": 10.0, "b": 50.0, "c": 30.0, "d": 5.0, "e": 1.0}}
    after = {"pillars": {"a": 12.0, "b": 40.0, "c": 30.0, "d": 9.0, "e": 1.5}}
    assert [d["pillar"] for d in pillar_changes(before, after)] == ["b", "d", "a"]
    assert pillar_changes(None, after) == []


def test_a_rank_change_delivery_says_places_gained_and_keeps_its_old_names() -> None:
    before = {"score": 50.0, "pillars": {"a": 10.0, "b": 50.0}}
    change = {"city_id": "seoul", "ranking_version": 7, "score": 55.0, "rank": 2,
              "old_rank": 5, "rank_delta": -3, "t": 1234, "pillars": {"a": 12.0, "b": 40.0}}
    data = event_of(ChangeMessage.from_stored(change), before)
    assert (data["rank_before"], data["rank_after"], data["places_gained"]) == (5, 2, 3)
    assert [d["pillar"] for d in data["pillar_changes"]] == ["b", "a"]
    assert data["top_drivers"] == data["pillar_changes"]  # the deprecated alias, same value
    fell = event_of(ChangeMessage.from_stored({**change, "rank": 9}), before)
    assert fell["places_gained"] == -4
    assert event_of(ChangeMessage.from_stored({**change, "rank": None}),
                    before)["places_gained"] is None


def test_backoff_is_exponential_and_short() -> None:
    waits = [backoff_ms(a) for a in range(1, MAX_ATTEMPTS)]
    assert waits == [1000, 2000, 4000, 8000, 16000]
    assert sum(waits) < 60_000  # far below the broker's visibility timeout; never an ETA


# ------------------------------------------------------------------ one attempt's bounds

def trickle(clock: FakeClock, n: int, size: int = 1, every_ms: int = 1000) -> Iterator[bytes]:
    """An answer arriving `size` bytes every `every_ms`, n times (the clock moves with it)."""
    for _ in range(n):
        clock.ms += every_ms
        yield b"x" * size


def test_an_answer_within_the_cap_and_deadline_is_read_whole() -> None:
    clock = FakeClock()
    got = read_capped(trickle(clock, 4, size=1024, every_ms=10), 4096, Deadline(5, clock.seconds))
    assert got == 4096


def test_a_trickled_answer_stops_at_the_whole_request_deadline() -> None:
    """One byte a second never trips a per-read timeout; the whole-request deadline trips."""
    clock = FakeClock()
    chunks = trickle(clock, 3600)
    with pytest.raises(DeadlineExceeded, match="within 5 s"):
        read_capped(chunks, 4096, Deadline(5, clock.seconds))
    assert len(list(chunks)) == 3600 - 5  # stopped after the deadline's worth, not the hour


def test_a_huge_answer_is_not_read_past_the_cap() -> None:
    clock = FakeClock()
    read: list[int] = []

    def huge() -> Iterator[bytes]:
        for _ in range(300 * 1024):  # 300 MB in 1 KB chunks
            read.append(1)
            yield b"x" * 1024

    with pytest.raises(ResponseTooLarge, match="4096-byte cap"):
        read_capped(huge(), 4096, Deadline(5, clock.seconds))
    assert len(read) == 5  # 5 KB read of 300 MB
    with pytest.raises(ResponseTooLarge, match="314572800 bytes"):
        read_capped(huge(), 4096, Deadline(5, clock.seconds), declared="314572800")
    assert len(read) == 5  # a declared length over the cap: nothing read at all
    assert read_capped(iter([b"ok"]), 4096, Deadline(5, clock.seconds), declared="2") == 2


def test_the_deadline_counts_from_its_start() -> None:
    clock = FakeClock()
    deadline = Deadline(5, clock.seconds)
    clock.ms += 3000
    assert deadline.remaining() == pytest.approx(2.0)
    deadline.check()
    clock.ms += 2000
    assert deadline.remaining() == 0.0
    with pytest.raises(DeadlineExceeded):
        deadline.check()


@pytest.mark.parametrize(("status", "attempt", "outcome"), [
    (200, 1, "sent"), (204, 6, "sent"), (410, 1, "disabled"),
    (301, 1, "failed"), (302, 1, "failed"), (307, 1, "failed"), (308, 1, "failed"),
    (400, 1, "failed"), (404, 1, "failed"),
    (None, 1, "retry"), (500, 1, "retry"), (503, 5, "retry"), (429, 2, "retry"),
    (None, MAX_ATTEMPTS, "failed"), (500, MAX_ATTEMPTS, "failed"),
])
def test_what_an_answer_means(status: int | None, attempt: int, outcome: str) -> None:
    assert outcome_of(status, attempt) == outcome


# ------------------------------------------------------------------ one delivery task

HOOK = Hook("hk_1", "http://receiver/hook", "rank_change", None, 0, VECTOR_SECRET)
LIMITS = DeliveryLimits(attempt_deadline_ms=5000, task_budget_ms=10_000)


def hanging(clock: FakeClock, calls: list[float]) -> Any:
    """A post to a receiver that never answers: it uses its whole deadline, then raises."""
    def post(url: str, headers: dict[str, str], body: str, deadline_s: float) -> Reply:
        calls.append(deadline_s)
        clock.ms += int(deadline_s * 1000)
        raise DeadlineExceeded(f"no complete answer within {deadline_s:g} s")
    return post


def test_a_hanging_receiver_costs_one_task_its_budget_and_nothing_more() -> None:
    clock, calls = FakeClock(), []
    store = FakeHooks(HOOK, items=10)
    start = clock.ms
    report = deliver(store, HOOK.id, hanging(clock, calls), clock.now_ms, LIMITS)
    assert calls == [5.0, 5.0]  # two attempts of 5 s fit the 10 s budget; a third would not
    assert clock.ms - start <= LIMITS.task_budget_ms
    assert [a.outcome for a in report.attempts] == ["retry", "retry"]
    assert report.more and not report.busy  # 8 left: the task queues itself again
    assert [e["error"] for e in store.log] == ["DeadlineExceeded: no complete answer within 5 s"] * 2
    # each retried 1 s after its attempt ended (backoff), never held by the task
    assert [(i["id"], i["attempt"], due - start) for i, due in store.retries] == [
        ("msg_0", 1, 6000), ("msg_1", 1, 11_000)]
    assert store.lock_token is None  # released


def test_a_budget_shorter_than_a_deadline_still_makes_one_attempt() -> None:
    clock, calls = FakeClock(), []
    store = FakeHooks(HOOK, items=3)
    report = deliver(store, HOOK.id, hanging(clock, calls), clock.now_ms,
                     DeliveryLimits(attempt_deadline_ms=5000, task_budget_ms=1000))
    assert len(calls) == 1 and report.more


def test_good_receivers_are_sent_many_per_task() -> None:
    clock = FakeClock()
    store = FakeHooks(HOOK, items=150)
    sent: list[dict[str, str]] = []

    def post(url: str, headers: dict[str, str], body: str, deadline_s: float) -> Reply:
        sent.append(headers)
        clock.ms += 5
        return Reply(204)

    report = deliver(store, HOOK.id, post, clock.now_ms, LIMITS)
    assert len(sent) == LIMITS.max_attempts and report.more
    assert {a.outcome for a in report.attempts} == {"sent"}
    assert all(h["webhook-signature"].startswith("v1,") for h in sent)


def test_a_redirect_is_not_followed_and_is_final() -> None:
    clock = FakeClock()
    store = FakeHooks(HOOK, items=1)
    urls: list[str] = []

    def post(url: str, headers: dict[str, str], body: str, deadline_s: float) -> Reply:
        urls.append(url)
        return Reply(302, "http://elsewhere/")

    report = deliver(store, HOOK.id, post, clock.now_ms, LIMITS)
    assert urls == [HOOK.url]
    assert [a.outcome for a in report.attempts] == ["failed"] and store.retries == []
    assert store.log[0]["status"] == 302
    assert store.log[0]["error"] == "redirect to http://elsewhere/ not followed"


def test_an_answer_over_the_cap_is_retried_with_its_error() -> None:
    clock = FakeClock()
    store = FakeHooks(HOOK, items=1)

    def post(url: str, headers: dict[str, str], body: str, deadline_s: float) -> Reply:
        raise ResponseTooLarge("answer over the 4096-byte cap: not read further")

    report = deliver(store, HOOK.id, post, clock.now_ms, LIMITS)
    assert [a.outcome for a in report.attempts] == ["retry"] and len(store.retries) == 1
    assert store.log[0]["error"].startswith("ResponseTooLarge: answer over the 4096-byte cap")


def test_one_task_per_hook_at_a_time() -> None:
    clock = FakeClock()
    store = FakeHooks(HOOK, items=5)
    store.lock_token = "someone else"
    report = deliver(store, HOOK.id, hanging(clock, []), clock.now_ms, LIMITS)
    assert report.busy and report.attempts == [] and len(store.queue) == 5
    assert store.lock_token == "someone else"  # not ours to release


def test_deleting_the_hook_during_an_attempt_stops_it_and_records_nothing() -> None:
    clock = FakeClock()
    store = FakeHooks(HOOK, items=5)
    calls: list[str] = []

    def post(url: str, headers: dict[str, str], body: str, deadline_s: float) -> Reply:
        calls.append(url)
        store.delete(HOOK.id)  # the operator runs `aicity hooks delete` meanwhile
        clock.ms += 5000
        raise DeadlineExceeded("no complete answer within 5 s")

    report = deliver(store, HOOK.id, post, clock.now_ms, LIMITS)
    assert len(calls) == 1 and [a.outcome for a in report.attempts] == ["abandoned"]
    assert store.log == [] and store.retries == [] and not report.more


def test_a_deleted_or_disabled_hook_gets_no_attempt() -> None:
    clock = FakeClock()
    for hook in (replace(HOOK, enabled=False), None):
        store = FakeHooks(HOOK, items=3)
        if hook is None:
            store.hooks.clear()
        else:
            store.hooks[HOOK.id] = hook
        calls: list[float] = []
        report = deliver(store, HOOK.id, hanging(clock, calls), clock.now_ms, LIMITS)
        assert calls == [] and report.attempts == [] and not report.more


def test_a_410_disables_the_hook_and_stops() -> None:
    clock = FakeClock()
    store = FakeHooks(HOOK, items=3)
    report = deliver(store, HOOK.id, lambda *a: Reply(410), clock.now_ms, LIMITS)
    assert [a.outcome for a in report.attempts] == ["disabled"]
    assert not store.hooks[HOOK.id].enabled and not report.more


def test_hook_tasks_are_routed_to_their_own_queue() -> None:
    from shared.platform.messaging import HOOK_TASKS, HOOKS_QUEUE, QUEUE, RECOMPUTE_CITIES, make_celery
    from shared.platform.settings import Settings

    app = make_celery(Settings())
    route = app.amqp.router.route
    assert {route({}, name)["queue"].name for name in HOOK_TASKS} == {HOOKS_QUEUE}
    assert route({}, RECOMPUTE_CITIES)["queue"].name == QUEUE != HOOKS_QUEUE
    sweep = app.conf.beat_schedule["sweep-hooks"]
    assert sweep["options"]["expires"] > 0  # no hooks worker: stale sweeps are dropped

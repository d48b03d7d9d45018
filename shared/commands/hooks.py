"""Webhooks: match ranking changes to hooks, sign and send deliveries (Standard Webhooks).

The dispatcher reads the change stream from a stored cursor, so the recompute path only
sets a flag; HTTP happens in delivery tasks on the hooks worker's own queue (services/hooks),
one task per hook at a time (a lock in the store), each within a time budget, each attempt
within a whole-request deadline and a response-size cap. The HTTP itself is the service's
`post`; everything here is testable with a fake one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from shared.commands.ports import ChangeFeed, HookRecords
from shared.domain.records import ChangeMessage, Hook
from shared.domain.scoring.explain import rank_change

MAX_ATTEMPTS = 6  # first try + 5 retries, backoff 1, 2, 4, 8, 16 s (all far below visibility)
TOP_PILLAR_CHANGES = 3  # pillar_changes on a webhook: the pillars that moved most


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """Return the Standard Webhooks signature header value of one delivery."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def backoff_ms(attempt: int) -> int:
    """Return the wait before attempt number `attempt + 1` (exponential, 1 s first)."""
    return int(1000 * 2 ** max(attempt - 1, 0))


def pillar_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the pillars whose scores moved most (raw pillar deltas, not the Shapley
    drivers of the stream and explain), largest absolute move first."""
    old = (before or {}).get("pillars") or {}
    moved = []
    for pillar, score in (after.get("pillars") or {}).items():
        prev = old.get(pillar)
        if score is None or prev is None:
            continue
        if score != prev:
            moved.append({"pillar": pillar, "before": prev, "after": score,
                          "delta": round(score - prev, 6)})
    moved.sort(key=lambda d: (-abs(d["delta"]), d["pillar"]))
    return moved[:TOP_PILLAR_CHANGES]


def event_of(change: ChangeMessage, before: dict[str, Any] | None) -> dict[str, Any]:
    """Return the delivery data of one ranking change (before: the previous history entry)."""
    moved = pillar_changes(before, {"pillars": change.pillars})
    return {
        "city_id": change.city_id,
        "ranking_version": change.ranking_version,
        "score_before": None if before is None else before.get("score"),
        "score_after": change.score,
        **rank_change(change.old_rank, change.rank),
        "pillar_changes": moved,
        "top_drivers": moved,  # deprecated alias of pillar_changes for one release
        "committed_ms": change.committed_ms,
    }


def matches(hook: Hook, data: dict[str, Any]) -> bool:
    """Tell whether a hook wants this change (type, cities, minimum move)."""
    if not hook.enabled or (hook.cities is not None and data["city_id"] not in hook.cities):
        return False
    if hook.on == "rank_change":
        old, new = data["rank_before"], data["rank_after"]
        if old == new:
            return False
        return old is None or new is None or abs(old - new) >= hook.min_move
    if hook.on == "score_change":
        old, new = data["score_before"], data["score_after"]
        if old == new:
            return False
        return old is None or new is None or abs(new - old) >= hook.min_move
    return False  # "failed" comes from dead letters at commit, "held" from review


def _queue(store: HookRecords, kind: str, city: str, events: list[tuple[str, dict[str, Any]]]
           ) -> list[str]:
    """Queue a `kind` delivery per (event id, data) to the matching hooks; return those hooks."""
    hooks = [h for h in store.all() if h.enabled and h.on == kind
             and (h.cities is None or city in h.cities)]
    items = [(h.id, {"hook": h.id, "id": f"msg_{kind}_{event_id}_{h.id}", "type": kind,
                     "attempt": 0, "data": {"city_id": city, "event_id": event_id, **data}})
             for h in hooks for event_id, data in events]
    store.push(items)
    return store.idle([h.id for h in hooks]) if items else []


def dead_lettered(store: HookRecords, city: str, dead: list[tuple[str, str]], at_ms: int
                  ) -> list[str]:
    """Queue a `failed` delivery per dead-lettered event to the matching hooks; return them."""
    return _queue(store, "failed", city, [
        (event_id or str(at_ms), {"reason": reason, "failed_ms": at_ms}) for event_id, reason in dead])


def held(store: HookRecords, entries: list[dict[str, Any]]) -> list[str]:
    """Queue a `held` delivery per event held for review (current -> proposed); return hooks."""
    hooks: list[str] = []
    for entry in entries:
        data = {k: entry[k] for k in ("feed", "indicator", "current", "proposed",
                                       "current_points", "proposed_points", "occurred_at",
                                       "held_ms")}
        for hook in _queue(store, "held", entry["city_id"], [(entry["event_id"], data)]):
            if hook not in hooks:
                hooks.append(hook)
    return hooks


@dataclass
class DispatchReport:
    changes: int
    deliveries: int
    hooks: list[str]  # hooks that got work and have no task delivering them


def dispatch(store: HookRecords, reader: ChangeFeed, batch: int = 500) -> DispatchReport:
    """Turn the changes after the cursor into deliveries on the matching hooks' queues."""
    store.release_dispatch()
    hooks = [h for h in store.all() if h.enabled]
    changes = deliveries = 0
    touched: list[str] = []
    while True:
        cursor = store.cursor()
        rows = reader.changes_between(cursor, None, batch)
        if not rows:
            break
        items: list[tuple[str, dict[str, Any]]] = []
        for sid, raw in rows:
            change = ChangeMessage.from_stored(json.loads(raw))
            data: dict[str, Any] | None = None
            for hook in hooks:
                if hook.cities is not None and change.city_id not in hook.cities:
                    continue
                if data is None:
                    data = event_of(change, store.history_before(
                        change.city_id, change.ranking_version))
                if matches(hook, data):
                    items.append((hook.id, {"hook": hook.id, "id": f"msg_{sid}_{hook.id}",
                                            "type": hook.on, "data": data, "attempt": 0}))
        got = store.enqueue(cursor, rows[-1][0], items)
        if got is None:  # another dispatcher moved the cursor: it handles these
            break
        changes += len(rows)
        deliveries += len(items)
        touched += [h for h in got if h not in touched]
        if len(rows) < batch:
            break
    # A hook being delivered right now needs no task: its holder looks at the queue again
    # after releasing the lock (and this looks at the lock after queueing), so it is found.
    return DispatchReport(changes, deliveries, store.idle(touched))


class DeadlineExceeded(Exception):
    """The receiver did not answer completely (connect, headers and body) within the deadline."""


class ResponseTooLarge(Exception):
    """The receiver's answer was longer than the response cap (not read further)."""


@dataclass(frozen=True)
class Reply:
    status: int
    location: str = ""  # a 3xx answer's Location: reported, never followed


# (url, headers, body, deadline in seconds) -> the receiver's reply; raises on connection
# errors, a missed deadline (DeadlineExceeded) and an answer over the cap (ResponseTooLarge)
Post = Callable[[str, dict[str, str], str, float], Reply]


@dataclass(frozen=True)
class DeliveryLimits:
    attempt_deadline_ms: int = 5000  # one attempt, whole request: connect + headers + body
    task_budget_ms: int = 10_000  # one delivery task, then it re-queues itself
    max_attempts: int = 100  # one task's attempts at most, whatever the budget

    def lock_ttl_ms(self) -> int:
        """Return how long a task's hook lock lives: its budget and one attempt, with slack
        (a killed worker's lock expires; a live one never outlasts it)."""
        return self.task_budget_ms + self.attempt_deadline_ms + 5000


class Deadline:
    """A whole-request deadline on an injected clock (seconds, monotonic)."""

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self.seconds = seconds
        self.clock = clock
        self.at = clock() + seconds

    def remaining(self) -> float:
        """Return the seconds left (0 once passed)."""
        return max(0.0, self.at - self.clock())

    def check(self) -> None:
        """Raise DeadlineExceeded once the deadline has passed."""
        if self.clock() >= self.at:
            raise DeadlineExceeded(f"no complete answer within {self.seconds:g} s")


def read_capped(chunks: Iterable[bytes], cap: int, deadline: Deadline,
                declared: str | None = None) -> int:
    """Consume a streamed answer of at most `cap` bytes before the deadline; return its size.

    `declared` is the Content-Length header: an answer announcing more than the cap is
    refused before reading anything. Raises ResponseTooLarge or DeadlineExceeded.
    """
    if declared is not None and declared.strip().isdigit() and int(declared) > cap:
        raise ResponseTooLarge(f"answer of {int(declared)} bytes over the {cap}-byte cap")
    size = 0
    for chunk in chunks:
        deadline.check()
        size += len(chunk)
        if size > cap:
            raise ResponseTooLarge(f"answer over the {cap}-byte cap: not read further")
    deadline.check()
    return size


def outcome_of(status: int | None, attempt: int) -> str:
    """Return what an attempt's answer means: sent, retry, failed or disabled.

    No answer (timeout, connection error, missed deadline, answer over the cap), a 429 or a
    5xx is retried until MAX_ATTEMPTS; a 410 disables the hook; a redirect is never followed
    and, like any other answer, is final.
    """
    if status is not None and 200 <= status < 300:
        return "sent"
    if status == 410:
        return "disabled"
    if (status is None or status >= 500 or status == 429) and attempt < MAX_ATTEMPTS:
        return "retry"
    return "failed"


@dataclass
class Attempt:
    outcome: str  # "sent", "retry", "failed", "disabled" or "abandoned" (hook deleted meanwhile)
    status: int | None
    latency_ms: int | None  # commit to receiver's answer, for the first attempt's metric
    duration_ms: int = 0  # the attempt itself


@dataclass
class DeliverReport:
    attempts: list[Attempt]
    busy: bool = False  # another task holds the hook: this one did nothing
    more: bool = False  # deliveries still queued (budget spent): queue the task again


class DeliveryStore(Protocol):
    """What delivering needs from the hook store (HookRecords, or a fake in unit tests)."""

    def get(self, hook_id: str) -> Hook | None: ...
    def pop(self, hook_id: str) -> dict[str, Any] | None: ...
    def record(self, hook_id: str, entry: dict[str, Any]) -> None: ...
    def schedule_retry(self, item: dict[str, Any], due_ms: int) -> None: ...
    def disable(self, hook_id: str, reason: str) -> None: ...
    def lock(self, hook_id: str, ttl_ms: int) -> str | None: ...
    def unlock(self, hook_id: str, token: str) -> None: ...
    def queued(self, hook_id: str) -> int: ...


def _live(store: DeliveryStore, hook_id: str) -> Hook | None:
    hook = store.get(hook_id)
    return hook if hook is not None and hook.enabled else None


def deliver(store: DeliveryStore, hook_id: str, post: Post, now_ms: Callable[[], int],
            limits: DeliveryLimits = DeliveryLimits()) -> DeliverReport:
    """Send a hook's queued deliveries within the task budget, one task per hook at a time.

    The hook is re-read before the first attempt and after every attempt (which is before
    the next one): once deleted or disabled, nothing more is sent, and an answer that
    arrives after a deletion is neither logged nor retried.
    """
    token = store.lock(hook_id, limits.lock_ttl_ms())
    if token is None:
        return DeliverReport([], busy=True)
    out: list[Attempt] = []
    try:
        started = now_ms()
        hook = _live(store, hook_id)
        while hook is not None and len(out) < limits.max_attempts:
            if out and now_ms() - started + limits.attempt_deadline_ms > limits.task_budget_ms:
                break  # another attempt could overrun the budget: the next task sends it
            item = store.pop(hook_id)
            if item is None:
                break
            attempt, hook = _attempt(store, hook, item, post, now_ms, limits)
            out.append(attempt)
    finally:
        store.unlock(hook_id, token)
    # Checked after the unlock: work queued while this task held the lock is never stranded.
    return DeliverReport(out, more=_live(store, hook_id) is not None and store.queued(hook_id) > 0)


def _attempt(store: DeliveryStore, hook: Hook, item: dict[str, Any], post: Post,
             now_ms: Callable[[], int], limits: DeliveryLimits) -> tuple[Attempt, Hook | None]:
    """Send one delivery, then log it and schedule its retry unless the hook went away;
    return the attempt and the hook as it is now (None: deleted, disabled: stop)."""
    begun = now_ms()
    timestamp = begun // 1000
    body = json.dumps({"type": item["type"], "timestamp": timestamp, "data": item["data"]},
                      separators=(",", ":"))
    headers = {"content-type": "application/json", "webhook-id": item["id"],
               "webhook-timestamp": str(timestamp),
               "webhook-signature": sign(hook.secret, item["id"], timestamp, body)}
    status: int | None = None
    error = ""
    try:
        reply = post(hook.url, headers, body, limits.attempt_deadline_ms / 1000)
        status = reply.status
        if 300 <= status < 400:
            error = f"redirect to {reply.location or '(no Location)'} not followed"
    except Exception as exc:  # noqa: BLE001 - deadlines, caps and refused connections retry
        error = f"{type(exc).__name__}: {exc}"
    error = error[:200]
    done = now_ms()
    attempt = int(item["attempt"]) + 1
    current = _live(store, hook.id)
    if current is None:  # deleted or disabled while the attempt ran: drop it quietly
        return Attempt("abandoned", status, None, done - begun), None
    outcome = outcome_of(status, attempt)
    store.record(hook.id, {"id": item["id"], "type": item["type"],
                           "city_id": item["data"]["city_id"], "attempt": attempt,
                           "status": status, "error": error, "outcome": outcome,
                           "at_ms": done, "duration_ms": done - begun})
    committed = item["data"].get("committed_ms") or item["data"].get("failed_ms")
    first = attempt == 1 and committed
    if outcome == "retry":
        store.schedule_retry(item | {"attempt": attempt}, done + backoff_ms(attempt))
    elif outcome == "disabled":
        store.disable(hook.id, f"receiver answered 410 at {done}")
        current = None
    return Attempt(outcome, status, done - committed if first else None, done - begun), current


@dataclass
class SweepReport:
    deliver: list[str]  # hooks that need a delivery task (due retries, or work and no task)
    dispatch: bool  # a dispatch message is wanted (hooks exist and none is queued)


def sweep(store: HookRecords, now_ms: int) -> SweepReport:
    """Move due retries back to their queues; name the hooks to deliver; flag a dispatch."""
    hooks = store.idle(store.due_retries(now_ms))
    hooks += [h for h in store.waiting() if h not in hooks]
    return SweepReport(hooks, store.want_dispatch())

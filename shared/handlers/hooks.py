"""Webhooks: match ranking changes to hooks, sign and send deliveries (Standard Webhooks).

The dispatcher reads the change stream from a stored cursor, so the recompute path only
sets a flag; HTTP happens in separate delivery tasks, one hook at a time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.store.hooks import Hook, HookStore
from shared.store.ranking import RankingReader

MAX_ATTEMPTS = 6  # first try + 5 retries, backoff 1, 2, 4, 8, 16 s (all far below visibility)
TOP_DRIVERS = 3


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """Return the Standard Webhooks signature header value of one delivery."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def backoff_ms(attempt: int) -> int:
    """Return the wait before attempt number `attempt + 1` (exponential, 1 s first)."""
    return int(1000 * 2 ** max(attempt - 1, 0))


def drivers(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the pillars that moved most, largest absolute move first."""
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
    return moved[:TOP_DRIVERS]


def event_of(change: dict[str, Any], before: dict[str, Any] | None) -> dict[str, Any]:
    """Return the delivery data of one ranking change (before: the previous history entry)."""
    return {
        "city_id": change["city_id"],
        "ranking_version": change["ranking_version"],
        "score_before": None if before is None else before.get("score"),
        "score_after": change.get("score"),
        "rank_before": change.get("old_rank"),
        "rank_after": change.get("rank"),
        "top_drivers": drivers(before, change),
        "committed_ms": change.get("t"),
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


def _queue(store: HookStore, kind: str, city: str, events: list[tuple[str, dict[str, Any]]]
           ) -> list[str]:
    """Queue a `kind` delivery per (event id, data) to the matching hooks; return those hooks."""
    hooks = [h for h in store.all() if h.enabled and h.on == kind
             and (h.cities is None or city in h.cities)]
    items = [(h.id, {"hook": h.id, "id": f"msg_{kind}_{event_id}_{h.id}", "type": kind,
                     "attempt": 0, "data": {"city_id": city, "event_id": event_id, **data}})
             for h in hooks for event_id, data in events]
    store.push(items)
    return [h.id for h in hooks] if items else []


def dead_lettered(store: HookStore, city: str, dead: list[tuple[str, str]], at_ms: int
                  ) -> list[str]:
    """Queue a `failed` delivery per dead-lettered event to the matching hooks; return them."""
    return _queue(store, "failed", city, [
        (event_id or str(at_ms), {"reason": reason, "failed_ms": at_ms}) for event_id, reason in dead])


def held(store: HookStore, entries: list[dict[str, Any]]) -> list[str]:
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
    hooks: list[str]


def dispatch(store: HookStore, reader: RankingReader, batch: int = 500) -> DispatchReport:
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
            change = json.loads(raw)
            data: dict[str, Any] | None = None
            for hook in hooks:
                if hook.cities is not None and change["city_id"] not in hook.cities:
                    continue
                if data is None:
                    data = event_of(change, store.history_before(
                        change["city_id"], change["ranking_version"]))
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
    return DispatchReport(changes, deliveries, touched)


@dataclass
class Attempt:
    outcome: str  # "sent", "retry", "failed" or "disabled"
    status: int | None
    latency_ms: int | None  # commit to receiver's answer, for the first attempt's metric


# (url, headers, body) -> HTTP status; raises on timeouts and connection errors
Post = Callable[[str, dict[str, str], str], int]


def deliver(store: HookStore, hook_id: str, post: Post, now_ms: Callable[[], int],
            limit: int = 100) -> list[Attempt]:
    """Send up to `limit` queued deliveries of one hook; schedule retries, disable on 410."""
    out: list[Attempt] = []
    hook = store.get(hook_id)
    if hook is None or not hook.enabled:
        return out
    for _ in range(limit):
        item = store.pop(hook_id)
        if item is None:
            break
        timestamp = now_ms() // 1000
        body = json.dumps({"type": item["type"], "timestamp": timestamp, "data": item["data"]},
                          separators=(",", ":"))
        headers = {"content-type": "application/json", "webhook-id": item["id"],
                   "webhook-timestamp": str(timestamp),
                   "webhook-signature": sign(hook.secret, item["id"], timestamp, body)}
        status: int | None = None
        error = ""
        try:
            status = post(hook.url, headers, body)
        except Exception as exc:  # noqa: BLE001 - timeouts and refused connections retry
            error = f"{type(exc).__name__}: {exc}"[:200]
        done = now_ms()
        attempt = int(item["attempt"]) + 1
        if status is not None and 200 <= status < 300:
            outcome = "sent"
        elif status == 410:
            outcome = "disabled"
        elif (status is None or status >= 500 or status == 429) and attempt < MAX_ATTEMPTS:
            outcome = "retry"
        else:
            outcome = "failed"
        store.record(hook_id, {"id": item["id"], "type": item["type"],
                               "city_id": item["data"]["city_id"], "attempt": attempt,
                               "status": status, "error": error, "outcome": outcome,
                               "at_ms": done})
        committed = item["data"].get("committed_ms") or item["data"].get("failed_ms")
        first = attempt == 1 and committed
        out.append(Attempt(outcome, status, done - committed if first else None))
        if outcome == "retry":
            store.schedule_retry(item | {"attempt": attempt}, done + backoff_ms(attempt))
        elif outcome == "disabled":
            store.disable(hook_id, f"receiver answered 410 at {done}")
            break
    return out

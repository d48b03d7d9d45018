"""Webhooks: subscriptions, the dispatcher's cursor on the change stream, per-hook queues,
scheduled retries and delivery logs.

The signing secret is stored as given (the worker must sign with it), unlike feed tokens.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from dataclasses import asdict
from typing import Any

from shared.contract.events import SLUG_RE
from shared.domain.records import Hook, public_entry
from shared.store import keys as K
from shared.store import lua
from shared.store.connection import Client
from shared.store.history import read_entries

HOOK_TYPES = ("rank_change", "score_change", "failed", "held")
QUEUE_MAX = 1000  # deliveries waiting per hook; past it the oldest is dropped (counted)
LOG_MAX = 200  # delivery attempts kept per hook


def new_secret() -> str:
    """Return a Standard Webhooks signing secret: 'whsec_' + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


class HookStore:
    """Create, list and delete hooks; queue, retry and log their deliveries."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._enqueue = lua.register(client, "hooks_enqueue")
        self._due = lua.register(client, "hooks_due")
        self._push = lua.register(client, "hooks_push")
        self._want = lua.register(client, "hooks_want_dispatch")
        self._unlock = lua.register(client, "unlock")

    def create(self, url: str, on: str, cities: list[str] | None, min_move: float) -> Hook:
        """Store a new hook and return it (with its secret, shown to the operator once)."""
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"hook url {url!r}: must be http:// or https://")
        if on not in HOOK_TYPES:
            raise ValueError(f"--on {on!r}: one of {', '.join(HOOK_TYPES)}")
        for city in cities or []:
            if not SLUG_RE.match(city):
                raise ValueError(f"city {city!r}: must be a lowercase slug")
        if min_move < 0:
            raise ValueError("--min-move must be >= 0")
        hook = Hook("hk_" + uuid.uuid4().hex[:16], url, on,
                    sorted(set(cities)) if cities else None, float(min_move), new_secret(),
                    created_at=time.time())
        # New hooks hear changes from now on, not the retained history.
        last = self.client.xrevrange(K.CHANGES, count=1)
        self.client.set(K.HOOKS_CURSOR, last[0][0] if last else "0-0", nx=True)
        self.client.hset(K.HOOKS, hook.id, json.dumps(asdict(hook)))
        return hook

    def get(self, hook_id: str) -> Hook | None:
        """Return a hook, or None."""
        raw = self.client.hget(K.HOOKS, hook_id)
        return None if raw is None else Hook(**json.loads(raw))

    def all(self) -> list[Hook]:
        """Return every hook, by id."""
        return [Hook(**json.loads(raw)) for _, raw in sorted(self.client.hgetall(K.HOOKS).items())]

    def delete(self, hook_id: str) -> bool:
        """Delete a hook with its queue, log and counters; return False if there was none."""
        pipe = self.client.pipeline(transaction=True)
        pipe.hdel(K.HOOKS, hook_id)
        pipe.delete(K.hook_queue(hook_id), K.hook_log(hook_id), K.hook_dropped(hook_id))
        return bool(pipe.execute()[0])

    def disable(self, hook_id: str, reason: str) -> None:
        """Mark a hook disabled (e.g. its receiver answered 410) and drop its queue."""
        hook = self.get(hook_id)
        if hook is None:
            return
        record = asdict(hook) | {"enabled": False, "disabled_reason": reason}
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(K.HOOKS, hook_id, json.dumps(record))
        pipe.delete(K.hook_queue(hook_id))
        pipe.execute()

    def want_dispatch(self, debounce_ms: int = 1000) -> bool:
        """Set the dispatch flag if hooks exist and none is queued; True: send one."""
        return bool(self._want(args=[debounce_ms]))

    def release_dispatch(self) -> None:
        """Clear the dispatch flag (first thing a dispatcher does, so no change is missed)."""
        self.client.delete(K.HOOKS_DISPATCH)

    def cursor(self) -> str:
        """Return the last change stream id the dispatcher handled."""
        return str(self.client.get(K.HOOKS_CURSOR) or "0-0")

    def enqueue(self, cursor: str, new_cursor: str, items: list[tuple[str, dict[str, Any]]]
                ) -> list[str] | None:
        """Queue deliveries and move the cursor atomically; None if the cursor moved."""
        args: list[Any] = [cursor, new_cursor, QUEUE_MAX]
        for hook_id, item in items:
            args += [hook_id, json.dumps(item, separators=(",", ":"))]
        touched = self._enqueue(args=args)
        return None if touched is None else list(touched)

    def push(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        """Queue deliveries on their hooks' bounded queues (dropping the oldest past it)."""
        if not items:
            return
        args: list[Any] = [QUEUE_MAX]
        for hook_id, item in items:
            args += [hook_id, json.dumps(item, separators=(",", ":"))]
        self._push(args=args)

    def pop(self, hook_id: str) -> dict[str, Any] | None:
        """Take the next delivery of a hook, or None."""
        raw = self.client.lpop(K.hook_queue(hook_id))
        return None if raw is None else dict(json.loads(raw))

    def schedule_retry(self, item: dict[str, Any], due_ms: int) -> None:
        """Keep a delivery for a later attempt (the sweeper moves it back when due)."""
        self.client.zadd(K.HOOKS_RETRY, {json.dumps(item, separators=(",", ":")): due_ms})

    def due_retries(self, now_ms: int) -> list[str]:
        """Move due retries back to their queues; return the hooks that got work."""
        return list(self._due(args=[now_ms]))

    def record(self, hook_id: str, entry: dict[str, Any]) -> None:
        """Append one delivery attempt to the hook's capped log."""
        pipe = self.client.pipeline(transaction=False)
        pipe.lpush(K.hook_log(hook_id), json.dumps(entry, separators=(",", ":")))
        pipe.ltrim(K.hook_log(hook_id), 0, LOG_MAX - 1)
        pipe.execute()

    def deliveries(self, hook_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """Return a hook's last delivery attempts, newest first."""
        return [json.loads(r) for r in self.client.lrange(K.hook_log(hook_id), 0, limit - 1)]

    def backlog(self, hook_id: str) -> tuple[int, int]:
        """Return (deliveries queued, deliveries dropped ever) of a hook."""
        pipe = self.client.pipeline(transaction=False)
        pipe.llen(K.hook_queue(hook_id))
        pipe.get(K.hook_dropped(hook_id))
        queued, dropped = pipe.execute()
        return int(queued), int(dropped or 0)

    def lock(self, hook_id: str, ttl_ms: int) -> str | None:
        """Take the hook's delivery lock for ttl_ms; return its token, or None if held."""
        token = secrets.token_hex(8)
        return token if self.client.set(K.hook_lock(hook_id), token, nx=True, px=ttl_ms) else None

    def unlock(self, hook_id: str, token: str) -> None:
        """Release the hook's delivery lock if `token` still holds it."""
        self._unlock(args=[token, K.hook_lock(hook_id)])

    def queued(self, hook_id: str) -> int:
        """Return how many deliveries wait on the hook's queue."""
        return int(self.client.llen(K.hook_queue(hook_id)))

    def idle(self, hook_ids: list[str]) -> list[str]:
        """Return those of the hooks that no task is delivering right now (no lock)."""
        if not hook_ids:
            return []
        pipe = self.client.pipeline(transaction=False)
        for hook_id in hook_ids:
            pipe.exists(K.hook_lock(hook_id))
        return [h for h, locked in zip(hook_ids, pipe.execute()) if not locked]

    def waiting(self) -> list[str]:
        """Return the hooks with deliveries queued and no task delivering them (no lock)."""
        ids = sorted(self.client.hkeys(K.HOOKS))
        pipe = self.client.pipeline(transaction=False)
        for hook_id in ids:
            pipe.llen(K.hook_queue(hook_id))
            pipe.exists(K.hook_lock(hook_id))
        got = pipe.execute()
        return [h for h, queued, locked in zip(ids, got[::2], got[1::2]) if queued and not locked]

    def history_before(self, city: str, ranking_version: int) -> dict[str, Any] | None:
        """Return the city's history entry committed just before ranking_version, if kept."""
        got = read_entries(self.client, city, upto=ranking_version - 1, limit=1)
        return public_entry(got[0]) if got else None

"""City state, recompute bookkeeping (dirty, pending, inbox) and the atomic commit."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from shared.contract.jsonfast import compact
from shared.domain.records import CityWork, Commit, CommitOutcome, InboxHead
from shared.store import keys as K
from shared.store import lua
from shared.store.connection import Client
from shared.store.feed_stats import BUCKET_TTL, HOUR_MS


def _score_text(score: float | None) -> str:
    """Return a score as the script stores it: its shortest exact text ('' for none)."""
    return "" if score is None else repr(score)


class CityStore:
    """Read a city's work and commit its recompute atomically."""

    def __init__(self, client: Client, pending_ttl: int = 10, history_max: int = 20_000,
                 changes_maxlen: int = 10_000) -> None:
        self.client = client
        self.pending_ttl = pending_ttl
        self.history_max = history_max
        self.changes_maxlen = changes_maxlen
        self._commit = lua.register(client, "commit")
        self._claim = lua.register(client, "claim_pending")
        self._mark_all = lua.register(client, "mark_all_dirty")

    def release_pending_many(self, cities: Sequence[str]) -> None:
        """Clear the queued flags first, so events arriving during the recompute re-queue them."""
        if cities:
            self.client.delete(*(K.pending(c) for c in cities))

    def read_many(self, cities: Sequence[str], max_items: int) -> list[CityWork]:
        """Return snapshots of several cities in one round trip.

        Not one transaction: each city's revision is read before its other keys, and the
        commit compares that revision, so a snapshot torn by a concurrent commit is refused
        and read again, never written.
        """
        pipe = self.client.pipeline(transaction=False)
        pipe.hmget(K.INDEX, "date", "methodology")
        for city in cities:
            pipe.get(K.city_rev(city))
            pipe.get(K.city_state(city))
            pipe.get(K.city_result(city))
            pipe.lrange(K.inbox(city), 0, 2 * max_items - 1)
        replies = pipe.execute()
        date, methodology = replies[0]
        out = []
        for n, city in enumerate(cities):
            rev, state, result, flat = replies[1 + 4 * n: 5 + 4 * n]
            items = list(zip(flat[0::2], flat[1::2]))
            out.append(CityWork(city, rev or "0", state, result, items, date or "",
                                methodology or ""))
        return out

    def state_sizes(self, cities: Sequence[str]) -> list[int]:
        """Return, per city, how many records reading it means: its project records plus its
        queued events (one SCARD and one LLEN each; the state itself is not read)."""
        pipe = self.client.pipeline(transaction=False)
        for city in cities:
            pipe.scard(K.city_projects(city))
            pipe.llen(K.inbox(city))
        replies = pipe.execute()
        return [int(replies[2 * n]) + int(replies[2 * n + 1]) // 2 for n in range(len(cities))]

    def commit_many(self, commits: Sequence[Commit]) -> list[CommitOutcome]:
        """Commit each city atomically (state, result, rankings, history, change message) if
        nothing moved underneath it; all in one round trip, each succeeding or not alone."""
        pipe = self.client.pipeline(transaction=False)
        for c in commits:
            self._commit(keys=[], args=self._commit_args(c), client=pipe)
        return [self._outcome(reply) for reply in pipe.execute()]

    def _commit_args(self, c: Commit) -> list[Any]:
        """Return commit.lua's arguments: a JSON header of names and small numbers, then the
        payloads as raw strings (scores never pass through Redis's 14-digit cjson)."""
        header = {
            "city": c.city_id, "rev": c.rev, "consumed": c.consumed, "index_date": c.index_date,
            "methodology": c.methodology, "now_ms": c.now_ms, "changed": c.changed,
            "history_max": self.history_max, "changes_maxlen": self.changes_maxlen,
            "stats_hour_ms": HOUR_MS, "stats_ttl_s": BUCKET_TTL,
            "pillars": [code for code, _ in c.pillars],
            "feeds": [[feed, count] for feed, count in c.feeds], "dead": len(c.dead),
        }
        args: list[Any] = [
            compact(header), c.state_json, c.result_json, c.card_json, _score_text(c.score),
            c.reason, c.history_body, c.change_body,
        ]
        args += [_score_text(score) for _, score in c.pillars]
        for event_id, reason in c.dead:
            args += [event_id, reason]
        return args

    @staticmethod
    def _outcome(reply: Any) -> CommitOutcome:
        if reply[0] != "ok":
            return CommitOutcome(reply[0])
        _, version, old_rank, new_rank, clean = reply
        return CommitOutcome(
            "ok", int(version), old_rank if old_rank > 0 else None,
            new_rank if new_rank > 0 else None, bool(clean),
        )

    def push_raw(self, city: str, body: str, event_id: str, ack_ms: int, feed: str = "test"
                 ) -> None:
        """Put a raw body in a city's inbox as if accepted at ack_ms (repairs and tests only)."""
        pipe = self.client.pipeline(transaction=True)
        pipe.set(K.event(event_id), f"{city}|{ack_ms}-0|0||{feed}")
        pipe.rpush(K.inbox(city), InboxHead(f"{ack_ms}-0", feed).to_stored(), body)
        pipe.incr(K.BACKLOG)
        pipe.incr(K.feed_backlog(feed))
        pipe.sadd(K.CITIES, city)
        pipe.sadd(K.DIRTY, city)
        pipe.execute()

    def count(self) -> int:
        """Return how many cities exist."""
        return int(self.client.scard(K.CITIES))

    def known(self, city: str) -> bool:
        """Tell whether a city exists (received an accepted event)."""
        return bool(self.client.sismember(K.CITIES, city))

    def claim_pending(self, cities: Sequence[str]) -> list[str]:
        """Set the pending flag of cities that lack one; return those (to be enqueued)."""
        out: list[str] = []
        for start in range(0, len(cities), 1000):
            chunk = list(cities[start:start + 1000])
            out += self._claim(keys=[], args=[self.pending_ttl, *chunk])
        return out

    def iter_dirty(self) -> Iterator[str]:
        """Yield cities whose ranking entry is behind their events."""
        yield from self.client.sscan_iter(K.DIRTY, count=1000)

    def mark_all_dirty(self) -> int:
        """Mark every city dirty (full rebuild); return how many are dirty."""
        return int(self._mark_all(keys=[], args=[]))

    def ensure_methodology(self, version: str) -> bool:
        """Record the methodology in force; return True if it changed (a full rebuild is due)."""
        previous = self.client.hget(K.INDEX, "methodology")
        if previous == version:
            return False
        self.client.hset(K.INDEX, "methodology", version)
        self.mark_all_dirty()
        return True

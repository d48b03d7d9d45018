"""In-memory fakes of the store's ports, the publisher and the clock, shared by unit tests.

Each stands for one adapter the handlers are given (shared/bootstrap.py builds the real
ones): the fakes keep their data in plain fields the tests read back. Real Redis tests the
Lua and compare-and-set contracts (tests/integration); these test what the handlers decide.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from shared.contract.events import Event
from shared.contract.jsonfast import compact
from shared.contract.methodology import Methodology
from shared.domain import readmodel
from shared.domain.outcome import Outcome
from shared.domain.records import AppendResult, CityWork, Commit, CommitOutcome, Hook, IndexMeta
from shared.domain.scoring.ranking import rank_scores
from shared.domain.state import CityState

# ------------------------------------------------------------------ write side


@dataclass
class FakeCityStore:
    """Cities in memory: stored states, inboxes of queued events, commits recorded, a number
    of conflicts injected per city (CityStore's read, size and commit side)."""

    states: dict[str, CityState] = field(default_factory=dict)
    inboxes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    methodology: str = ""  # the methodology the store records ("" before any worker ran)
    rev: str = "0"
    conflicts: dict[str, int] = field(default_factory=dict)
    commits: list[Commit] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    reads: int = 0

    def read_many(self, cities: Sequence[str], max_items: int) -> list[CityWork]:
        self.reads += 1
        return [CityWork(c, self.rev,
                         compact(self.states[c].to_dict()) if c in self.states else None,
                         None, list(self.inboxes.get(c, []))[:max_items], "", self.methodology)
                for c in cities]

    def state_sizes(self, cities: Sequence[str]) -> list[int]:
        return [len(self.states[c].projects) if c in self.states else 0 for c in cities]

    def release_pending_many(self, cities: Sequence[str]) -> None:
        self.released += cities

    def commit_many(self, commits: Sequence[Commit]) -> list[CommitOutcome]:
        out = []
        for c in commits:
            if self.conflicts.get(c.city_id, 0) > 0:
                self.conflicts[c.city_id] -= 1
                out.append(CommitOutcome("conflict"))
                continue
            self.commits.append(c)
            out.append(CommitOutcome("ok", len(self.commits), None, 1, True))
        return out


@dataclass
class FakeLog:
    """The event log in memory: outcomes by id, every append recorded."""

    codes: dict[str, Outcome] = field(default_factory=dict)  # event id -> forced outcome
    seen: set[str] = field(default_factory=set)
    appended: list[tuple[str, bool, list[tuple[Event, str]]]] = field(default_factory=list)
    total_backlog: int = 0
    backlogs: dict[str, int] = field(default_factory=dict)
    client: Any = None
    held: set[str] = field(default_factory=set)
    max_held: int = 1_000
    max_projects: int = 2_000

    def append(self, feed: str, admin: bool, events: Sequence[tuple[Event, str]],
               restore: bool = False, dry_run: bool = False,
               holds: Mapping[int, str] | None = None, release: bool = False) -> AppendResult:
        if holds:
            self.held.update(holds.values())
            self.codes.update({events[n][0].event_id: Outcome.HELD for n in holds})
        if dry_run:  # answer as a real append would, remember nothing
            seen = set(self.seen)
            out: list[Outcome] = []
            for event, _ in events:
                out.append(self.codes.get(event.event_id)
                           or (Outcome.DUPLICATE if event.event_id in seen else Outcome.ACCEPTED))
                seen.add(event.event_id)
            return AppendResult(tuple(out), False, [])
        self.appended.append((feed, admin, list(events)))
        answers: list[Outcome] = []
        for event, _ in events:
            answers.append(self.codes.get(event.event_id) or (
                Outcome.DUPLICATE if event.event_id in self.seen else Outcome.ACCEPTED))
            self.seen.add(event.event_id)
        cities = sorted({e.city_id for e, _ in events if e.city_id})
        return AppendResult(tuple(answers), False, cities)

    def backlog(self) -> int:
        return self.total_backlog

    def feed_backlog(self, feed: str) -> int:
        return self.backlogs.get(feed, 0)


@dataclass
class FakePublisher:
    """The task publisher: recomputes recorded; `broken` stands for a broker that is down."""

    sent: list[list[str]] = field(default_factory=list)
    broken: bool = False

    def recompute(self, cities: list[str]) -> None:
        if self.broken:
            raise ConnectionError("broker down")
        self.sent.append(cities)

    def sweep(self) -> None:
        pass

    def hooks_deliver(self, hooks: list[str]) -> None:
        pass


@dataclass
class FakeQuota:
    """The per-feed quota: every take recorded, answering a fixed wait."""

    wait: float = 0.0
    taken: list[tuple[str, int]] = field(default_factory=list)

    def take(self, feed: str, events: int, now_ms: int) -> float:
        self.taken.append((feed, events))
        return self.wait


@dataclass
class FakeStats:
    """The feed report's counters: every record kept."""

    recorded: list[tuple[str, dict[str, int], list[dict[str, Any]]]] = field(default_factory=list)

    def record(self, feed: str, now_ms: int, counts: Any, rejections: Any = ()) -> None:
        self.recorded.append((feed, dict(counts), list(rejections)))


@dataclass
class FakeWindows:
    """The review store's approved positions and review locks, in memory."""

    kept: dict[str, str] = field(default_factory=dict)
    locks: dict[str, str] = field(default_factory=dict)

    def baselines(self, cities: Any) -> list[str | None]:
        return [self.kept.get(c) for c in cities]

    def open_window(self, city: str, baseline: str, ttl_ms: int) -> str:
        return self.kept.setdefault(city, baseline)

    def lock(self, cities: Any, token: str, ttl_ms: int, wait_s: float) -> bool:
        if any(c in self.locks for c in cities):
            return False
        self.locks.update(dict.fromkeys(cities, token))
        return True

    def unlock(self, cities: Any, token: str) -> None:
        for c in cities:
            if self.locks.get(c) == token:
                del self.locks[c]


class FakeHooks:
    """The delivery side of the hook store, in memory: one hook with `items` queued."""

    def __init__(self, hook: Hook, items: int) -> None:
        self.hooks: dict[str, Hook] = {hook.id: hook}
        self.queue = [{"hook": hook.id, "id": f"msg_{n}", "type": "rank_change", "attempt": 0,
                       "data": {"city_id": "alpha", "committed_ms": 0}} for n in range(items)]
        self.log: list[dict[str, Any]] = []
        self.retries: list[tuple[dict[str, Any], int]] = []
        self.lock_token: str | None = None

    def get(self, hook_id: str) -> Hook | None:
        return self.hooks.get(hook_id)

    def pop(self, hook_id: str) -> dict[str, Any] | None:
        return self.queue.pop(0) if self.queue and hook_id in self.hooks else None

    def record(self, hook_id: str, entry: dict[str, Any]) -> None:
        self.log.append(entry)

    def schedule_retry(self, item: dict[str, Any], due_ms: int) -> None:
        self.retries.append((item, due_ms))

    def disable(self, hook_id: str, reason: str) -> None:
        self.hooks[hook_id] = replace(self.hooks[hook_id], enabled=False, disabled_reason=reason)
        self.queue.clear()

    def delete(self, hook_id: str) -> None:
        self.hooks.pop(hook_id, None)
        self.queue.clear()

    def lock(self, hook_id: str, ttl_ms: int) -> str | None:
        if self.lock_token is not None:
            return None
        self.lock_token = "t"
        return "t"

    def unlock(self, hook_id: str, token: str) -> None:
        if self.lock_token == token:
            self.lock_token = None

    def queued(self, hook_id: str) -> int:
        return len(self.queue)


# ------------------------------------------------------------------ read side


def stream_key(sid: str) -> tuple[int, int]:
    """Return a stream id ('1001-0') as a sortable pair."""
    a, _, b = sid.partition("-")
    return int(a), int(b or 0)


class FakeStream:
    """The change stream side of RankingReader (what the SSE fan-out reads), over a list."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str]] = []
        self.trimmed_before = 0  # rows[:trimmed_before] are gone (stream MAXLEN)
        self.cond = threading.Condition()
        self.gap_reads = 0
        self.fail = False

    def add(self, n: int = 1) -> list[str]:
        with self.cond:
            out = []
            for _ in range(n):
                k = len(self.rows) + 1
                sid = f"{1000 + k}-0"
                self.rows.append((sid, json.dumps({"ranking_version": k, "t": 0})))
                out.append(sid)
            self.cond.notify_all()
            return out

    def _kept(self) -> list[tuple[str, str]]:
        return self.rows[self.trimmed_before:]

    def meta(self) -> IndexMeta:
        return IndexMeta("2025-06-30", len(self.rows), "2025.1", 1)

    def last_change_id(self) -> str:
        return self.rows[-1][0] if self.rows else "0-0"

    def first_change_id(self) -> str | None:
        kept = self._kept()
        return kept[0][0] if kept else None

    def changes_raw_after(self, last_id: str, block_ms: int, count: int = 500
                          ) -> list[tuple[str, str]]:
        if self.fail:
            import redis

            raise redis.ConnectionError("down")
        with self.cond:
            newer = [r for r in self._kept() if stream_key(r[0]) > stream_key(last_id)]
            if not newer:
                self.cond.wait(block_ms / 1000)
                newer = [r for r in self._kept() if stream_key(r[0]) > stream_key(last_id)]
            return newer[:count]

    def changes_between(self, after_id: str, before_id: str | None, count: int = 1000
                        ) -> list[tuple[str, str]]:
        self.gap_reads += 1
        return [r for r in self._kept() if stream_key(r[0]) > stream_key(after_id)
                and (before_id is None or stream_key(r[0]) < stream_key(before_id))][:count]


# ------------------------------------------------------------------ time


class FakeClock:
    """A clock moved by hand: seconds for deadlines, milliseconds for deliveries."""

    def __init__(self, ms: int = 1_700_000_000_000) -> None:
        self.ms = ms

    def seconds(self) -> float:
        return self.ms / 1000

    def now_ms(self) -> int:
        return self.ms


class NoHistory:
    """A timeline with no kept point yet (a fresh store): nothing to resolve `since` against."""

    def latest(self) -> None:
        return None


@dataclass
class FakeRankingView:
    """The published index as the web's per-version view gives it (shared.queries.documents
    RankingView), from cards and results in memory; it is its own reader."""

    methodology: Methodology
    cards: list[dict[str, Any]] = field(default_factory=list)  # readmodel.card(...) each
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # city -> stored result
    meta: IndexMeta = field(default_factory=lambda: IndexMeta(None, 0, None, None))
    published_bands: dict[str, Any] | None = None
    unranked_cities: list[dict[str, str]] = field(default_factory=list)
    histories: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    timeline: Any = field(default_factory=NoHistory)

    @property
    def reader(self) -> FakeRankingView:
        return self

    def stamp(self) -> IndexMeta:
        return self.meta

    def ranked(self, pillar: str | None) -> tuple[int, list[dict[str, Any]]]:
        def score(card: dict[str, Any]) -> float | None:
            return card["score"] if pillar is None else (card["pillars"] or {}).get(pillar)

        by_id = {c["city_id"]: c for c in self.cards}
        ranked = rank_scores((c["city_id"], s) for c in self.cards if (s := score(c)) is not None)
        rows = [{**by_id[r.city_id], "rank": r.rank,
                 **({} if pillar is None else {"pillar_score": r.score})} for r in ranked]
        return self.meta.ranking_version, readmodel.rows(rows)

    def ranks(self, pillar: str | None) -> dict[str, int]:
        return {r["city_id"]: r["rank"] for r in self.ranked(pillar)[1]}

    def bands(self) -> dict[str, Any] | None:
        return self.published_bands

    def unranked(self) -> list[dict[str, str]]:
        return self.unranked_cities

    def result(self, city_id: str) -> dict[str, Any] | None:
        return self.results.get(city_id)

    def history(self, city_id: str, n: int) -> list[dict[str, Any]]:
        return self.histories.get(city_id, [])[:n]

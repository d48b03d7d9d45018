"""The ports of the write-side handlers: what each needs from the store, as small Protocols.

The store's adapters (shared/store/) satisfy them; unit tests pass in-memory fakes
(tests/support/fakes.py) without a cast. The composition root (shared/bootstrap.py) hands
the real ones in.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from shared.contract.events import Event
from shared.domain.records import (
    AppendResult,
    CityWork,
    Commit,
    CommitOutcome,
    Hook,
)


class EventAppender(Protocol):
    """The event log as accept and review use it: one atomic append (EventLog)."""

    max_held: int
    max_projects: int

    def append(
        self,
        feed: str,
        admin: bool,
        events: Sequence[tuple[Event, str]],
        restore: bool = False,
        dry_run: bool = False,
        holds: Mapping[int, str] | None = None,
        release: bool = False,
    ) -> AppendResult: ...
    def backlog(self) -> int: ...
    def feed_backlog(self, feed: str) -> int: ...


class CityCommits(Protocol):
    """Cities' inboxes and state as the recompute uses them (CityStore)."""

    def release_pending_many(self, cities: Sequence[str]) -> None: ...
    def read_many(self, cities: Sequence[str], max_items: int) -> list[CityWork]: ...
    def commit_many(self, commits: Sequence[Commit]) -> list[CommitOutcome]: ...


class DirtyCities(Protocol):
    """Cities with events waiting and their pending flags, as the sweep reads them (CityStore)."""

    def claim_pending(self, cities: Sequence[str]) -> list[str]: ...
    def iter_dirty(self) -> Iterator[str]: ...


class HistorySeeder(Protocol):
    """The kept history's seeding of cities without an entry (HistoryStore)."""

    def seed(self, bodies: dict[str, str]) -> int: ...


class BandRecords(Protocol):
    """The published rank bands and their request flag (BandStore)."""

    def request(self, debounce_seconds: int) -> bool: ...
    def behind(self) -> bool: ...
    def publish(self, ranking_version: int, draws: int, bands: dict[str, list[int]]) -> bool: ...


class RankedRows(Protocol):
    """The ranked rows the band computation draws from (RankingReader)."""

    def ranked(self, pillar: str | None = None) -> tuple[int, list[dict[str, Any]]]: ...


class ChangeFeed(Protocol):
    """The stream of ranking changes webhooks are matched against (RankingReader)."""

    def changes_between(
        self, after_id: str, before_id: str | None, count: int = 1000
    ) -> list[tuple[str, str]]: ...


class HookRecords(Protocol):
    """Hooks, their delivery queues, locks, retries and log (HookStore)."""

    def get(self, hook_id: str) -> Hook | None: ...
    def all(self) -> list[Hook]: ...
    def disable(self, hook_id: str, reason: str) -> None: ...
    def want_dispatch(self, debounce_ms: int = 1000) -> bool: ...
    def release_dispatch(self) -> None: ...
    def cursor(self) -> str: ...
    def enqueue(
        self, cursor: str, new_cursor: str, items: list[tuple[str, dict[str, Any]]]
    ) -> list[str] | None: ...
    def push(self, items: list[tuple[str, dict[str, Any]]]) -> None: ...
    def pop(self, hook_id: str) -> dict[str, Any] | None: ...
    def schedule_retry(self, item: dict[str, Any], due_ms: int) -> None: ...
    def due_retries(self, now_ms: int) -> list[str]: ...
    def record(self, hook_id: str, entry: dict[str, Any]) -> None: ...
    def lock(self, hook_id: str, ttl_ms: int) -> str | None: ...
    def unlock(self, hook_id: str, token: str) -> None: ...
    def queued(self, hook_id: str) -> int: ...
    def idle(self, hook_ids: list[str]) -> list[str]: ...
    def waiting(self) -> list[str]: ...
    def history_before(self, city: str, ranking_version: int) -> dict[str, Any] | None: ...

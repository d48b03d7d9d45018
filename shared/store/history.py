"""Kept history of the index: per-city entries by ranking version, the version clock, thinning.

Each commit that changes a city writes one entry at its new ranking version
(shared/store/scripts/commit.lua) and records the version's commit time. The ranking as served
at version V is every city's last entry at or before V, ranked by rank_scores; a time is
first resolved to the last version committed at or before it. The sweeper thins old entries
by the retention tiers (shared/domain/history_rules.py) so a snapshot at each kept moment stays exact.

An entry is a HistoryEntry, its indicator changes IndicatorChanges, a versions member a
VersionMember (shared/domain/records.py: their stored spellings and their one codec).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shared.contract.jsonfast import compact, loads
from shared.domain.history_rules import Tier, parse_tiers, resolve_moment, thin
from shared.domain.records import (
    HistoryEntry,
    Moment,
    ScoreAt,
    TooOld,
    VersionMember,
    changes_from_stored,
    changes_to_stored,
)
from shared.store import keys as K
from shared.store import lua
from shared.store.connection import Client

SNAPSHOT_BATCH = 500  # cities per snapshot script call (each holds Redis a few ms at most)


@dataclass(frozen=True)
class ThinPlan:
    """One thinning pass: its time, the version windows to thin (lo exclusive, hi inclusive,
    resolution ms) and the cut version (0: nothing is old enough to drop)."""

    now: int
    windows: list[tuple[int, int, int]]
    cut: int


class HistoryStore:
    """Read and thin the kept history."""

    def __init__(self, client: Client, tiers: str | list[Tier] = "1h=all,1d=10m,14d=1h,400d=1d",
                 thin_interval_s: int = 60) -> None:
        self.client = client
        self.tiers = parse_tiers(tiers) if isinstance(tiers, str) else tiers
        self.thin_interval_s = thin_interval_s
        self._resolve_time = lua.register(client, "resolve_time")
        self._snapshot = lua.register(client, "history_snapshot")
        self._cut = lua.register(client, "history_cut")
        self._seed = lua.register(client, "history_seed")
        self._scores = lua.register(client, "history_scores")

    def now_ms(self) -> int:
        """Return the Redis clock (the clock that stamps versions) in milliseconds."""
        sec, usec = self.client.time()
        return int(sec) * 1000 + int(usec) // 1000

    # -- resolving moments ---------------------------------------------------------------

    def oldest(self) -> VersionMember | None:
        """Return the oldest kept version and its time, or None before any commit."""
        got = self.client.zrange(K.VERSIONS, 0, 0)
        return VersionMember.from_stored(got[0]) if got else None

    def latest(self) -> VersionMember | None:
        """Return the newest version and its time."""
        got = self.client.zrange(K.VERSIONS, -1, -1)
        return VersionMember.from_stored(got[0]) if got else None

    def at_version(self, version: int) -> Moment:
        """Resolve a ranking version to the last kept version at or before it."""
        got = self.client.zrevrangebyscore(K.VERSIONS, version, "-inf", start=0, num=1)
        if not got:
            oldest = self.oldest()
            raise TooOld(oldest.committed_ms if oldest else None)
        v, t = VersionMember.from_stored(got[0])
        return Moment(v, t, t)

    def at_time(self, at_ms: int, now_ms: int | None = None) -> Moment:
        """Resolve an instant to the last version committed at or before its exact moment."""
        now = self.now_ms() if now_ms is None else now_ms
        resolved = resolve_moment(self.tiers, min(at_ms, now), now)
        got = self._resolve_time(args=[resolved])
        if not got:
            oldest = self.oldest()
            raise TooOld(oldest.committed_ms if oldest else None)
        v, t = VersionMember.from_stored(got)
        return Moment(v, t, resolved)

    # -- reading -------------------------------------------------------------------------

    def snapshot(self, version: int) -> dict[str, HistoryEntry]:
        """Return {city: its entry in force at a version, without its changes};
        cities first scored later are absent."""
        out: dict[str, HistoryEntry] = {}
        read = HistoryEntry.from_stored
        for batch in _batches(self._cities(), SNAPSHOT_BATCH):
            flat = self._snapshot(args=[version, *batch])
            for i in range(0, len(flat), 2):
                out[flat[i]] = read(loads(flat[i + 1]))
        return out

    def cards(self, cities: list[str] | None = None) -> dict[str, dict[str, Any]]:
        """Return the current cards (identity: name, country, region, place) of some cities,
        or of every city."""
        out: dict[str, dict[str, Any]] = {}
        for batch in _batches(iter(cities) if cities is not None else self._cities(),
                              SNAPSHOT_BATCH):
            for city, raw in zip(batch, self.client.mget([K.city_card(c) for c in batch])):
                if raw:
                    out[city] = loads(raw)
        return out

    def scores(self, version: int) -> dict[str, ScoreAt]:
        """Return every city's (overall score or None if unranked, entry version) in force at
        a version (cities first scored later are absent): the ranking's input, read lightly."""
        out: dict[str, ScoreAt] = {}
        for batch in _batches(self._cities(), SNAPSHOT_BATCH):
            flat = self._scores(args=[version, *batch])
            for i in range(0, len(flat), 3):
                text = flat[i + 1]
                out[flat[i]] = ScoreAt(None if text == "null" else float(text), int(flat[i + 2]))
        return out

    def entries_at(self, cities: list[str], version: int) -> dict[str, HistoryEntry]:
        """Return some cities' entries in force at a version (one round trip)."""
        pipe = self.client.pipeline(transaction=False)
        for city in cities:
            pipe.zrevrangebyscore(K.city_history(city), version, "-inf", start=0, num=1)
        return {c: HistoryEntry.from_stored(loads(got[0]))
                for c, got in zip(cities, pipe.execute()) if got}

    def entry_at(self, city: str, version: int) -> HistoryEntry | None:
        """Return a city's entry in force at a version, or None."""
        got = read_entries(self.client, city, upto=version, limit=1)
        return got[0] if got else None

    def first_entry(self, city: str) -> HistoryEntry | None:
        """Return a city's oldest kept entry (where its history starts), or None."""
        got = self.client.zrange(K.city_history(city), 0, 0)
        return HistoryEntry.from_stored(loads(got[0])) if got else None

    def entries(self, city: str, after: int | None = None, upto: int | None = None,
                limit: int = 0) -> list[HistoryEntry]:
        """Return a city's entries with after < version <= upto, oldest first
        (the last `limit` of them if given)."""
        return read_entries(self.client, city, after, upto, limit)

    def size(self, city: str) -> int:
        """Return how many entries of a city are kept."""
        return int(self.client.zcard(K.city_history(city)))

    def without_history(self) -> list[tuple[str, str]]:
        """Return (city, stored result JSON) of scored cities that have no history entry."""
        out: list[tuple[str, str]] = []
        for batch in _batches(self._cities(), 500):
            pipe = self.client.pipeline(transaction=False)
            for city in batch:
                pipe.exists(K.city_history(city))
                pipe.get(K.city_result(city))
            replies = pipe.execute()
            out += [(c, r) for c, e, r in zip(batch, replies[0::2], replies[1::2])
                    if not e and r is not None]
        return out

    def seed(self, bodies: dict[str, str]) -> int:
        """Write each city's entry body at the current version if it has no history."""
        args: list[str] = []
        for city, body in bodies.items():
            args += [city, body]
        return int(self._seed(args=args))

    # -- thinning ------------------------------------------------------------------------

    def thin_due(self) -> bool:
        """Take the thinning lock if a pass is due (one pass per interval across workers)."""
        return bool(self.client.set(K.HISTORY_COMPACTING, "1", nx=True,
                                    ex=max(1, self.thin_interval_s)))

    def thin(self, now_ms: int | None = None) -> int:
        """Thin entries that aged into a coarser tier since the last pass and drop those
        older than the last tier, all cities at once; return how many entries were removed."""
        plan = self.plan(self.now_ms() if now_ms is None else now_ms)
        removed = sum(self.thin_cities(plan, batch) for batch in _batches(self._cities(), 500))
        self.client.set(K.HISTORY_COMPACTED, plan.now)
        return removed

    def thin_step(self, max_cities: int = 500, now_ms: int | None = None) -> int:
        """Do the next slice of a thinning pass (a pass starts when one is due), so a large
        index is thinned over several sweeps and no sweep holds its worker for long."""
        raw = self.client.get(K.HISTORY_PASS)
        if raw is None:
            if not self.thin_due():
                return 0
            plan, cursor = self.plan(self.now_ms() if now_ms is None else now_ms), 0
        else:
            state = loads(raw)
            plan, cursor = ThinPlan(state["now"], [tuple(w) for w in state["windows"]],
                                    state["cut"]), int(state["cursor"])
        cursor, cities = self.client.sscan(K.CITIES, cursor, count=max_cities)
        removed = self.thin_cities(plan, list(cities))
        if int(cursor) == 0:
            self.client.delete(K.HISTORY_PASS)
            self.client.set(K.HISTORY_COMPACTED, plan.now)
        else:
            self.client.set(K.HISTORY_PASS, compact({
                "now": plan.now, "windows": plan.windows, "cut": plan.cut, "cursor": cursor}))
        return removed

    def plan(self, now: int) -> ThinPlan:
        """Plan a pass at `now`: the version windows that aged into each thinned tier since the
        last pass and the cut version; thin the versions sorted set itself right away."""
        last = int(self.client.get(K.HISTORY_COMPACTED) or 0)
        windows: list[tuple[int, int, int]] = []
        younger = 0
        for tier in self.tiers:
            if tier.resolution_ms:
                res = tier.resolution_ms
                hi = now - younger  # exclusive: younger entries belong to a finer tier
                lo = max(now - tier.age_ms, last - younger - res) // res * res
                v_lo, v_hi = self._last_version_before(lo), self._last_version_before(hi)
                if lo < hi and v_lo < v_hi:
                    windows.append((v_lo, v_hi, res))
                    self._thin_versions(v_lo, v_hi, res)
            younger = tier.age_ms
        cut = self._last_version_before(now - self.tiers[-1].age_ms + 1)
        if cut:
            self.client.zremrangebyscore(K.VERSIONS, "-inf", f"({cut}")
        return ThinPlan(now, windows, cut)

    def thin_cities(self, plan: ThinPlan, cities: list[str]) -> int:
        """Thin some cities' entries by a plan; return how many entries were removed."""
        removed = 0
        for v_lo, v_hi, res in plan.windows:
            pipe = self.client.pipeline(transaction=False)
            for city in cities:
                pipe.zrangebyscore(K.city_history(city), f"({v_lo}", v_hi)
            writes = self.client.pipeline(transaction=True)  # readers never see a gap
            for city, members in zip(cities, pipe.execute()):
                # Rewritten entries keep every other member exactly as stored.
                entries = [loads(m) for m in members]
                drop, merged = thin([(e["v"], e["t"], changes_from_stored(e.get("x")))
                                     for e in entries], res)
                key = K.city_history(city)
                for v in drop:
                    writes.zremrangebyscore(key, v, v)
                for e in entries:
                    if e["v"] in merged:
                        e["x"] = changes_to_stored(merged[e["v"]])
                        writes.zremrangebyscore(key, e["v"], e["v"])
                        writes.zadd(key, {compact(e): e["v"]})
                removed += len(drop)
            writes.execute()
        if plan.cut and cities:
            removed += int(self._cut(args=[plan.cut, *cities]))
        return removed

    def _last_version_before(self, at_ms: int) -> int:
        """Return the last version committed before at_ms (0 if none)."""
        got = self._resolve_time(args=[at_ms - 1])
        return VersionMember.from_stored(got).version if got else 0

    def _thin_versions(self, v_lo: int, v_hi: int, res: int) -> None:
        versions = [VersionMember.from_stored(m)
                    for m in self.client.zrangebyscore(K.VERSIONS, f"({v_lo}", v_hi)]
        drop, _ = thin([(v, t, {}) for v, t in versions], res)
        if drop:
            pipe = self.client.pipeline(transaction=False)
            for v in drop:
                pipe.zremrangebyscore(K.VERSIONS, v, v)
            pipe.execute()

    def _cities(self) -> Iterator[str]:
        return iter(self.client.sscan_iter(K.CITIES, count=1000))


def read_entries(client: Client, city: str, after: int | None = None, upto: int | None = None,
                 limit: int = 0) -> list[HistoryEntry]:
    """Return a city's entries with after < version <= upto, oldest first (the last
    `limit` of them if given)."""
    lo = "-inf" if after is None else f"({after}"
    hi = "+inf" if upto is None else upto
    if limit:
        got = client.zrevrangebyscore(K.city_history(city), hi, lo, start=0, num=limit)
        got.reverse()
    else:
        got = client.zrangebyscore(K.city_history(city), lo, hi)
    read = HistoryEntry.from_stored
    return [read(loads(m)) for m in got]


def _batches(items: Iterator[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch

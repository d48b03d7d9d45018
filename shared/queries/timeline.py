"""The index at past moments: rankings and cities as of a moment, change since, explanations.

A moment (shared/queries/params.py: an RFC 3339 time, a date, a ranking version, or for
since/until a span back from now such as 7d) is resolved against the kept history
(shared/store/history.py): the ranking version in force then, whose state is every city's
last entry at or before it, ranked by rank_scores exactly as the live ranking is. Snapshots
are immutable per version and cached.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from time import monotonic
from typing import Any

from shared.contract.methodology import Methodology
from shared.domain import readmodel
from shared.domain.drivers import entry_ends, moves_of
from shared.domain.history_rules import describe, merge_changes, resolve_moment
from shared.domain.records import HistoryEntry, IndicatorChange, Moment, ScoreAt, TooOld, public_entry
from shared.domain.scoring.explain import decompose, places_gained, rank_move
from shared.domain.scoring.ranking import rank_scores
from shared.queries.errors import BadQuery, NotKept
from shared.queries.params import Point
from shared.queries.ports import HistoryRecords, RankingThen

CARDS_FRESH_S = 10.0  # cities' identity (name, region) is re-read at most this often
SNAPSHOTS_CACHED = 8  # per process; at 10,000 cities a snapshot and its rows take ~30 MB
COLD_READS = 2  # snapshots one process reads from Redis at once (a flood of new moments waits)


def iso(ms: int | None) -> str | None:
    """Return Unix ms as RFC 3339 UTC with milliseconds."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Snapshot:
    moment: Moment
    entries: dict[str, HistoryEntry]  # city -> entry in force
    cards: dict[str, dict[str, Any]]  # city -> current card (identity)

    def methodology(self) -> str | None:
        """Return the methodology in force (the newest entry's)."""
        newest = max(self.entries.values(), key=lambda e: e.version, default=None)
        return None if newest is None else newest.methodology

    def index_date(self) -> str | None:
        """Return the index date in force (the newest entry's)."""
        newest = max(self.entries.values(), key=lambda e: e.version, default=None)
        return None if newest is None else newest.index_date


@dataclass(frozen=True)
class PastPage:
    """A page of the overall ranking at a past moment."""

    total: int
    rows: list[dict[str, Any]]
    unranked: list[dict[str, str]]
    methodology: str | None
    index_date: str | None


class Timeline:
    """Resolve moments and read snapshots, cached per version (one per web process)."""

    def __init__(self, history: HistoryRecords, methodology: Methodology,
                 live_scores: Callable[[], dict[str, float]] | None = None,
                 clock: Callable[[], int] | None = None) -> None:
        self.history = history
        self.methodology = methodology
        self.live_scores = live_scores  # the live ranking's scores, read cheaply (explain's end)
        # The web passes one clock reading per request, so a request's moments, its cache
        # key and its ETag all count from the same instant.
        self.clock = clock or history.now_ms
        self._snapshots: OrderedDict[int, Snapshot] = OrderedDict()
        self._rows: OrderedDict[tuple[int, str | None], list[dict[str, Any]]] = OrderedDict()
        self._scores: OrderedDict[int, dict[str, ScoreAt]] = OrderedDict()
        self._cards: dict[str, dict[str, Any]] = {}
        self._cards_at = -CARDS_FRESH_S
        self._lock = threading.Lock()
        self._cold = threading.BoundedSemaphore(COLD_READS)

    def now_ms(self) -> int:
        """Return the clock versions are stamped with (the request's reading in the web)."""
        return self.clock()

    def instant(self, point: Point) -> int:
        """Return what a point resolves to before the store is asked: its version, or the
        instant whose state it asks for (in a thinned tier, the end of its last whole
        bucket). Equal instants give equal answers while no commit happens."""
        if point.kind == "version":
            return point.value
        now = self.now_ms()
        return resolve_moment(self.history.tiers, min(point.value, now), now)

    def retention(self) -> str:
        """Return what history is kept, in words."""
        return describe(self.history.tiers)

    def resolve(self, name: str, point: Point, clamp: bool = False) -> Moment:
        """Resolve a point to a kept moment; before the oldest kept point: NotKept, or with
        clamp the oldest kept moment."""
        try:
            if point.kind == "version":
                return self.history.at_version(point.value)
            return self.history.at_time(point.value, self.now_ms())
        except TooOld as exc:
            oldest = self.history.oldest()
            if clamp and oldest is not None:
                return Moment(oldest.version, oldest.committed_ms, oldest.committed_ms)
            start = f"history starts at {iso(exc.oldest_t)}" if exc.oldest_t else "no history yet"
            raise NotKept(name, f"{point.text} is before the oldest kept point ({start}; "
                                f"kept: {self.retention()})") from None

    def latest(self) -> Moment | None:
        """Return the newest moment (the live ranking's version)."""
        got = self.history.latest()
        return None if got is None else Moment(got.version, got.committed_ms, got.committed_ms)

    def snapshot(self, moment: Moment) -> Snapshot:
        """Return the index's state at a kept moment."""
        with self._lock:
            hit = self._snapshots.get(moment.version)
            if hit is not None:
                self._snapshots.move_to_end(moment.version)
                return Snapshot(moment, hit.entries, hit.cards)
        with self._cold:
            entries = self.history.snapshot(moment.version)
        cards = self.cards()
        if any(city not in cards for city in entries):  # a city added since the last read
            cards = self.cards(fresh=True)
        snap = Snapshot(moment, entries, cards)
        with self._lock:
            self._snapshots[moment.version] = snap
            while len(self._snapshots) > SNAPSHOTS_CACHED:
                self._snapshots.popitem(last=False)
        return snap


    def cards(self, fresh: bool = False) -> dict[str, dict[str, Any]]:
        """Return the cities' current cards (identity), re-read at most every few seconds
        unless fresh: past rows show today's names and places (methodology section 8.1)."""
        now = monotonic()
        if fresh or now - self._cards_at > CARDS_FRESH_S:
            cards = self.history.cards()
            with self._lock:
                self._cards, self._cards_at = cards, now
        return self._cards

    def score_map(self, moment: Moment) -> dict[str, ScoreAt]:
        """Return every city's (score or None, entry version) at a kept moment (cached)."""
        with self._lock:
            hit = self._scores.get(moment.version)
        if hit is not None:
            return hit
        with self._cold:
            got = self.history.scores(moment.version)
        with self._lock:
            self._scores[moment.version] = got
            while len(self._scores) > 4 * SNAPSHOTS_CACHED:
                self._scores.popitem(last=False)
        return got

    def scores(self, moment: Moment) -> dict[str, float]:
        """Return every ranked city's overall score at a kept moment."""
        return {c: s for c, (s, _) in self.score_map(moment).items() if s is not None}

    def page(self, moment: Moment, offset: int, limit: int) -> PastPage:
        """Return one page of the overall ranking at a kept moment, reading only the scores
        and the page's entries (the whole snapshot is read only for filters and pillars)."""
        score_map = self.score_map(moment)
        ranked = rank_scores((c, s) for c, (s, _) in score_map.items() if s is not None)
        page = ranked[offset: offset + limit]
        unranked = sorted(c for c, (s, _) in score_map.items() if s is None)
        newest = max(score_map, key=lambda c: score_map[c].version, default=None)
        wanted = [i.city_id for i in page] + unranked + ([newest] if newest else [])
        entries = self.history.entries_at(list(dict.fromkeys(wanted)), moment.version)
        cards = self.history.cards([i.city_id for i in page])
        rows = [readmodel.row_of(_row(item.city_id, entries[item.city_id],
                                      cards.get(item.city_id, {}), item.rank))
                for item in page]
        head = entries.get(newest or "")
        return PastPage(len(ranked), rows,
                        [{"city_id": c, "reason": entries[c].reason or ""} for c in unranked],
                        None if head is None else head.methodology,
                        None if head is None else head.index_date)

    def rows(self, moment: Moment, pillar: str | None = None) -> list[dict[str, Any]]:
        """Return the ranking rows served at a kept moment (cached; copy before changing)."""
        key = (moment.version, pillar)
        with self._lock:
            hit = self._rows.get(key)
        if hit is not None:
            return hit
        rows = snapshot_rows(self.snapshot(moment), pillar)
        with self._lock:
            self._rows[key] = rows
            while len(self._rows) > 2 * SNAPSHOTS_CACHED:
                self._rows.popitem(last=False)
        return rows


def _row(city_id: str, e: HistoryEntry, card: dict[str, Any], rank: int) -> dict[str, Any]:
    """Return a past row's values: today's identity, the entry's scores, the rank then."""
    return {**card, "city_id": city_id, "score": e.score, "coverage": e.coverage,
            "reason": e.reason, "pillars": e.pillars,
            "last_data_at": e.last_data_at, "stale": e.stale, "rank": rank}


def snapshot_rows(snap: Snapshot, pillar: str | None = None) -> list[dict[str, Any]]:
    """Return the ranking rows of a snapshot (read model), ranked overall or by a pillar."""
    ranked = []
    scores: list[tuple[str, float]] = []
    for c, e in snap.entries.items():
        value = e.score if pillar is None else e.pillars.get(pillar)
        if value is not None:
            scores.append((c, value))
    for item in rank_scores(scores):
        row = _row(item.city_id, snap.entries[item.city_id],
                   snap.cards.get(item.city_id, {}), item.rank)
        if pillar is not None:
            row["pillar_score"] = item.score
        ranked.append(readmodel.row_of(row))
    return ranked


def snapshot_unranked(snap: Snapshot) -> list[dict[str, str]]:
    """Return the cities without an overall score then, and why."""
    return [{"city_id": c, "reason": e.reason or ""}
            for c, e in sorted(snap.entries.items()) if e.score is None]


def moment_block(name: str, point: Point, moment: Moment) -> dict[str, Any]:
    """Return how a requested moment was resolved."""
    return {"requested": point.text, "resolved_at": iso(moment.resolved_ms),
            "ranking_version": moment.version, "committed_at": iso(moment.version_t)}


def since_changes(timeline: RankingThen, since: Moment, rows: list[dict[str, Any]],
                  pillar: str | None = None) -> None:
    """Add each row's change since a moment: rank and score then, places moved, points."""
    if pillar is None:  # the scores alone rank the cities (the light read)
        scores = timeline.scores(since)
        then = {r.city_id: (r.rank, r.score) for r in rank_scores(scores.items())}
    else:
        then = {r["city_id"]: (r["rank"], r["score"]) for r in timeline.rows(since, pillar)}
    for row in rows:
        rank_then, score_then = then.get(row["city_id"], (None, None))
        gained = places_gained(rank_then, row.get("rank"))
        row["change"] = {
            "rank_before": rank_then, "rank_after": row.get("rank"), "places_gained": gained,
            "rank_then": rank_then,  # deprecated alias of rank_before for one release
            "score_then": score_then,
            "move": gained,  # deprecated alias of places_gained for one release
            "score_change": None if score_then is None or row.get("score") is None
            else row["score"] - score_then,
        }


def _scores_now(timeline: Timeline, end: Moment) -> dict[str, float]:
    """Return the scores at the newest moment: the live ranking's if no commit came in
    between (one sorted-set read instead of a pass over every city's history)."""
    if timeline.live_scores is None:
        return timeline.scores(end)
    scores = timeline.live_scores()
    latest = timeline.latest()
    return scores if latest is not None and latest.version == end.version else timeline.scores(end)


def explain_document(timeline: Timeline, city_id: str, since: Point, until: Point | None
                     ) -> dict[str, Any] | None:
    """Return why a city's score and rank moved between two moments (None: unknown city).

    An end before the city's first kept entry is NotKept, naming where its history starts.
    """
    history = timeline.history
    first = history.first_entry(city_id)
    if first is None:
        return None
    start = timeline.resolve("since", since, clamp=since.kind == "time")
    end = (timeline.latest() if until is None else timeline.resolve("until", until))
    if end is None:
        return None
    if end.version < start.version:
        raise BadQuery("until", "must not be before since")
    e_from, e_to = history.entry_at(city_id, start.version), history.entry_at(city_id, end.version)
    if e_to is None:
        param, point = ("until", until) if until is not None else ("since", since)
        raise NotKept(param, f"{point.text} is before {city_id}'s history starts (its first "
                            f"kept point is ranking version {first.version}, committed at "
                            f"{iso(first.committed_ms)})")
    changes: dict[str, IndicatorChange] = {}
    for entry in timeline.history.entries(city_id, after=start.version, upto=end.version):
        changes = merge_changes(changes, entry.changes)
    changes = {k: c for k, c in changes.items() if c.moved()}
    methodology = timeline.methodology
    split = None
    if e_from is not None and e_to is not None:
        split = decompose(methodology, entry_ends(e_from), entry_ends(e_to),
                          moves_of(changes, methodology))
    moved = rank_move(city_id, timeline.scores(start), _scores_now(timeline, end)
                      if until is None else timeline.scores(end))

    def end_of(entry: HistoryEntry | None, moment: Moment, rank: int | None) -> dict[str, Any]:
        return {"score": None if entry is None else entry.score, "rank": rank,
                "ranking_version": moment.version, "at": iso(moment.resolved_ms),
                "methodology_version": None if entry is None else entry.methodology,
                "pillars": {} if entry is None else entry.pillars}

    pillar_of = {c: methodology.indicator(c).pillar for c in changes
                 if methodology.has_indicator(c)}
    indicators: list[dict[str, Any]] = []
    for code, c in changes.items():
        indicators.append({
            "indicator": code, "pillar": pillar_of.get(code),
            "name": methodology.indicator(code).name if code in pillar_of else code,
            "from_value": c.from_raw, "to_value": c.to_raw, "from_normalised": c.from_normalised,
            "to_normalised": c.to_normalised,
            "contribution": None if split is None else split.indicators.get(code, 0.0),
            "event_id": c.event_id, "occurred_at": c.occurred_at, "feed": c.feed})
    indicators.sort(key=lambda i: -abs(i["contribution"] or 0.0))
    coverage: list[dict[str, Any]] = []
    for code, c in changes.items():
        if (c.from_normalised is None) != (c.to_normalised is None):
            coverage.append({"indicator": code, "pillar": pillar_of.get(code),
                             "change": "observed" if c.from_normalised is None
                             else "no longer observed"})
    for p in methodology.pillars:
        a = None if e_from is None else e_from.pillar_coverage.get(p.code)
        b = None if e_to is None else e_to.pillar_coverage.get(p.code)
        if a != b and a is not None and b is not None:
            coverage.append({"pillar": p.code, "from": a, "to": b})
    name = history.cards([city_id]).get(city_id, {}).get("name")
    return {
        "city_id": city_id, "name": name or city_id,
        "from": end_of(e_from, start, moved.rank_from),
        "to": end_of(e_to, end, moved.rank_to),
        "score_delta": None if split is None else split.score_delta,
        "rank_before": moved.rank_from, "rank_after": moved.rank_to,
        "places_gained": moved.places_gained,  # positive: rose
        "places_gained_own": moved.places_gained_own,
        "places_gained_others": moved.places_gained_others,
        # deprecated aliases for one release (positive: fell): -places_gained and its parts
        "rank_delta": moved.rank_delta,
        "rank_delta_own": moved.own, "rank_delta_others": moved.others,
        "aggregation": methodology.aggregation,
        "pillars": [{"pillar": p.code, "name": p.name,
                     "from": None if e_from is None else e_from.pillars.get(p.code),
                     "to": None if e_to is None else e_to.pillars.get(p.code),
                     "contribution": None if split is None else split.pillars.get(p.code, 0.0)}
                    for p in methodology.pillars],
        "indicators": indicators,
        "coverage_changes": coverage,
        "passed": [{"city_id": c, "rank": r} for c, r in moved.passed],
        "passed_by": [{"city_id": c, "rank": r} for c, r in moved.passed_by],
        "history_kept": timeline.retention(),
    }


def city_history_at(timeline: Timeline, city_id: str, moment: Moment, limit: int = 0
                    ) -> list[dict[str, Any]]:
    """Return a city's kept entries up to a moment, oldest first, in the API's words."""
    return [public_entry(e) for e in
            timeline.history.entries(city_id, upto=moment.version, limit=limit)]


def indicators_at(timeline: Timeline, city_id: str, moment: Moment,
                  current: dict[str, Any]) -> dict[str, Any]:
    """Return a city's indicators at a moment: today's, with every later change undone
    (an undone value names no event: the history keeps the event of the newer value)."""
    later: dict[str, IndicatorChange] = {}
    for entry in timeline.history.entries(city_id, after=moment.version):
        later = merge_changes(later, entry.changes)
    out = {code: dict(info) for code, info in current.items()}
    for code, c in later.items():
        if c.from_normalised is None:
            out.pop(code, None)
        else:
            info = out.setdefault(code, {"derived": False})
            info.update({"raw": c.from_raw, "normalised": c.from_normalised, "event_id": None,
                         "observed_at": None})
    return out



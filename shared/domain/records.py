"""The stored shapes of the index, each named once, with one to_stored/from_stored pair.

Redis holds these in compact spellings (one-letter keys, list slots, delimited strings)
that no migration may change. Only this module and shared/store/ know those spellings:
everything else reads the records' attributes. Hot paths read many history entries and
changes, so those are NamedTuples (one small tuple each, built in one call).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

from shared.contract.jsonfast import compact
from shared.domain.outcome import Outcome

_NOTHING: Mapping[str, Any] = MappingProxyType({})


# ------------------------------------------------------------------ indicator change


class IndicatorChange(NamedTuple):
    """How one indicator moved in one commit (or across several, merged).

    Stored as the list [from_raw, from_norm, to_raw, to_norm, event_id, feed, occurred_at].
    """

    from_raw: float | None
    from_normalised: float | None
    to_raw: float | None
    to_normalised: float | None
    event_id: str | None  # the event that set the new value (None once undone or unknown)
    feed: str | None  # the feed that sent it
    occurred_at: str | None  # that event's occurred_at

    def to_stored(self) -> list[Any]:
        """Return the stored list."""
        return list(self)

    @classmethod
    def from_stored(cls, raw: Sequence[Any]) -> IndicatorChange:
        """Read a stored list."""
        return cls._make(raw)

    def moved(self) -> bool:
        """Tell whether the raw or normalised value differs between the two ends."""
        return (self.from_raw, self.from_normalised) != (self.to_raw, self.to_normalised)

    def then(self, newer: IndicatorChange) -> IndicatorChange:
        """Return the change across this one and a newer one: from here, to where it ended."""
        return newer._replace(from_raw=self.from_raw, from_normalised=self.from_normalised)


def changes_from_stored(raw: Mapping[str, Sequence[Any]] | None) -> dict[str, IndicatorChange]:
    """Read stored indicator changes {code: list}."""
    make = IndicatorChange._make
    return {code: make(c) for code, c in raw.items()} if raw else {}


def changes_to_stored(changes: Mapping[str, IndicatorChange]) -> dict[str, list[Any]]:
    """Return indicator changes as stored {code: list}."""
    return {code: list(c) for code, c in changes.items()}


# ------------------------------------------------------------------ history entry

# The members the commit script writes itself at the head of an entry (version, time, rank).
_ENTRY_HEAD = 3


class HistoryEntry(NamedTuple):
    """A city's kept state at one ranking version (one member of its history sorted set).

    Stored as compact JSON: v version, t commit ms, r rank then, m methodology, d index date,
    s score, c coverage, why reason, p pillar scores, pc pillar coverage, ld last_data_at,
    st stale, n events folded, x indicator changes. Snapshot reads leave x out.
    """

    version: int
    committed_ms: int
    rank: int | None
    methodology: str | None
    index_date: str | None
    score: float | None
    coverage: float | None
    reason: str | None
    pillars: dict[str, float | None]
    pillar_coverage: dict[str, float]
    last_data_at: str | None
    stale: bool
    events: int
    changes: dict[str, IndicatorChange]

    def to_stored(self) -> dict[str, Any]:
        """Return the stored JSON object (keys in the order the commit writes them)."""
        return {"v": self.version, "t": self.committed_ms, "r": self.rank,
                "m": self.methodology, "d": self.index_date, "s": self.score,
                "c": self.coverage, "why": self.reason, "p": self.pillars,
                "pc": self.pillar_coverage, "ld": self.last_data_at, "st": self.stale,
                "n": self.events, "x": changes_to_stored(self.changes)}

    @classmethod
    def from_stored(cls, raw: Mapping[str, Any]) -> HistoryEntry:
        """Read a stored JSON object (members absent from older entries take their defaults)."""
        get = raw.get
        x = get("x")
        return cls(raw["v"], raw["t"], get("r"), get("m"), get("d"), get("s"), get("c"),
                   get("why"), get("p") or {}, get("pc") or {}, get("ld"), get("st", True),
                   get("n", 0), changes_from_stored(x) if x else {})

    def stored_body(self) -> str:
        """Return the stored members after v, t and r as a complete JSON object: the commit
        script puts those three first itself (the version and time it assigns, the rank then)."""
        members = list(self.to_stored().items())[_ENTRY_HEAD:]
        return compact(dict(members))


# ------------------------------------------------------------------ ranking versions


def _int_pair(member: str) -> tuple[int, int]:
    """Read '<int>:<int>'."""
    a, _, b = member.partition(":")
    return int(a), int(b)


class VersionMember(NamedTuple):
    """A kept ranking version and its commit time: '<version>:<ms>' in the versions zset."""

    version: int
    committed_ms: int

    def to_stored(self) -> str:
        """Return the stored member."""
        return f"{self.version}:{self.committed_ms}"

    @classmethod
    def from_stored(cls, member: str) -> VersionMember:
        """Read a stored member."""
        return cls(*_int_pair(member))


class ScoredMember(NamedTuple):
    """A city's consumed watermark and the ranking version of the commit that reached it:
    '<watermark>:<version>' in its scored-versions zset."""

    watermark: int
    ranking_version: int

    def to_stored(self) -> str:
        """Return the stored member."""
        return f"{self.watermark}:{self.ranking_version}"

    @classmethod
    def from_stored(cls, member: str) -> ScoredMember:
        """Read a stored member."""
        return cls(*_int_pair(member))


# ------------------------------------------------------------------ inbox and dead letters


class InboxHead(NamedTuple):
    """The first of an inbox's two elements per event: '<log id> <feed>' (the log id's
    milliseconds are the time the event was accepted)."""

    log_id: str
    feed: str

    def to_stored(self) -> str:
        """Return the stored element."""
        return f"{self.log_id} {self.feed}"

    @classmethod
    def from_stored(cls, raw: str) -> InboxHead:
        """Read a stored element."""
        log_id, _, feed = raw.partition(" ")
        return cls(log_id, feed)

    def ack_ms(self) -> int | None:
        """Return when the event was accepted (ms), or None if the log id is not a stream id."""
        try:
            return int(self.log_id.split("-", 1)[0])
        except ValueError:
            return None


class DeadLetter(NamedTuple):
    """An event that could not be applied: '<city> <submission key> <reason>' in the list."""

    city_id: str
    event_id: str
    reason: str

    def to_stored(self, key_prefix: str) -> str:
        """Return the stored row (key_prefix: the store's submission key prefix)."""
        return f"{self.city_id} {key_prefix}{self.event_id} {self.reason}"

    @classmethod
    def from_stored(cls, row: str, key_prefix: str) -> DeadLetter:
        """Read a stored row."""
        city, key, reason = row.split(" ", 2)
        return cls(city, key.removeprefix(key_prefix), reason)


# ------------------------------------------------------------------ city state


class EntryVersion(NamedTuple):
    """The event that holds a city state entry (its "v": [occurred_at UTC text, event id]);
    entries compare by it (last writer wins)."""

    occurred: str
    event_id: str

    def to_stored(self) -> list[str]:
        """Return the stored list."""
        return [self.occurred, self.event_id]

    @classmethod
    def from_stored(cls, raw: Sequence[str]) -> EntryVersion:
        """Read a stored list."""
        return cls(raw[0], raw[1])

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> EntryVersion:
        """Return the version of a stored state entry (profile, indicator or project)."""
        return cls.from_stored(entry["v"])


def state_entry(version: Sequence[str], at: str, **fields: Any) -> dict[str, Any]:
    """Return a city state entry as stored: its event's version, occurred_at and data."""
    return {"v": EntryVersion(version[0], version[1]).to_stored(), "at": at, **fields}


# ------------------------------------------------------------------ rank bands


class RankBand(NamedTuple):
    """A city's rank band over the sensitivity draws: [median, p05, p95] in the bands document."""

    median: int
    p05: int
    p95: int

    def to_stored(self) -> list[int]:
        """Return the stored list."""
        return [self.median, self.p05, self.p95]

    @classmethod
    def from_stored(cls, raw: Sequence[int]) -> RankBand:
        """Read a stored list."""
        return cls(raw[0], raw[1], raw[2])


# ------------------------------------------------------------------ change message

# What the commit script writes itself, in its order; the rest is what the recompute adds.
_SCRIPT_FIELDS = 6


class ChangeMessage(NamedTuple):
    """One ranking change on the change stream (its JSON is served to viewers as is).

    The commit script writes ranking_version, t (commit ms), rank, old_rank, rank_delta and
    city_id; the recompute adds the rest (stored_extras), which the script appends.
    """

    ranking_version: int
    committed_ms: int
    rank: int | None
    old_rank: int | None
    rank_delta: int | None  # new rank minus old rank (positive: the city fell)
    city_id: str
    index_date: str | None = None
    score: float | None = None
    pillars: Mapping[str, float | None] = _NOTHING
    events: int = 0
    old_score: float | None = None
    score_delta: float | None = None
    drivers: Mapping[str, Any] = _NOTHING

    def to_stored(self) -> dict[str, Any]:
        """Return the stored JSON object, keys in the order they are written."""
        return {"ranking_version": self.ranking_version, "t": self.committed_ms,
                "rank": self.rank, "old_rank": self.old_rank, "rank_delta": self.rank_delta,
                "city_id": self.city_id, "index_date": self.index_date, "score": self.score,
                "pillars": dict(self.pillars), "events": self.events,
                "old_score": self.old_score, "score_delta": self.score_delta,
                "drivers": dict(self.drivers)}

    @classmethod
    def from_stored(cls, raw: Mapping[str, Any]) -> ChangeMessage:
        """Read a stored JSON object (messages of older workers may lack the extras)."""
        get = raw.get
        return cls(raw["ranking_version"], raw["t"], get("rank"), get("old_rank"),
                   get("rank_delta"), raw["city_id"], get("index_date"), get("score"),
                   get("pillars") or _NOTHING, get("events", 0), get("old_score"),
                   get("score_delta"), get("drivers") or _NOTHING)

    def stored_extras(self) -> str:
        """Return the members the recompute adds as a complete JSON object; the commit script
        puts its own members first (ranking_version ... city_id)."""
        members = list(self.to_stored().items())[_SCRIPT_FIELDS:]
        return compact(dict(members))


# ------------------------------------------------------------------ what the store hands the handlers


@dataclass(frozen=True)
class CommitOutcome:
    status: str  # "ok", "conflict" (retry) or "methodology" (this worker is outdated)
    ranking_version: int = 0
    old_rank: int | None = None
    new_rank: int | None = None
    clean: bool = False


@dataclass(frozen=True)
class Commit:
    city_id: str
    rev: str
    consumed: int
    state_json: str
    result_json: str
    card_json: str
    score: float | None
    reason: str
    index_date: str
    methodology: str
    now_ms: int
    changed: bool
    history_body: str  # HistoryEntry.stored_body(): the entry without v, t, r (the commit adds them)
    pillars: Sequence[tuple[str, float | None]]
    feeds: Sequence[tuple[str, int]] = ()  # events consumed per feed (their backlog shares)
    dead: Sequence[tuple[str, str]] = ()  # (event id, reason) of events that could not apply
    # the change message's JSON object (score, drivers) without the members the commit puts
    # first (ranking_version, t, rank, old_rank, rank_delta, city_id)
    change_body: str = "{}"  # ChangeMessage.stored_extras()


@dataclass(frozen=True)
class CityWork:
    """A consistent snapshot of what a recompute needs."""

    city_id: str
    rev: str
    state_json: str | None
    result_json: str | None
    items: list[tuple[str, str]]  # ('<log id> <feed>', canonical json), oldest first
    index_date: str  # '' while no index.ticked was applied (the methodology's base date)
    methodology: str


@dataclass(frozen=True)
class Feed:
    name: str
    cities: frozenset[str] | None  # None: an admin feed that may write every city
    created_at: float

    @property
    def admin(self) -> bool:
        """Tell whether the feed may write every city (and create cities)."""
        return self.cities is None

    def may_write(self, city: str) -> bool:
        """Tell whether the feed may write this city."""
        return self.cities is None or city in self.cities


@dataclass(frozen=True)
class Hook:
    id: str
    url: str
    on: str
    cities: list[str] | None
    min_move: float
    secret: str
    enabled: bool = True
    created_at: float = 0.0
    disabled_reason: str = ""

    def public(self) -> dict[str, Any]:
        """Return the hook without its secret."""
        out = asdict(self)
        out.pop("secret")
        return out


def public_entry(e: HistoryEntry) -> dict[str, Any]:
    """Return a history entry in the API's words."""
    return {
        "ranking_version": e.version, "t": e.committed_ms, "rank": e.rank,
        "methodology_version": e.methodology, "index_date": e.index_date,
        "score": e.score, "coverage": e.coverage, "reason": e.reason,
        "pillars": e.pillars, "pillar_coverage": e.pillar_coverage,
        "last_data_at": e.last_data_at, "stale": e.stale, "events": e.events,
        "changes": [
            {"indicator": code, "from_value": c.from_raw, "from_normalised": c.from_normalised,
             "to_value": c.to_raw, "to_normalised": c.to_normalised, "event_id": c.event_id,
             "feed": c.feed, "occurred_at": c.occurred_at}
            for code, c in e.changes.items()],
    }


@dataclass(frozen=True)
class Moment:
    """A past moment resolved against the kept history."""

    version: int  # the ranking version in force then
    version_t: int  # when that version was committed (ms)
    resolved_ms: int  # the instant whose state is returned (<= the requested one)


class ScoreAt(NamedTuple):
    """A city's overall score in force at a version (None: unranked) and its entry's version."""

    score: float | None
    version: int


class TooOld(LookupError):
    """A moment before the oldest kept point of history."""

    def __init__(self, oldest_t: int | None) -> None:
        super().__init__("before the oldest kept point" if oldest_t else "no history kept yet")
        self.oldest_t = oldest_t


@dataclass(frozen=True)
class IndexMeta:
    index_date: str | None  # None until an index.ticked: the methodology base date applies
    ranking_version: int
    methodology: str | None
    updated_ms: int | None
    bands_version: int = -1  # ranking version the published rank bands were computed for


@dataclass(frozen=True)
class AppendResult:
    """What one append answered (append.lua)."""

    outcomes: tuple[Outcome, ...]  # one per event, in order
    rebuild: bool  # an index.ticked moved the index date: every city is dirty
    enqueue: list[str]  # cities whose recompute must be sent (pending flag newly set)

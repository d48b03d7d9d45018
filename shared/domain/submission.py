"""The submission record: what the store keeps about each event id it was sent.

Stored as one pipe-delimited string (Lua writes it: shared/store/scripts/append.lua, and
parses it with scripts/lib/submission.lua):

    'city|log id|position|content hash|feed'            accepted (a tick: no city,
                                                         position 0, then '|applied' or
                                                         '|superseded')
    '...|failed|<reason>'                                dead-lettered at scoring
    'city|held|<ms held>|hash|feed|<event type>|held'    held for review
    'city|held|<ms held>|hash|feed|<event type>|rejected|<reason>'

Records held before projects were reviewed name no event type. A reason may hold '|'.
"""

from __future__ import annotations

from dataclasses import dataclass

ACCEPTED = "accepted"  # stored, not yet folded into its city (no tail)
APPLIED = "applied"  # a tick that moved the index date
SUPERSEDED = "superseded"  # a tick older than the one in force
FAILED = "failed"  # could not be applied (dead-lettered)
HELD = "held"  # waiting for an operator's review
REJECTED = "rejected"  # refused at review

_HELD_LOG = "held"  # the log id slot of a held (or rejected) record


@dataclass(frozen=True, slots=True)
class Submission:
    """One submitted event's record, as stored under its id."""

    city_id: str  # '' for an index tick
    log_id: str  # its log entry's id ('' while held or once rejected: never logged)
    position: int  # its place in the city's sequence (a tick: 0; held: the ms it was held)
    content_hash: str  # of its canonical JSON ('' for a repaired inbox entry)
    feed: str
    status: str = ACCEPTED
    reason: str | None = None  # why it failed or was rejected
    event_type: str | None = None  # held or rejected only (None in records that predate it)

    @property
    def held_for_review(self) -> bool:
        """Tell whether it went to review (held or rejected) instead of the log."""
        return self.status in (HELD, REJECTED)

    def to_stored(self) -> str:
        """Return the stored string."""
        log_id = _HELD_LOG if self.held_for_review else self.log_id
        parts = [self.city_id, log_id, str(self.position), self.content_hash, self.feed]
        if self.held_for_review and self.event_type is not None:
            parts.append(self.event_type)
        if self.status != ACCEPTED:
            parts.append(self.status)
        if self.reason is not None:
            parts.append(self.reason)
        return "|".join(parts)

    @classmethod
    def from_stored(cls, text: str) -> Submission:
        """Read a stored string (the exact inverse of to_stored)."""
        city, log_id, position, content_hash, feed, *more = text.split("|", 5)
        tail = more[0] if more else None
        event_type = None
        if log_id == _HELD_LOG:
            log_id = ""
            head, _, rest = (tail or "").partition("|")
            if "." in head:  # an event type (statuses have no dot)
                event_type, tail = head, rest
        if tail is None:
            return cls(city, log_id, int(position), content_hash, feed)
        status, sep, reason = tail.partition("|")
        return cls(city, log_id, int(position), content_hash, feed, status,
                   reason if sep else None, event_type)

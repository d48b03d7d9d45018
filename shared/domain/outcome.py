"""What the append step answers for each event it was given (one letter each, from Lua)."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """One event's outcome in an append; the value is the letter append.lua returns."""

    ACCEPTED = "a"
    """Stored: in the log and its city's inbox (a tick: applied or superseded)."""
    DUPLICATE = "d"
    """Already stored: the same id with the same content from the same feed."""
    ID_REUSED = "r"
    """The id names another event (other content, or sent by another feed)."""
    UNKNOWN_CITY = "n"
    """The city does not exist; only an admin feed creates cities."""
    UNKNOWN_PROJECT = "u"
    """A removal of a project the city never had."""
    IDENTITY_CHANGE = "i"
    """A non-admin feed tried to set or change the city's name, country or region."""
    PLACE_CHANGE = "g"
    """A non-admin feed moved the city beyond the tolerance or changed its population."""
    PROJECT_LIMIT = "l"
    """The city already holds the most project records allowed."""
    HELD = "h"
    """Held for an operator's review: stored, not yet in the log or a score."""
    HELD_CAP = "q"
    """Would be held, but the feed's held events are at their cap."""
    NOT_HELD = "x"
    """A release of an event that is not held (released, rejected or never held)."""


def outcomes_of(letters: str) -> tuple[Outcome, ...]:
    """Return the outcomes an append answered, in the order of its events."""
    return tuple(Outcome(letter) for letter in letters)

"""The submission record reads back exactly what was stored, in every shape."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.submission import (
    ACCEPTED,
    APPLIED,
    FAILED,
    HELD,
    REJECTED,
    SUPERSEDED,
    Submission,
)

STORED = [
    "berlin|1700000000000-0|12|0a1b2c3d4e5f6071|partner",  # accepted
    "|1700000000000-1|0|0a1b2c3d4e5f6071|admin|applied",  # a tick
    "|1700000000000-1|0|0a1b2c3d4e5f6071|admin|superseded",
    "berlin|1700000000000-0|12|0a1b2c3d4e5f6071|partner|failed|ValueError: a|b",
    "berlin|1700000000000-0|0||test",  # a repaired inbox entry (no hash)
    "berlin|held|1700000000000|0a1b2c3d4e5f6071|partner|indicator.observed|held",
    "berlin|held|1700000000000|0a1b2c3d4e5f6071|partner|project.upserted|rejected|too far",
    "berlin|held|1700000000000|0a1b2c3d4e5f6071|partner|held",  # held before types were kept
    "berlin|held|1700000000000|0a1b2c3d4e5f6071|partner|rejected|why|not",
]


@pytest.mark.parametrize("text", STORED)
def test_every_stored_shape_round_trips(text: str) -> None:
    """from_stored then to_stored gives the stored bytes back."""
    assert Submission.from_stored(text).to_stored() == text


def test_fields_are_named() -> None:
    """A held record's slots read as what they mean."""
    sub = Submission.from_stored(STORED[6])
    assert (sub.city_id, sub.log_id, sub.position, sub.feed) == ("berlin", "", 1700000000000,
                                                                 "partner")
    assert (sub.status, sub.event_type, sub.reason) == (REJECTED, "project.upserted", "too far")
    assert sub.held_for_review
    failed = Submission.from_stored(STORED[3])
    assert (failed.status, failed.reason, failed.held_for_review) == (
        FAILED, "ValueError: a|b", False)


slot = st.text(st.characters(blacklist_characters="|", blacklist_categories=("Cs",)), max_size=8)


@given(city=slot, log_id=slot.filter(lambda s: s != "held"),
       position=st.integers(0, 2**53), content_hash=slot, feed=slot,
       status=st.sampled_from([ACCEPTED, APPLIED, SUPERSEDED, FAILED]),
       reason=st.none() | st.text(max_size=12))
def test_logged_records_round_trip(city: str, log_id: str, position: int, content_hash: str,
                                   feed: str, status: str, reason: str | None) -> None:
    """A logged record comes back equal from its stored string."""
    sub = Submission(city, log_id, position, content_hash, feed, status,
                     reason if status == FAILED else None)
    assert Submission.from_stored(sub.to_stored()) == sub


@given(city=slot, position=st.integers(0, 2**53), content_hash=slot, feed=slot,
       status=st.sampled_from([HELD, REJECTED]),
       event_type=st.none() | st.from_regex(r"\A[a-z]+\.[a-z]+\Z"),
       reason=st.text(max_size=12))
def test_held_records_round_trip(city: str, position: int, content_hash: str, feed: str,
                                 status: str, event_type: str | None, reason: str) -> None:
    """A held or rejected record comes back equal from its stored string."""
    sub = Submission(city, "", position, content_hash, feed, status,
                     reason if status == REJECTED else None, event_type)
    assert Submission.from_stored(sub.to_stored()) == sub

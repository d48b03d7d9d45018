"""The history retention rules (shared/domain/history_rules.py): tiers, moments resolved, thinning."""

from __future__ import annotations

import pytest

from shared.domain.history_rules import (
    Tier,
    TiersError,
    bucket,
    describe,
    merge_changes,
    parse_tiers,
    resolution_at,
    resolve_moment,
    span_ms,
    span_text,
    thin,
)
from shared.domain.records import IndicatorChange

S, M, H, D = 1_000, 60_000, 3_600_000, 86_400_000
DEFAULT = "1h=all,1d=10m,14d=1h,400d=1d"


def test_the_default_tiers_parse_youngest_first() -> None:
    assert parse_tiers(DEFAULT) == [Tier(H, 0), Tier(D, 10 * M), Tier(14 * D, H),
                                    Tier(400 * D, D)]
    assert describe(parse_tiers(DEFAULT)) == (
        "every ranking version up to 1h old; one point per city per 10m up to 1d old; "
        "one point per city per 1h up to 14d old; one point per city per 1d up to 400d old")


@pytest.mark.parametrize(("text", "ms"), [("30s", 30 * S), ("10m", 10 * M), ("1h", H),
                                          ("400d", 400 * D), (" 2h ", 2 * H)])
def test_spans_read_and_print_back(text: str, ms: int) -> None:
    assert span_ms(text) == ms
    assert span_ms(span_text(ms)) == ms


def test_a_span_prints_in_its_largest_whole_unit() -> None:
    assert [span_text(v) for v in (90 * S, 120 * S, 36 * H, 48 * H, 1500)] == [
        "90s", "2m", "36h", "2d", "1500ms"]


@pytest.mark.parametrize(("spec", "says"), [
    ("1h", "must be <age>=<all or resolution>"),
    ("1h=all,1x=10m", "is not a span"),
    ("0h=all", "is not a span"),
    ("1h=all,1h=10m", "ages must grow"),
    ("1d=10m,14d=15m", "multiple of the previous one"),
    ("1d=10m,14d=all", "multiple of the previous one"),
    ("1d=7m", "must divide a day or be whole days"),
    ("", "must be <age>=<all or resolution>"),
])
def test_a_tier_setting_that_breaks_a_rule_names_it(spec: str, says: str) -> None:
    with pytest.raises(TiersError, match=says.replace("(", r"\(").replace(")", r"\)")):
        parse_tiers(spec)


def test_whole_days_and_divisors_of_a_day_are_resolutions() -> None:
    assert parse_tiers("1h=all,2d=1d,30d=2d")[-1] == Tier(30 * D, 2 * D)
    assert parse_tiers("1d=90s")[0].resolution_ms == 90 * S


def test_the_resolution_kept_depends_on_age_and_ends_after_the_last_tier() -> None:
    tiers = parse_tiers(DEFAULT)
    assert resolution_at(tiers, 0) == 0
    assert resolution_at(tiers, H - 1) == 0
    assert resolution_at(tiers, H) == 10 * M
    assert resolution_at(tiers, 13 * D) == H
    assert resolution_at(tiers, 399 * D) == D
    assert resolution_at(tiers, 400 * D) is None


def test_a_moment_resolves_to_the_end_of_its_last_whole_bucket() -> None:
    tiers = parse_tiers(DEFAULT)
    now = 1_000 * D
    recent = now - 5 * M
    assert resolve_moment(tiers, recent, now) == recent  # every version kept: exact
    two_hours_ago = now - 2 * H + 3 * M  # in the 10-minute tier, 3 minutes into a bucket
    resolved = resolve_moment(tiers, two_hours_ago, now)
    assert resolved == (two_hours_ago + 1) // (10 * M) * (10 * M) - 1
    assert resolved <= two_hours_ago and (resolved + 1) % (10 * M) == 0
    end_of_bucket = now - 2 * H - 1  # the last millisecond of a bucket is itself
    assert (end_of_bucket + 1) % (10 * M) == 0
    assert resolve_moment(tiers, end_of_bucket, now) == end_of_bucket
    ancient = now - 500 * D  # beyond the last tier: the last tier's resolution
    assert (resolve_moment(tiers, ancient, now) + 1) % D == 0


def test_buckets_are_utc_aligned() -> None:
    assert bucket(D - 1, D) == 0 and bucket(D, D) == 1
    assert bucket(10 * M + 5, 10 * M) == 1


def change(frm: float, to: float, event: str) -> IndicatorChange:
    """An indicator change from frm to to (normalised: a tenth), set by event."""
    return IndicatorChange(frm, frm / 10, to, to / 10, event, "feed", "2025-06-01T00:00:00Z")


def test_merged_changes_start_at_the_older_and_end_at_the_newer() -> None:
    older = {"a": change(1, 2, "e1"), "b": change(5, 6, "e2")}
    newer = {"a": change(2, 3, "e3"), "c": change(7, 8, "e4")}
    assert merge_changes(older, newer) == {
        "a": IndicatorChange(1, 0.1, 3, 0.3, "e3", "feed", "2025-06-01T00:00:00Z"),
        "b": change(5, 6, "e2"), "c": change(7, 8, "e4")}
    assert older["a"] == change(1, 2, "e1")  # the inputs are not changed


def test_thinning_keeps_the_last_entry_of_each_bucket_with_the_changes_it_absorbed() -> None:
    entries = [(1, 0, {"a": change(1, 2, "e1")}),
               (2, 5 * M, {"a": change(2, 3, "e2")}),
               (3, 9 * M, {"b": change(4, 5, "e3")}),  # last of the first 10-minute bucket
               (4, 12 * M, {"a": change(3, 4, "e4")}),  # alone in its bucket
               (5, 21 * M, {"a": change(4, 6, "e5")}),
               (6, 25 * M, {})]  # last of the third bucket, and the newest
    drop, merged = thin(entries, 10 * M)
    assert drop == [1, 2, 5]
    assert merged == {3: {"a": IndicatorChange(1, 0.1, 3, 0.3, "e2", "feed",
                                           "2025-06-01T00:00:00Z"),
                          "b": change(4, 5, "e3")},
                      6: {"a": change(4, 6, "e5")}}


def test_thinning_one_entry_per_bucket_drops_nothing() -> None:
    assert thin([(1, 0, {}), (2, H, {}), (3, 2 * H, {})], H) == ([], {})
    assert thin([], H) == ([], {})

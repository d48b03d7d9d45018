"""The read side's per-version cache: built once per version, rebuilt when it moves."""

from __future__ import annotations

from typing import Any

from shared.queries.cache import MAX_BODIES, VersionCache


class CountingReader:
    """A ranking reader that answers the version it is at and counts its reads."""

    def __init__(self) -> None:
        self.version = 1
        self.reads = 0

    def ranked(self, pillar: str | None) -> tuple[int, list[dict[str, Any]]]:
        self.reads += 1
        return self.version, [{"city_id": "seoul", "name": "Seoul", "country": "KR",
                               "score": 82.0, "rank": 1, "pillars": {}}]

    def ranks(self, pillar: str | None) -> tuple[int, dict[str, int]]:
        self.reads += 1
        return self.version, {"seoul": 1}


def test_rows_and_ranks_are_read_once_per_version() -> None:
    reader = CountingReader()
    cache = VersionCache(reader)
    assert cache.ranked(1, None)[0] == 1
    cache.ranked(1, None)
    cache.ranks(1, None)
    cache.ranks(1, None)
    assert reader.reads == 2
    reader.version = 2
    assert cache.ranked(2, None)[0] == 2 and cache.ranks(2, None) == {"seoul": 1}
    assert reader.reads == 4


def test_a_body_is_rebuilt_when_the_ranking_or_the_bands_move() -> None:
    cache = VersionCache(CountingReader())
    builds: list[int] = []

    def build() -> dict[str, int]:
        builds.append(1)
        return {"n": len(builds)}

    assert cache.body("k", 1, 0, build) == (1, {"n": 1})
    assert cache.body("k", 1, 0, build) == (1, {"n": 1})
    assert cache.body("k", 1, 1, build) == (1, {"n": 2})  # bands moved
    assert cache.body("k", 2, 1, build) == (2, {"n": 3})  # ranking moved
    assert cache.versioned("bands", -1, lambda: {"never": True}) is None  # not published


def test_the_cache_is_bounded() -> None:
    cache = VersionCache(CountingReader())
    for n in range(MAX_BODIES * 3):
        cache.body(("q", n), 1, 0, lambda: {})
    assert len(cache._values) <= MAX_BODIES + 1

"""The read side's one per-version cache: bodies and rows kept until the ranking (or bands)
version they were built from changes.

Every web process holds one. A reader is asked for the current versions once per request
(the caller passes them in); what was built for older versions is rebuilt, never served.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from shared.domain import readmodel

# Distinct bodies kept at once (query variants); past it the cache starts over.
MAX_BODIES = 256


class RankedReader(Protocol):
    def ranked(self, pillar: str | None) -> tuple[int, list[dict[str, Any]]]: ...

    def ranks(self, pillar: str | None) -> tuple[int, dict[str, int]]: ...


class VersionCache:
    """Values keyed by what they are and stamped with the version they were built at."""

    def __init__(self, reader: RankedReader) -> None:
        self.reader = reader
        self._values: dict[Any, tuple[Any, ...]] = {}
        self._lock = threading.Lock()

    def _get(self, key: Any) -> tuple[Any, ...] | None:
        with self._lock:
            return self._values.get(key)

    def _put(self, key: Any, value: tuple[Any, ...]) -> None:
        with self._lock:
            if len(self._values) > MAX_BODIES:
                self._values.clear()
            self._values[key] = value

    def ranked(self, version: int, pillar: str | None) -> tuple[int, list[dict[str, Any]]]:
        """Return (version, ranked rows in the read model) for the ranking at `version`."""
        hit = self._get(pillar)
        if hit is not None and hit[0] == version:
            return hit[0], hit[1]
        fresh_version, rows = self.reader.ranked(pillar)
        fresh = (fresh_version, readmodel.rows(rows))
        self._put(pillar, fresh)
        return fresh

    def ranks(self, version: int, pillar: str | None) -> dict[str, int]:
        """Return every ranked city's competition rank for the ranking at `version`."""
        hit = self._get(("ranks", pillar))
        if hit is not None and hit[0] == version:
            ranks: dict[str, int] = hit[1]
            return ranks
        fresh = self.reader.ranks(pillar)
        self._put(("ranks", pillar), fresh)
        return fresh[1]

    def versioned(self, key: Any, version: int, build: Callable[[], Any]) -> Any:
        """Return what build() gives, built once per `version` (never for a negative one)."""
        if version < 0:
            return None
        hit = self._get(("versioned", key))
        if hit is not None and hit[0] == version:
            return hit[1]
        value = build()
        self._put(("versioned", key), (version, value))
        return value

    def body(self, key: Any, version: int, bands: int, build: Callable[[], Any]
             ) -> tuple[int, Any]:
        """Return (version, body) for key, built once per ranking and bands version."""
        hit = self._get(("body", key))
        if hit is not None and hit[0] == version and hit[2] == bands:
            return hit[0], hit[1]
        body = build()
        self._put(("body", key), (version, body, bands))
        return version, body

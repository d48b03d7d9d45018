"""Rank bands in Redis: the published bands, their version and the debounce flag."""

from __future__ import annotations

from typing import Any

from shared.contract.jsonfast import compact, loads
from shared.store import keys as K
from shared.store import lua
from shared.store.connection import Client


class BandStore:
    """Read and publish the rank bands; debounce their recompute."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._write = lua.register(client, "bands_write")

    def request(self, debounce_seconds: int) -> bool:
        """Set the pending flag unless set; True means the caller should queue one run."""
        return bool(self.client.set(K.BANDS_PENDING, "1", nx=True, ex=debounce_seconds))

    def debounce_left(self) -> int:
        """Return the seconds before another run may be queued (0 or less: now)."""
        return int(self.client.ttl(K.BANDS_PENDING))

    def versions(self) -> tuple[int, int]:
        """Return (ranking version, version of the published bands; -1 if none)."""
        version, bands = self.client.hmget(K.INDEX, "version", "bands")
        return int(version or 0), int(bands) if bands is not None else -1

    def behind(self) -> bool:
        """Tell whether the bands lag the ranking and no recompute is queued."""
        ranking, bands = self.versions()
        return bands < ranking and not self.client.exists(K.BANDS_PENDING)

    def publish(self, ranking_version: int, draws: int, bands: dict[str, list[int]]) -> bool:
        """Store bands computed for a ranking version unless newer ones are stored."""
        body = compact({"ranking_version": ranking_version, "draws": draws, "bands": bands})
        return bool(self._write(args=[ranking_version, body]))

    def read(self) -> dict[str, Any] | None:
        """Return {ranking_version, draws, bands: {city: [median, p05, p95]}}, or None."""
        raw = self.client.get(K.BANDS)
        return None if raw is None else dict(loads(raw))

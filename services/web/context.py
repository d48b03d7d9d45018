"""The web service's context: the adapters from the composition root, plus the web's own parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import g, has_request_context, request

from services.web.caching import build_id
from services.web.fanout import Fanout
from shared.bootstrap import Web
from shared.contract.methodology import Methodology
from shared.domain.records import IndexMeta
from shared.domain.state import CityState
from shared.platform.settings import Settings
from shared.queries import params
from shared.queries.cache import VersionCache
from shared.queries.params import Point
from shared.queries.timeline import Timeline
from shared.store.connection import Client
from shared.store.ranking import RankingReader


@dataclass
class WebContext:
    """The web's adapters (built by the composition root) plus what is the web's own: the
    live stream's fan-out, the build id, and the readings taken once per request."""

    settings: Settings
    web: Web = field(init=False)
    fanout: Fanout = field(init=False)
    build: str = field(init=False)

    def __post_init__(self) -> None:
        self.web = Web(self.settings, clock=self.now_ms)
        self.fanout = Fanout(self.web.change_reader, self.reader, self.settings.sse_max_viewers)
        self.build = build_id()

    @property
    def client(self) -> Client:
        return self.web.client

    @property
    def methodology(self) -> Methodology:
        return self.web.methodology

    @property
    def reader(self) -> RankingReader:
        return self.web.reader

    @property
    def timeline(self) -> Timeline:
        return self.web.timeline

    @property
    def cache(self) -> VersionCache:
        return self.web.cache

    def stamp(self) -> IndexMeta:
        """Return the index metadata (ranking version, date), read once per request."""
        meta: IndexMeta | None = g.get("aicity_meta")
        if meta is None:
            meta = g.aicity_meta = self.reader.meta()
        return meta

    def now_ms(self) -> int:
        """Return the Redis clock (the one versions are stamped with), read once per request:
        every moment of a request, its cache key and its ETag count from this reading."""
        if not has_request_context():
            return self.timeline.history.now_ms()
        now: int | None = g.get("aicity_now")
        if now is None:
            now = g.aicity_now = self.timeline.history.now_ms()
        return now

    def moment(self, name: str) -> Point | None:
        """Return the request's as_of= or until= (None if not given), parsed once."""
        moments: dict[str, Point | None] = g.setdefault("aicity_moments", {})
        if name not in moments:
            text = request.args.get(name) or None
            moments[name] = None if text is None else params.moment(
                name, text, self.now_ms(), spans=name != "as_of")
        return moments[name]

    def since(self) -> Point:
        """Return the request's since= (default: the start of the UTC day), parsed once."""
        point: Point | None = g.get("aicity_since")
        if point is None:
            point = g.aicity_since = params.since_point(request.args.get("since") or None,
                                                        self.now_ms())
        return point

    def ranked(self, pillar: str | None) -> tuple[int, list[dict[str, Any]]]:
        """Return the ranked rows in the read model, cached per ranking version."""
        return self.cache.ranked(self.stamp().ranking_version, pillar)

    def ranks(self, pillar: str | None) -> dict[str, int]:
        """Return every ranked city's competition rank, cached per ranking version."""
        return self.cache.ranks(self.stamp().ranking_version, pillar)

    def city_state(self, city_id: str) -> tuple[CityState | None, str | None]:
        """Return a city's published state and its index date (read-only; None: unknown)."""
        raw, day = self.reader.published_state(city_id)
        return (None if raw is None else CityState.from_dict(raw)), day

    def bands(self) -> dict[str, Any] | None:
        """Return the published rank bands, cached per bands version (never computed here)."""
        bands: dict[str, Any] | None = self.cache.versioned(
            "bands", self.stamp().bands_version, self.web.bands.read)
        return bands

    def cached_body(self, key: Any, build: Any) -> tuple[int, Any]:
        """Return (ranking version, body) for key, built once per ranking and bands version."""
        meta = self.stamp()
        return self.cache.body(key, meta.ranking_version, meta.bands_version, build)

    def ready(self) -> tuple[bool, dict[str, str]]:
        """Check Redis is reachable and the methodology is loaded (see Web.ready)."""
        return self.web.ready()

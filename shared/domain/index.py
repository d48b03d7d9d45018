"""The whole index computed offline from a list of events: the workers' math, in one process."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from shared.contract.event_files import first_of_each_id
from shared.contract.events import Event, EventCodec
from shared.contract.methodology import Methodology
from shared.domain.scoring import CityResult, RankedItem, rank_results, score_city
from shared.domain.state import CityState, build_states


@dataclass(frozen=True)
class IndexSnapshot:
    index_date: date
    methodology_version: str
    results: dict[str, CityResult]
    ranking: list[RankedItem]
    states: dict[str, CityState] = field(default_factory=dict)  # what each city was scored from

    def unranked(self) -> list[tuple[str, str]]:
        """Return (city_id, reason) of cities without an overall score, by city id."""
        return sorted((c, r.reason or "") for c, r in self.results.items() if r.score is None)


def index_date_of(tick_date: str | None, methodology: Methodology) -> date:
    """Return the index date: the winning tick's date, else the methodology's base date."""
    return date.fromisoformat(tick_date) if tick_date else methodology.base_date


def compute_index(events: Iterable[Event], methodology: Methodology) -> IndexSnapshot:
    """Keep the first event of each id, fold them into city states, score and rank every city."""
    unique = first_of_each_id(events, EventCodec(methodology))
    states, _, tick_date = build_states(unique)
    when = index_date_of(tick_date, methodology)
    results = {c: score_city(s, methodology, when) for c, s in sorted(states.items())}
    return IndexSnapshot(when, methodology.version, results, rank_results(results.values()),
                         states)



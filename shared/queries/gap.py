"""The what-it-takes document: a city, the target it would pass, and the levers that alone
would lift it there (shared/domain/scoring/gap.py), from the published ranking.

One builder for the web API and `aicity gap`: both hand it the ranked rows (in rank order)
and the city's state, so both print the same numbers. Nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Protocol

from shared.contract.methodology import Methodology
from shared.domain.records import IndexMeta
from shared.domain.scoring.gap import what_it_takes
from shared.domain.state import CityState
from shared.queries.errors import BadQuery, NotFound

Row = Mapping[str, Any]  # a ranked row: city_id, name, score, rank


def _public(row: Row) -> dict[str, Any]:
    return {"city_id": row["city_id"], "name": row.get("name", row["city_id"]),
            "score": row["score"], "rank": row["rank"]}


def pick_target(rows: Sequence[Row], city_id: str, to: str | None, rank: int | None) -> Row:
    """Return the row the city is measured against: to=, the city listed rank-th, or by
    default the nearest city ranked above it (for the first city, the next one)."""
    if to is not None and rank is not None:
        raise BadQuery("rank", "give to= or rank=, not both")
    at = next(n for n, r in enumerate(rows) if r["city_id"] == city_id)
    if to is not None:
        if to == city_id:
            raise BadQuery("to", "is the city itself; name another ranked city")
        found = next((r for r in rows if r["city_id"] == to), None)
        if found is None:
            raise NotFound("to", f"to: city {to!r} is not in the ranking")
        return found
    if rank is not None:
        if rank > len(rows):
            raise BadQuery("rank", f"must be at most {len(rows)}, the number of ranked cities")
        if rows[rank - 1]["city_id"] == city_id:
            raise BadQuery("rank", f"the city itself is listed at {rank}; name another place")
        return rows[rank - 1]
    score = rows[at]["score"]
    above = [r for r in rows[:at] if r["score"] > score]
    if above:
        return above[-1]
    others = [r for r in rows if r["city_id"] != city_id]
    if not others:
        raise NotFound("to", "no other ranked city to compare with")
    return others[0]


def gap_answer(rows: Sequence[Row], city_id: str, state: CityState | None,
               methodology: Methodology, index_date: date, ranking_version: int | None,
               to: str | None = None, rank: int | None = None,
               max_projects: int | None = None) -> dict[str, Any] | None:
    """Return what it takes for city_id to pass its target (None: the city is not ranked).

    max_projects: the project records a city may hold (a project lever adds at most the
    records it has left); None: no limit but adoption's own saturation.
    """
    row = next((r for r in rows if r["city_id"] == city_id), None)
    if row is None or state is None:
        return None
    target = pick_target(rows, city_id, to, rank)
    room = None if max_projects is None else max(0, max_projects - len(state.projects))
    found = what_it_takes(state, methodology, index_date, float(target["score"]), room)
    if found is None:
        return None
    return {
        "city_id": city_id, "name": row.get("name", city_id), "score": found["score"],
        "rank": row["rank"], "target": _public(target),
        "points_needed": found["points_needed"], "ahead": found["points_needed"] < 0,
        "methodology_version": methodology.version, "aggregation": methodology.aggregation,
        "index_date": index_date.isoformat(), "ranking_version": ranking_version,
        "levers": found["levers"], "pillars": found["pillars"],
    }


class GapView(Protocol):
    """The published index as the gap reads it (the web's context)."""

    @property
    def methodology(self) -> Methodology: ...

    def stamp(self) -> IndexMeta: ...
    def ranked(self, pillar: str | None) -> tuple[int, list[dict[str, Any]]]: ...
    def city_state(self, city_id: str) -> tuple[CityState | None, str | None]: ...


def gap_document(view: GapView, city_id: str, to: str | None, rank: int | None,
                 max_projects: int | None = None) -> dict[str, Any] | None:
    """Return the what-it-takes document of a published city (None: not in the ranking)."""
    _, rows = view.ranked(None)
    state, day = view.city_state(city_id)
    if state is None:
        return None
    index_date = date.fromisoformat(day) if day else view.methodology.base_date
    return gap_answer(rows, city_id, state, view.methodology, index_date,
                      view.stamp().ranking_version, to, rank, max_projects)

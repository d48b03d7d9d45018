"""The read model of the ranking: one schema for a ranking row, wherever a row is shown.

The scoring worker stores each city's card by dumping it through RANKING_ROW; the web's
JSON API, CSV and pages show rows dumped by the same schema once a rank is added (ranks come
from shared.domain.scoring.ranking.rank_scores, never from anywhere else), and the web's OpenAPI
document describes `RankingRowSchema`. A field added here appears everywhere at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from marshmallow import Schema, fields

from shared.domain.records import RankBand

PLACES_GAINED = ("places gained: rank_before - rank_after (positive: rose, negative: fell; "
                 "null: unranked at either end)")


def places_gained_field(description: str = PLACES_GAINED) -> Any:
    """Return the schema field of places_gained, the one sign of a rank change."""
    return fields.Integer(allow_none=True, metadata={"description": description})


def deprecated_alias(use: str, note: str = "same value", kind: Any = fields.Integer,
                     *args: Any) -> Any:
    """Return the schema field of a deprecated alias of `use`, kept for one release."""
    return kind(*args, allow_none=True, metadata={
        "deprecated": True, "description": f"deprecated, kept for one release: use {use} ({note})"})


class RankBandSchema(Schema):
    """A city's rank over the sensitivity analysis's plausible weightings."""

    median = fields.Integer(metadata={"description": "median rank over the draws"})
    p05 = fields.Integer(metadata={"description": "5th percentile rank (the best 5%)"})
    p95 = fields.Integer(metadata={"description": "95th percentile rank"})
    draws = fields.Integer(metadata={"description": "Monte Carlo draws (at least 1,000)"})
    ranking_version = fields.Integer(metadata={
        "description": "ranking version the band was computed for (it catches up within "
                       "seconds of a change)"})


class ChangeSinceSchema(Schema):
    """A row's change since the response's `since` moment (default: the UTC day's start)."""

    rank_before = fields.Integer(allow_none=True, metadata={
        "description": "rank at the since moment (null: not ranked then)"})
    rank_after = fields.Integer(allow_none=True, metadata={
        "description": "rank now (the row's rank; null: not ranked)"})
    places_gained = places_gained_field()
    rank_then = deprecated_alias("rank_before")
    score_then = fields.Float(allow_none=True, metadata={"description": "score then"})
    move = deprecated_alias("places_gained", "same value and sign: rank_then - rank")
    score_change = fields.Float(allow_none=True, metadata={"description": "score - score_then"})


class RankingRowSchema(Schema):
    """One city in the ranking: identity, overall and pillar scores, coverage, and rank."""

    rank = fields.Integer(
        metadata={"description": "competition rank (1, 2, 2, 4); absent on a stored card"})
    city_id = fields.String(required=True)
    name = fields.String()
    country = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    lat = fields.Float(allow_none=True, metadata={"description": "latitude, degrees (map)"})
    lon = fields.Float(allow_none=True, metadata={"description": "longitude, degrees (map)"})
    score = fields.Float(allow_none=True, metadata={"description": "overall score, 0-100"})
    pillars = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True),
                          metadata={"description": "pillar code -> score 0-100"})
    coverage = fields.Float(allow_none=True, metadata={"description": "share of indicator "
                                                                      "weight observed, 0-1"})
    reason = fields.String(allow_none=True, metadata={"description": "why a city is unranked"})
    last_data_at = fields.String(allow_none=True, metadata={
        "description": "newest occurred_at (UTC) of the observations and project records "
                       "behind the score"})
    stale = fields.Boolean(metadata={
        "description": "true when last_data_at is more than the methodology's "
                       "stale_after_days before the index date (or there is no data)"})
    pillar_score = fields.Float(
        metadata={"description": "the sort pillar's score, present when sorted by pillar="})
    rank_band = fields.Nested(RankBandSchema, allow_none=True, metadata={
        "description": "rank uncertainty from the Monte Carlo sensitivity analysis "
                       "(docs/methodology.md); null until the first bands are computed"})
    official_rank = fields.Integer(metadata={
        "description": "what-if rows (weights=, aggregation=): the rank under the official method"})
    official_score = fields.Float(metadata={
        "description": "what-if rows: the overall score under the official method"})
    change = fields.Nested(ChangeSinceSchema, metadata={
        "description": "the row's change since the since= moment (docs/methodology.md §8.1)"})


RANKING_ROW = RankingRowSchema()
_ROW_ORDER = tuple(RANKING_ROW.fields)
CARD_FIELDS = ("city_id", "name", "country", "region", "score", "coverage", "reason", "pillars",
               "last_data_at", "stale", "lat", "lon")
CARD = RankingRowSchema(only=CARD_FIELDS)


def card(city_id: str, profile: dict[str, Any] | None, score: float | None,
         coverage: float | None, reason: str | None, pillars: dict[str, float | None],
         last_data_at: str | None = None, stale: bool = True) -> dict[str, Any]:
    """Return the stored card of a scored city (a ranking row without its rank)."""
    profile = profile or {}
    return dict(CARD.dump({
        "city_id": city_id, "name": profile.get("name", city_id),
        "country": profile.get("country"), "region": profile.get("region"),
        "lat": profile.get("lat"), "lon": profile.get("lon"),
        "score": score, "coverage": coverage, "reason": reason, "pillars": pillars,
        "last_data_at": last_data_at, "stale": stale,
    }))


def row_of(values: dict[str, Any]) -> dict[str, Any]:
    """Return a row from values already in the row's form (a stored card's fields plus a
    rank), in the schema's field order: what RANKING_ROW.dump gives, without serialising
    every field again (a past ranking of 10,000 cities is built per request)."""
    return {k: values[k] for k in _ROW_ORDER if k in values}


def rows(ranked: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dump ranked rows (card plus rank, and pillar_score when sorted by a pillar)."""
    return [dict(r) for r in RANKING_ROW.dump(list(ranked), many=True)]


def band_of(bands: dict[str, Any] | None, city_id: str) -> dict[str, int] | None:
    """Return a city's rank_band field from the published bands document (None if none)."""
    if not bands:
        return None
    got = bands["bands"].get(city_id)
    if got is None:
        return None
    band = RankBand.from_stored(got)
    return {"median": band.median, "p05": band.p05, "p95": band.p95, "draws": bands["draws"],
            "ranking_version": bands["ranking_version"]}


def csv_header(pillars: Sequence[str]) -> list[str]:
    """Return the ranking CSV's columns: the row's fields, one column per pillar."""
    return ["rank", "city_id", "name", "country", "region", "score", *pillars, "coverage"]


def csv_cells(row: dict[str, Any], pillars: Sequence[str]) -> list[Any]:
    """Return one dumped row as the ranking CSV's cells."""
    return [row.get("rank"), row["city_id"], row.get("name"), row.get("country"),
            row.get("region"), row.get("score"),
            *((row.get("pillars") or {}).get(p) for p in pillars), row.get("coverage")]

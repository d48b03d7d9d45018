"""The read side's documents (shared/queries/documents.py) from a fake published index:
meta, filters, paging, bands, what-if and a city's document (the live moment; past moments
need the kept history and are tested on Redis in tests/integration/test_timeline.py)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.contract.methodology import Methodology, load_methodology
from shared.domain import readmodel
from shared.domain.records import IndexMeta
from shared.queries.documents import RankingQuery, city_document, rankings_document
from shared.queries.errors import BadQuery
from shared.queries.params import Point
from tests.support.fakes import FakeRankingView

M: Methodology = load_methodology()
PILLARS = [p.code for p in M.pillars]
CODE = M.observed_indicator_codes()[0]


def pillars(level: float, **overrides: float | None) -> dict[str, float | None]:
    return {code: overrides.get(code, level) for code in PILLARS}


def card(city_id: str, score: float | None, region: str, level: float, stale: bool = False,
         **pillar_scores: float | None) -> dict[str, Any]:
    return readmodel.card(city_id, {"name": city_id.title(), "country": "KR", "region": region,
                                    "lat": 1.0, "lon": 2.0},
                          score, 0.9, None if score is not None else "too few indicators",
                          pillars(level, **pillar_scores), "2025-06-01T00:00:00Z", stale)


def result(city_id: str, region: str, score: float | None) -> dict[str, Any]:
    return {"score": score, "reason": None if score is not None else "too few indicators",
            "coverage": 0.9, "last_data_at": "2025-06-01T00:00:00Z", "stale": False,
            "index_date": "2025-06-30", "methodology_version": M.version,
            "profile": {"name": city_id.title(), "country": "KR", "region": region,
                        "population": 1_000_000, "lat": 1.0, "lon": 2.0},
            "pillars": {code: {"score": None if score is None else score - n,
                               "coverage": 1.0, "reason": None}
                        for n, code in enumerate(PILLARS)},
            "indicators": {CODE: {"raw": 5.0, "normalised": 50.0},
                           "retired.code": {"raw": 1.0, "normalised": 10.0}},
            "projects": {"total": 0}}


def view(**kw: Any) -> FakeRankingView:
    """Four ranked cities in two regions (alpha and beta tie), one stale; one unranked."""
    cards = [card("alpha", 80.0, "East Asia", 80.0), card("beta", 80.0, "Europe", 70.0),
             card("gamma", 60.0, "east asia", 60.0, stale=True, talent=99.0),
             card("delta", 40.0, "Europe", 40.0)]
    results = {c["city_id"]: result(c["city_id"], c["region"], c["score"]) for c in cards}
    results["omega"] = result("omega", "Europe", None)
    defaults: dict[str, Any] = dict(
        methodology=M, cards=cards, results=results,
        meta=IndexMeta("2025-07-01", 12, M.version, 1_751_328_000_000),
        unranked_cities=[{"city_id": "omega", "reason": "too few indicators"}],
        histories={"alpha": [{"version": v} for v in range(40)]})
    return FakeRankingView(**{**defaults, **kw})


def query(**kw: Any) -> RankingQuery:
    return RankingQuery(since=Point("time", 0, "today"), **kw)


def ids(doc: dict[str, Any]) -> list[str]:
    return [i["city_id"] for i in doc["items"]]


# ------------------------------------------------------------------ the rankings document


def test_the_live_document_carries_the_published_meta_and_every_row() -> None:
    doc = rankings_document(view(), query())
    assert {k: doc[k] for k in ("as_of", "updated_at", "ranking_version", "methodology_version",
                                "sort", "region", "fresh", "total", "offset")} == {
        "as_of": "2025-07-01", "updated_at": "2025-07-01T00:00:00.000+00:00", "ranking_version": 12,
        "methodology_version": M.version, "sort": "overall", "region": None, "fresh": False,
        "total": 4, "offset": 0}
    assert ids(doc) == ["alpha", "beta", "gamma", "delta"]
    assert [i["rank"] for i in doc["items"]] == [1, 1, 3, 4]  # a competition rank
    assert doc["unranked"] == [{"city_id": "omega", "reason": "too few indicators"}]
    assert "since" not in doc and "point_in_time" not in doc and "weights" not in doc


def test_before_any_tick_the_index_date_is_the_methodologys_base_date() -> None:
    doc = rankings_document(view(meta=IndexMeta(None, 0, None, None)), query())
    assert doc["as_of"] == M.base_date.isoformat() and doc["updated_at"] is None


def test_a_pillar_sorts_by_its_score() -> None:
    doc = rankings_document(view(), query(pillar="talent"))
    assert doc["sort"] == "talent" and ids(doc)[0] == "gamma"
    assert doc["items"][0]["pillar_score"] == 99.0


def test_region_filters_ignoring_case_and_fresh_leaves_out_stale_cities() -> None:
    doc = rankings_document(view(), query(region="EAST ASIA"))
    assert ids(doc) == ["alpha", "gamma"] and doc["total"] == 2
    assert [i["rank"] for i in doc["items"]] == [1, 3]  # the rank stays the global one
    doc = rankings_document(view(), query(fresh=True))
    assert ids(doc) == ["alpha", "beta", "delta"] and doc["fresh"] is True


def test_paging_counts_every_row_and_returns_one_page() -> None:
    doc = rankings_document(view(), query(offset=1, limit=2))
    assert ids(doc) == ["beta", "gamma"] and doc["total"] == 4 and doc["offset"] == 1
    assert rankings_document(view(), query(offset=10, limit=2))["items"] == []


def test_each_row_carries_its_rank_band_from_the_published_bands() -> None:
    bands = {"bands": {"alpha": [1, 1, 2]}, "draws": 1000, "ranking_version": 11}
    doc = rankings_document(view(published_bands=bands), query())
    assert doc["items"][0]["rank_band"] == {"median": 1, "p05": 1, "p95": 2, "draws": 1000,
                                            "ranking_version": 11}
    assert [i["rank_band"] for i in doc["items"][1:]] == [None, None, None]
    assert all(i["rank_band"] is None for i in rankings_document(view(), query())["items"])


def test_the_items_are_copies_a_page_may_decorate() -> None:
    v = view()
    doc = rankings_document(v, query())
    doc["items"][0]["display"] = "x"
    assert "display" not in rankings_document(v, query())["items"][0]


def test_what_if_weights_rerank_beside_the_official_rank() -> None:
    doc = rankings_document(view(), query(weights={"talent": 3.0, "research": 1.0}))
    assert doc["weights"] == {"talent": 0.75, "research": 0.25}
    assert doc["aggregation"] == M.aggregation
    first = doc["items"][0]
    assert first["city_id"] == "gamma" and first["rank"] == 1
    assert (first["official_rank"], first["official_score"]) == (3, 60.0)
    assert first["score"] == pytest.approx(0.75 * 99.0 + 0.25 * 60.0)


def test_an_aggregation_alone_keeps_the_methodologys_weights() -> None:
    doc = rankings_document(view(), query(aggregation="geometric"))
    assert doc["aggregation"] == "geometric"
    assert doc["weights"] == pytest.approx({p.code: p.weight for p in M.pillars})
    assert sum(doc["weights"].values()) == pytest.approx(1.0)


def test_what_if_weights_and_a_pillar_sort_are_refused_naming_weights() -> None:
    with pytest.raises(BadQuery) as caught:
        rankings_document(view(), query(pillar="talent", weights={"talent": 1.0}))
    assert caught.value.parameter == "weights" and "drop pillar=" in str(caught.value)


# ------------------------------------------------------------------ a city's document


def test_an_unknown_city_has_no_document() -> None:
    assert city_document(view(), "atlantis") is None


def test_a_ranked_citys_document_has_its_ranks_band_and_recent_history() -> None:
    bands = {"bands": {"beta": [2, 1, 3]}, "draws": 1000, "ranking_version": 12}
    doc = city_document(view(published_bands=bands), "beta", history=5)
    assert doc is not None
    assert (doc["rank"], doc["region_rank"], doc["ranked"]) == (1, 1, True)  # tied first
    assert doc["rank_band"] == {"median": 2, "p05": 1, "p95": 3, "draws": 1000,
                                "ranking_version": 12}
    assert doc["ranking_version"] == 12 and doc["as_of"] == "2025-06-30"
    assert doc["population"] == 1_000_000 and doc["name"] == "Beta"
    assert set(doc["pillars"]) == set(PILLARS)
    assert doc["pillars"]["infrastructure"]["score"] == 80.0
    delta = city_document(view(), "delta")
    assert delta is not None and (delta["rank"], delta["region_rank"]) == (4, 2)
    assert [h["version"] for h in city_document(view(), "alpha", history=3)["history"]] == [0, 1, 2]


def test_indicators_carry_their_names_and_retired_codes_only_their_values() -> None:
    doc = city_document(view(), "alpha")
    assert doc is not None
    ind = M.indicator(CODE)
    assert doc["indicators"][CODE] == {"raw": 5.0, "normalised": 50.0, "name": ind.name,
                                       "unit": ind.unit, "pillar": ind.pillar}
    assert doc["indicators"]["retired.code"] == {"raw": 1.0, "normalised": 10.0}


def test_an_unranked_city_has_no_rank_band_or_region_rank() -> None:
    bands = {"bands": {"omega": [1, 1, 1]}, "draws": 1000, "ranking_version": 12}
    doc = city_document(view(published_bands=bands), "omega")
    assert doc is not None
    assert (doc["rank"], doc["region_rank"], doc["rank_band"], doc["ranked"]) == (
        None, None, None, False)
    assert doc["reason"] == "too few indicators"
    assert all(p["rank"] is None for p in doc["pillars"].values())

"""A city's "What changed" in plain words (services/web/whatchanged.py), from explanation
documents given as plain data; city names come from a fake reader, links from the web app's
routes (a request context, no Redis)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.web.app import create_app
from services.web.whatchanged import what_changed
from shared.contract.methodology import load_methodology
from shared.platform.settings import Settings
from tests.support.fakes import FakeRankingView

M = load_methodology()
CODE = "research.ai_papers"
IND = M.indicator(CODE)
OTHERS = ["beta", "gamma", "delta", "eps", "zeta"]


@pytest.fixture(autouse=True)
def request_context() -> Iterator[None]:
    """The web app's request context, its reader a fake that names the other cities."""
    app = create_app(Settings.from_env(redis_url="redis://127.0.0.1:9/0"))
    app.extensions["aicity"].web.reader = FakeRankingView(
        M, results={c: {"profile": {"name": c.title()}} for c in OTHERS})
    with app.test_request_context():
        yield


def explanation(**kw: Any) -> dict[str, Any]:
    """Alpha fell from 2nd to 4th, research down 2.1 points on one revised indicator."""
    doc: dict[str, Any] = {
        "name": "Alpha", "from": {"rank": 2, "score": 70.0}, "to": {"rank": 4, "score": 67.9},
        "score_delta": -2.1, "rank_delta": 2, "rank_delta_own": 1, "rank_delta_others": 1,
        "pillars": [{"pillar": IND.pillar, "name": "Research", "contribution": -2.1},
                    {"pillar": "talent", "name": "Talent", "contribution": 0.01}],
        "indicators": [{"indicator": CODE, "name": IND.name, "pillar": IND.pillar,
                        "from_value": 100.0, "to_value": 80.0, "feed": "feed-a",
                        "occurred_at": "2025-06-01T00:00:00Z"}],
        "passed": [], "passed_by": [{"city_id": "beta"}, {"city_id": "gamma"}]}
    out = {**doc, **kw}
    # the explain document's current names beside the deprecated ones (opposite sign)
    for old, new in (("rank_delta", "places_gained"), ("rank_delta_own", "places_gained_own"),
                     ("rank_delta_others", "places_gained_others")):
        out[new] = None if out.get(old) is None else -out[old]
    out["rank_before"], out["rank_after"] = out["from"].get("rank"), out["to"].get("rank")
    return out


def text(out: dict[str, Any]) -> list[str]:
    return ["".join(p["text"] for p in sentence) for sentence in out["sentences"]]


def test_no_explanation_says_no_change_and_links_the_data() -> None:
    out = what_changed(None, M, "today", "/j")
    assert out == {"sentences": [[{"text": "No change since today. ", "href": None},
                                  {"text": "The data (JSON)", "href": "/j"}]], "moved": False}


def test_nothing_moved_says_where_the_city_stands() -> None:
    still = {"rank": 3, "score": 61.23}
    out = what_changed(explanation(**{"from": still, "to": still}, score_delta=0.0,
                                   rank_delta=0, indicators=[], pillars=[]), M, "today", "/j")
    assert out["moved"] is False
    assert text(out) == ["No change since today: Alpha is 3rd with 61.2 points. The data (JSON)"]


def test_a_fall_names_the_pillar_the_indicator_its_feed_and_who_passed() -> None:
    out = what_changed(explanation(), M, "today", "/j")
    assert out["moved"] is True
    assert text(out) == [
        "Alpha fell from 2nd to 4th since today: research −2.1 points, mostly AI publications "
        "per year revised from 100 papers to 80 papers by feed feed-a on 1 Jun 2025; Beta and "
        "Gamma passed it. ",
        "Its score went from 70.0 to 67.9 (−2.1 points); of its rank change, 1 place(s) came "
        "from its own score and 1 from other cities' changes. The data (JSON)"]
    links = {p["text"]: p["href"] for s in out["sentences"] for p in s if p["href"]}
    assert links == {IND.name: f"#ind-{CODE}", "Beta": "/cities/beta", "Gamma": "/cities/gamma",
                     "The data (JSON)": "/j"}


def test_entering_and_leaving_the_ranking() -> None:
    unranked, fifth = {"rank": None, "score": None}, {"rank": 5, "score": 50.0}
    entered = what_changed(explanation(**{"from": unranked, "to": fifth}, score_delta=None,
                                       passed_by=[]), M, "yesterday", "/j")
    assert text(entered)[0].startswith("Alpha entered the ranking at 5th since yesterday: ")
    left = what_changed(explanation(**{"from": fifth, "to": unranked}, score_delta=None,
                                    passed_by=[]), M, "yesterday", "/j")
    assert text(left)[0].startswith("Alpha left the ranking (it was 5th) since yesterday: ")
    assert len(text(left)) == 1  # no score sentence without both scores


def test_a_move_caused_by_others_says_its_own_score_did_not_change() -> None:
    out = what_changed(explanation(
        **{"from": {"rank": 2, "score": 70.0}, "to": {"rank": 3, "score": 70.0}},
        score_delta=0.0, rank_delta=1, rank_delta_own=0, rank_delta_others=1, indicators=[],
        passed_by=[{"city_id": c} for c in OTHERS]), M, "today", "/j")
    assert text(out) == ["Alpha fell from 2nd to 3rd since today: its own score did not change; "
                         "Beta, Gamma, Delta and 2 more passed it. The data (JSON)"]


def test_a_score_change_that_did_not_move_the_rank_itself_says_so() -> None:
    out = what_changed(explanation(rank_delta_own=0, rank_delta_others=2), M, "today", "/j")
    assert text(out)[1] == ("Its score went from 70.0 to 67.9 (−2.1 points); its rank moved "
                            "only because other cities' scores changed. The data (JSON)")


def test_a_rise_with_a_first_report_names_who_it_passed() -> None:
    first = [{"indicator": CODE, "name": IND.name, "pillar": IND.pillar, "from_value": None,
              "to_value": 80.0, "feed": None, "occurred_at": None}]
    out = what_changed(explanation(
        **{"from": {"rank": 4, "score": 67.9}, "to": {"rank": 2, "score": 70.0}},
        score_delta=2.1, rank_delta=-2, rank_delta_own=-2, rank_delta_others=0,
        pillars=[{"pillar": IND.pillar, "name": "Research", "contribution": 2.1}],
        indicators=first, passed_by=[], passed=[{"city_id": "beta"}]), M, "today", "/j")
    assert text(out) == [
        "Alpha rose from 4th to 2nd since today: research +2.1 points, mostly AI publications "
        "per year first reported as 80 papers; it passed Beta. ",
        "Its score went from 67.9 to 70.0 (+2.1 points). The data (JSON)"]

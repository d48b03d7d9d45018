"""The commit script's rank (history, change messages) agrees with rank_scores, the one
definition of a competition rank the read side uses."""

from __future__ import annotations

import json

import pytest

from shared.domain.records import Commit
from shared.store.cities import CityStore
from shared.store.ranking import RankingReader
from tests.support.procs import RedisProc

pytestmark = pytest.mark.integration


def test_commit_ranks_equal_the_read_sides_ranks_ties_included(redis_proc: RedisProc) -> None:
    client = redis_proc.client()
    store, reader = CityStore(client), RankingReader(client)
    store.ensure_methodology("2025.1")
    scores = [("a", 50.0), ("b", 70.0), ("c", 70.0), ("d", 10.0), ("e", 70.0), ("f", 50.0),
              ("a", 80.0), ("b", 10.0)]
    revs: dict[str, int] = {}
    for n, (city, score) in enumerate(scores):
        commit = Commit(
            city_id=city, rev=str(revs.get(city, 0)), consumed=0, state_json="{}",
            result_json=json.dumps({"n": n}), card_json=json.dumps({"city_id": city}),
            score=score, reason="", index_date="", methodology="2025.1", now_ms=1000 + n,
            changed=True, history_body=f'{{"score":{score!r}}}', pillars=[("research", score)])
        outcome = store.commit_many([commit])[0]
        assert outcome.status == "ok", outcome
        revs[city] = revs.get(city, 0) + 1
        _, ranks = reader.ranks()
        assert outcome.new_rank == ranks[city], (city, score, ranks)
        assert reader.history(city, limit=1)[0]["rank"] == ranks[city]
        _, pillar = reader.ranks("research")
        assert pillar == ranks
    assert reader.ranks()[1] == {"a": 1, "c": 2, "e": 2, "f": 4, "b": 5, "d": 5}

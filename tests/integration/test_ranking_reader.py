"""The ranking read side on a real Redis: rows, scores, cards and ranks agree at any size."""

from __future__ import annotations

import json

import pytest

from shared.store import keys as K
from shared.store.ranking import RankingReader
from tests.support.procs import RedisProc

pytestmark = pytest.mark.integration


def test_ranked_reads_every_city_with_its_own_card_beyond_one_script_chunk(
        redis_proc: RedisProc) -> None:
    client = redis_proc.client()
    n = 2_500  # more cities than one MGET chunk of the script (1,000 per 2,000 replies)
    scores = {f"c{k:04d}": float(k % 997) + 0.125 for k in range(n)}  # k, k + 997, ... tie
    pipe = client.pipeline()
    pipe.hset(K.INDEX, "version", 42)
    pipe.zadd(K.RANK_OVERALL, scores)
    for city, score in scores.items():
        if city != "c0007":  # one city without a card: the row still has its id and rank
            pipe.set(K.city_card(city), json.dumps({"city_id": city, "score": score}))
    pipe.execute()

    version, rows = RankingReader(client).ranked()
    assert version == 42 and len(rows) == n
    for row in rows:
        if row["city_id"] != "c0007":
            assert row["score"] == scores[row["city_id"]]
    # Competition ranks at full precision, ties listed by city id.
    assert [r["rank"] for r in rows[:5]] == [1, 1, 3, 3, 5]
    assert [r["city_id"] for r in rows[:2]] == ["c0996", "c1993"]
    expected = sorted(scores, key=lambda c: (-scores[c], c))
    assert [r["city_id"] for r in rows] == expected
    assert rows[-1]["rank"] == n - 2  # three cities share the lowest score
    assert set(next(r for r in rows if r["city_id"] == "c0007")) == {"city_id", "rank"}


def test_ranked_on_an_empty_index(redis_proc: RedisProc) -> None:
    assert RankingReader(redis_proc.client()).ranked() == (0, [])
    assert RankingReader(redis_proc.client()).ranked("research") == (0, [])

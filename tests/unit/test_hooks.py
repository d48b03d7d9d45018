"""Webhook handlers, pure parts: the signature, filters, drivers and backoff."""

from __future__ import annotations

from shared.handlers.hooks import MAX_ATTEMPTS, backoff_ms, drivers, matches, sign
from shared.store.hooks import Hook

VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks test vector


def test_signature_reproduces_the_published_vector() -> None:
    assert (sign(VECTOR_SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                 '{"test": 2432232314}') == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")


def _hook(on: str, cities: list[str] | None = None, min_move: float = 0) -> Hook:
    return Hook("hk_1", "http://x", on, cities, min_move, VECTOR_SECRET)


def _data(rank: tuple[int | None, int | None], score: tuple[float | None, float],
          city: str = "alpha") -> dict[str, object]:
    return {"city_id": city, "rank_before": rank[0], "rank_after": rank[1],
            "score_before": score[0], "score_after": score[1]}


def test_filters() -> None:
    assert matches(_hook("rank_change"), _data((3, 1), (50, 60)))
    assert not matches(_hook("rank_change"), _data((2, 2), (50, 60)))
    assert matches(_hook("rank_change", min_move=2), _data((3, 1), (50, 60)))
    assert not matches(_hook("rank_change", min_move=3), _data((3, 1), (50, 60)))
    assert matches(_hook("rank_change", min_move=5), _data((None, 4), (None, 60)))  # newly ranked
    assert not matches(_hook("rank_change", ["beta"]), _data((3, 1), (50, 60)))
    assert matches(_hook("score_change", min_move=0.5), _data((2, 2), (50, 50.5)))
    assert not matches(_hook("score_change", min_move=0.6), _data((2, 2), (50, 50.5)))
    assert not matches(_hook("held"), _data((3, 1), (50, 60)))
    disabled = Hook("hk_1", "http://x", "rank_change", None, 0, VECTOR_SECRET, enabled=False)
    assert not matches(disabled, _data((3, 1), (50, 60)))


def test_drivers_are_the_largest_moves_first() -> None:
    before = {"pillars": {"a": 10.0, "b": 50.0, "c": 30.0, "d": 5.0, "e": 1.0}}
    after = {"pillars": {"a": 12.0, "b": 40.0, "c": 30.0, "d": 9.0, "e": 1.5}}
    assert [d["pillar"] for d in drivers(before, after)] == ["b", "d", "a"]
    assert drivers(None, after) == []


def test_backoff_is_exponential_and_short() -> None:
    waits = [backoff_ms(a) for a in range(1, MAX_ATTEMPTS)]
    assert waits == [1000, 2000, 4000, 8000, 16000]
    assert sum(waits) < 60_000  # far below the broker's visibility timeout; never an ETA

"""The dry run's impact: the workers' fold and score, ranked with rank_scores (pure)."""

from __future__ import annotations

from shared.commands.impact import impact_of
from shared.contract.events import codec_for
from shared.contract.jsonfast import canonical
from shared.domain.records import CityWork
from shared.domain.scoring import score_city
from shared.domain.state import CityState, apply_event
from tests.integration.test_pipeline import full_city
from tests.support.events import indicator

CODEC = codec_for("2025.1")
M = CODEC.methodology


def _state(city: str, level: float) -> CityState:
    state = CityState(city)
    for raw in full_city(city, level):
        event = CODEC.load_many([raw])[0]
        apply_event(state, event)  # type: ignore[arg-type]
    return state


def test_impact_folds_state_inbox_and_batch_and_ranks_against_the_others() -> None:
    state = _state("alpha", 0.4)
    queued = CODEC.load_many([indicator("alpha", "talent.ai_graduates", 100,
                                        at="2025-05-02T00:00:00Z")])[0]
    work = CityWork("alpha", "3", canonical(state.to_dict()), None,
                    [("1-0 feed", CODEC.encode(queued))], "", M.version)  # type: ignore[arg-type]
    batch_event = CODEC.load_many([indicator("alpha", "infra.gpu_pflops", 50000,
                                             at="2025-06-01T00:00:00Z")])[0]
    accepted = [(batch_event, CODEC.encode(batch_event))]  # type: ignore[arg-type]
    [row] = impact_of(accepted, [work], [("alpha", 1.0), ("beta", 99.0), ("gamma", 0.0)], M)
    apply_event(state, queued)  # type: ignore[arg-type]
    before = score_city(state, M, M.base_date)
    apply_event(state, batch_event)  # type: ignore[arg-type]
    after = score_city(state, M, M.base_date)
    assert row["score_before"] == before.score and row["score_after"] == after.score
    assert row["rank_before"] == 2 and row["rank_after"] == 2  # between beta and gamma
    assert row["places_gained"] == 0
    assert row["pillars"]["infrastructure"] == [before.pillars["infrastructure"].score,
                                                after.pillars["infrastructure"].score]

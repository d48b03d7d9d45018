"""The review gate (issue 18, finding 2): a scoped feed's moves are measured from the city's
approved position over the window, queued events included, for indicators and projects alike;
neither small steps nor a batch of project records walk around it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.commands.gate import Baseline, judge
from shared.contract.events import Event, codec_for
from shared.contract.jsonfast import compact
from shared.contract.methodology import load_methodology
from shared.domain.records import CityWork
from shared.domain.scoring import score_city
from shared.domain.scoring.normalise import denormalise
from shared.domain.state import CityState, apply_event
from tests.support.events import city, event, indicator

M = load_methodology("2025.2")
CODEC = codec_for("2025.2")
NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
FEED = "seoul-feed"


def _events(level: float) -> list[dict[str, Any]]:
    """A complete city at `level` (0-1) of every indicator's goalposts, with 30 projects."""
    out = [city("seoul")]
    for code in M.observed_indicator_codes():
        out.append(indicator("seoul", code, denormalise(level * 100, M.indicator(code)),
                             at="2025-01-01T00:00:00Z"))
    for k in range(30):
        out.append(_project(k, "2025-01-01T00:00:00Z"))
    return out


def _project(k: int, at: str = "2025-05-01T00:00:00Z", stage: str = "deployed") -> dict[str, Any]:
    return event("project.upserted", "seoul", {
        "project_id": f"p{k}", "name": f"Project {k}", "organization": "Org",
        "sector": M.projects.sectors[k % len(M.projects.sectors)],
        "owner": ("public", "private")[k % 2], "stage": stage, "started_at": "2024-09-01",
        "deployed_at": "2025-02-01"}, at)


class City:
    """One city's stored state and queued inbox, as the gate reads them."""

    def __init__(self, level: float = 0.3) -> None:
        self.state = CityState("seoul")
        for raw in _events(level):
            apply_event(self.state, CODEC.load(raw))
        self.queued: list[str] = []
        self.baseline: Baseline | None = None

    def work(self) -> CityWork:
        return CityWork("seoul", "1", compact(self.state.to_dict()), None,
                        [(f"{n}-0 {FEED}", body) for n, body in enumerate(self.queued)], "", "")

    def post(self, raws: list[dict[str, Any]]) -> list[str]:
        """Judge a batch as ingest would; queue what is accepted; return each item's status."""
        events: list[Event] = [CODEC.load(r) for r in raws]
        batch = [(n, e, CODEC.encode(e)) for n, e in enumerate(events)]
        verdict = judge(batch, FEED, [self.work()], {"seoul": self.baseline}, M, NOW)
        self.baseline = verdict.opened.get("seoul", self.baseline)
        self.queued += [body for n, _, body in batch if n not in verdict.holds]
        self.last_holds = verdict.holds
        return ["held" if n in verdict.holds else "accepted" for n in range(len(raws))]

    def score(self) -> float:
        state = CityState.from_dict(self.state.to_dict())
        for body in self.queued:
            apply_event(state, CODEC.decode(body))
        result = score_city(state, M, M.base_date)
        assert result.score is not None
        return result.score


def _at(points: float, code: str, at: str) -> dict[str, Any]:
    return indicator("seoul", code, denormalise(points, M.indicator(code)), at=at)


def test_small_steps_cannot_walk_past_the_score_budget() -> None:
    c = City(0.3)
    start = c.score()
    codes = list(M.observed_indicator_codes())
    statuses: list[list[str]] = []
    for step in range(1, 7):  # each batch moves every indicator 6 more points: under the jump
        statuses.append(c.post([_at(30 + 6 * step, code, f"2025-05-0{step}T00:00:00Z")
                                for code in codes]))
    assert all(s == "accepted" for s in statuses[0])  # 0.65 (measured weight) x 6 points: in
    assert any(all(s == "held" for s in batch) for batch in statuses)  # then held as a batch
    assert c.score() - start <= M.review_score_points + 1e-9
    entry = next(iter(c.last_holds.values()))
    assert entry["rule"] == "score_budget" and entry["budget"] == M.review_score_points
    assert entry["current"] == c.baseline.score  # type: ignore[union-attr]


def test_each_step_is_measured_from_the_window_start_not_the_last_value() -> None:
    c = City(0.15)
    code = "talent.ai_graduates"
    assert c.post([_at(60, code, "2025-05-01T00:00:00Z")]) == ["accepted"]  # 45 points: in
    assert c.post([_at(100, code, "2025-05-02T00:00:00Z")]) == ["held"]  # 85 from 15
    [entry] = c.last_holds.values()
    assert entry["rule"] == "indicator_jump" and entry["measure"] == code
    assert round(entry["current_points"], 6) == 15.0


def test_queued_events_count_and_moving_back_is_allowed() -> None:
    c = City(0.3)
    codes = list(M.observed_indicator_codes())
    assert set(c.post([_at(36, code, "2025-05-01T00:00:00Z") for code in codes])) == {"accepted"}
    # Still queued (not scored): the next batch is folded onto it and passes the budget.
    assert set(c.post([_at(42, code, "2025-05-02T00:00:00Z") for code in codes])) == {"held"}
    assert set(c.post([_at(30, code, "2025-05-03T00:00:00Z") for code in codes])) == {"accepted"}


def test_a_batch_of_project_records_is_held_as_a_batch() -> None:
    c = City(0.3)
    before = c.score()
    batch = [_project(100 + k) for k in range(400)]
    statuses = c.post(batch)
    assert statuses == ["held"] * 400
    entry = c.last_holds[0]
    assert entry["type"] == "project.upserted" and entry["project_id"] == "p100"
    assert entry["rule"] in ("score_budget", "pillar_budget")
    assert c.score() == before
    assert c.post([_project(500)]) == ["accepted"]  # one more project stays in budget


def test_the_window_reopens_on_a_new_index_date() -> None:
    c = City(0.3)
    c.post([_at(31, "talent.ai_graduates", "2025-05-01T00:00:00Z")])
    assert c.baseline is not None
    old = c.baseline
    c.baseline = Baseline(old.since_ms, old.methodology, "2024-01-01", old.score, old.pillars,
                          old.values)
    c.post([_at(32, "talent.ai_graduates", "2025-05-02T00:00:00Z")])
    assert c.baseline.index_date == M.base_date.isoformat()
    assert Baseline.from_stored(c.baseline.to_stored()) == c.baseline

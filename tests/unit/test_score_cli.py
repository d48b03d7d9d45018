"""`aicity score`: the JSON output at full precision, and the event-id rule offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.cli.main import main
from shared.contract.event_files import EVENT_ID_REUSED, load_events
from shared.contract.events import Event
from shared.contract.methodology import Methodology
from shared.domain.index import IndexSnapshot, compute_index
from tests.unit.conftest import EventBuilder

REPO = Path(__file__).resolve().parents[2]
DATASET = REPO / "data" / "reference-2025"
CITY_ID = "testville"
EVENT_ID = "0b7d2f4c-1e9a-4c3b-8d5f-6a7e8f9a0b1c"


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[dict[str, Any], str]:
    """Run `aicity score ... --json`; return the parsed document and its text."""
    assert main(["score", *argv, "--json"]) == 0
    out = capsys.readouterr().out
    return json.loads(out), out


def write_ndjson(path: Path, raws: list[dict[str, Any]]) -> Path:
    """Write raw events one per line and return the path."""
    path.write_text("".join(json.dumps(r) + "\n" for r in raws), encoding="utf-8")
    return path


def full_city(build: EventBuilder, methodology: Methodology, city_id: str) -> list[dict[str, Any]]:
    """Return raw events giving a city a profile, every observed indicator and projects."""
    raws = [build.codec.dump(build.city(city_id))]
    for code in methodology.observed_indicator_codes():
        ind = methodology.indicator(code)
        raws.append(build.raw("indicator.observed", {"indicator": code,
                                                     "value": (ind.lo + ind.hi) / 2},
                              city_id=city_id))
    for k, stage in enumerate(("deployed", "scaled", "pilot")):
        raws.append(build.codec.dump(build.project(
            f"{city_id}-p{k}", stage=stage, owner=("public", "private")[k % 2],
            started_at="2024-09-01", deployed_at="2025-02-01", city_id=city_id)))
    return raws


# ------------------------------------------------------------------ --json


@pytest.fixture(scope="module")
def reference(reference_snapshot: IndexSnapshot) -> IndexSnapshot:
    """The reference index computed in-process by the library (once per session)."""
    return reference_snapshot


def test_json_prints_every_number_exactly_as_computed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    reference: IndexSnapshot, methodology: Methodology,
) -> None:
    monkeypatch.chdir(REPO)
    doc, text = run_json(capsys, "data/reference-2025")
    assert doc["index_date"] == reference.index_date.isoformat() == "2025-06-30"
    assert doc["methodology_version"] == methodology.version
    assert doc["aggregation"] == methodology.aggregation
    assert doc["unranked"] == [] and doc["ranked"] == len(reference.ranking) == 100
    assert [c["city_id"] for c in doc["cities"]] == [i.city_id for i in reference.ranking]
    for city, item in zip(doc["cities"], reference.ranking, strict=True):
        r = reference.results[item.city_id]
        # == on floats read back from the text: the text carried every bit of the double
        assert city["rank"] == item.rank and city["score"] == item.score == r.score
        assert f'"score": {r.score!r},' in text
        assert city["coverage"] == r.coverage and city["profile"] == r.profile
        assert city["pillars"] == {k: {"score": p.score, "coverage": p.coverage,
                                       "reason": p.reason} for k, p in r.pillars.items()}
        assert city["indicators"] == r.indicators
        for code, info in city["indicators"].items():
            assert info["raw"] == r.indicators[code]["raw"]
            assert info["normalised"] == r.indicators[code]["normalised"]
            assert type(info["normalised"]) is float
    by_id = {c["city_id"]: c for c in doc["cities"]}
    # the published headline, from the full-precision numbers
    assert round(by_id["singapore"]["score"]) == 84 and by_id["singapore"]["rank"] == 1
    assert round(by_id["seoul"]["score"]) == 82 and by_id["seoul"]["rank"] == 2
    assert by_id["singapore"]["score"] != round(by_id["singapore"]["score"], 1)


def test_json_lists_unranked_cities_with_their_reasons(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, build: EventBuilder,
    methodology: Methodology,
) -> None:
    raws = full_city(build, methodology, "alpha")
    raws += [r for r in full_city(build, methodology, "nameless") if r["type"] != "city.upserted"]
    raws.append(build.codec.dump(build.city("sparse")))
    doc, _ = run_json(capsys, str(write_ndjson(tmp_path / "e.ndjson", raws)))
    assert [(c["city_id"], c["rank"]) for c in doc["cities"]] == [
        ("alpha", 1), ("nameless", None), ("sparse", None)]
    reasons = {u["city_id"]: u["reason"] for u in doc["unranked"]}
    assert list(reasons) == ["nameless", "sparse"]
    assert reasons["nameless"].startswith("no city.upserted event")
    assert "below the" in reasons["sparse"] and "threshold" in reasons["sparse"]
    sparse = doc["cities"][2]
    assert sparse["score"] is None and sparse["reason"] == reasons["sparse"]
    assert all(p["score"] is None and p["reason"] for p in sparse["pillars"].values()
               if p["coverage"] < methodology.coverage_threshold)
    assert doc["events"] == len(raws)


def test_without_json_the_table_is_printed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(REPO)
    assert main(["score", "data/reference-2025", "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "Singapore" in out and "84.2" in out and "Beijing" not in out
    assert "100 ranked, 0 unranked, 8933 events" in out


# ------------------------------------------------------------------ the event-id rule


def test_a_repeated_event_with_the_same_content_is_a_duplicate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, build: EventBuilder,
    methodology: Methodology,
) -> None:
    raws = full_city(build, methodology, CITY_ID)
    once, _ = run_json(capsys, str(write_ndjson(tmp_path / "once.ndjson", raws)))
    # the same event again, verbatim and with its id in capitals (ids are case-insensitive)
    again = [*raws, dict(raws[1]), {**raws[2], "event_id": raws[2]["event_id"].upper()}]
    twice, _ = run_json(capsys, str(write_ndjson(tmp_path / "twice.ndjson", again)))
    assert twice["events"] == once["events"] == len(raws)
    assert twice["cities"] == once["cities"]
    events = load_events(tmp_path / "twice.ndjson", build.codec)
    assert [e.event_id for e in events] == [r["event_id"] for r in raws]


def test_compute_index_drops_exact_repeats(build: EventBuilder, methodology: Methodology) -> None:
    code = methodology.observed_indicator_codes()[0]
    first = build.observed(code, 1.0, event_id=EVENT_ID, at="2025-01-01T00:00:00+00:00")
    once = compute_index([build.city(), first], methodology)
    twice = compute_index([first, build.city(), first, first], methodology)
    assert twice.results[CITY_ID].indicators[code] == once.results[CITY_ID].indicators[code]
    assert twice.results[CITY_ID].indicators[code]["event_id"] == EVENT_ID


@pytest.mark.parametrize("change", ["value", "occurred_at", "offset"])
def test_an_event_id_reused_with_other_content_is_refused(
    change: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, build: EventBuilder,
    methodology: Methodology,
) -> None:
    code = methodology.observed_indicator_codes()[0]
    first = build.raw("indicator.observed", {"indicator": code, "value": 1.0},
                      event_id=EVENT_ID, at="2025-01-01T00:00:00+00:00")
    other = {
        "value": {**first, "data": {"indicator": code, "value": 2.0}},
        "occurred_at": {**first, "occurred_at": "2025-01-02T00:00:00+00:00"},
        # the same instant written with another offset is other content: the dumps differ
        "offset": {**first, "occurred_at": "2025-01-01T09:00:00+09:00"},
    }[change]
    raws = [build.codec.dump(build.city()), first, build.raw("city.upserted", {
        "name": "Other", "country": "SG", "region": "Asia", "population": 5, "lat": 0, "lon": 0},
        city_id="otherville"), other]
    path = write_ndjson(tmp_path / "reused.ndjson", raws)
    with pytest.raises(ValueError) as caught:
        load_events(path, build.codec)
    message = str(caught.value)
    assert message == f"event #3 ({EVENT_ID}): {EVENT_ID_REUSED} (first seen as event #1)"
    assert EVENT_ID_REUSED == "event_id reused with other content"
    # the command reports it and fails
    assert main(["score", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err
    # the library refuses it too, whatever the events' source
    events: list[Event] = [build.codec.load(r) for r in raws]
    with pytest.raises(ValueError, match=f"event #3 \\({EVENT_ID}\\): {EVENT_ID_REUSED}"):
        compute_index(events, methodology)

"""The reference dataset (data/reference-2025/) reproduces the published 2025 headline.

The 2025 Global AI City Index (Counterpoint Research) published: top ten Singapore, Seoul,
Beijing, Dubai, San Francisco, Hong Kong, Tokyo, Abu Dhabi, New York, Shanghai; scores
Singapore 84, Seoul 82, Beijing 78, Dubai 76, San Francisco 71; Bengaluru 26th.

The files are calibrated to the default methodology, 2025.2. The dataset published with
2025.1 is rewritten byte for byte by `generate.py --methodology 2025.1`, and 2025.1 scores
it to the numbers it gave before 2025.2 existed (fixtures/reference-2025.1-scores.json).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from shared.contract.event_files import load_events
from shared.contract.events import EventCodec, ProjectUpserted
from shared.contract.methodology import DEFAULT_VERSION, load_methodology
from shared.domain.index import IndexSnapshot, compute_index
from shared.domain.state import build_states
from shared.platform.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DATASET = REPO / "data" / "reference-2025"
FILES = ("cities.ndjson", "indicators.ndjson", "projects.ndjson", "index.ndjson")

TOP_TEN = ["singapore", "seoul", "beijing", "dubai", "san-francisco", "hong-kong", "tokyo",
           "abu-dhabi", "new-york", "shanghai"]
TOP_TEN_NAMES = ["Singapore", "Seoul", "Beijing", "Dubai", "San Francisco", "Hong Kong",
                 "Tokyo", "Abu Dhabi", "New York", "Shanghai"]
PUBLISHED = {"singapore": 84, "seoul": 82, "beijing": 78, "dubai": 76, "san-francisco": 71}
FROZEN_2025_1 = Path(__file__).resolve().parent / "fixtures" / "reference-2025.1-scores.json"


@pytest.fixture(scope="module")
def events(methodology: Any, reference_events: list[Any]) -> list[Any]:
    """The session's reference events (tests/unit/conftest.py), read with the default codec."""
    assert DEFAULT_VERSION == "2025.2"  # the files here are calibrated to the default
    assert methodology.version == "2025.2"
    return reference_events


@pytest.fixture(scope="module")
def snapshot(methodology: Any, reference_snapshot: IndexSnapshot) -> IndexSnapshot:
    assert reference_snapshot.methodology_version == methodology.version
    return reference_snapshot


@pytest.fixture(scope="module")
def projects(events: list[Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """Return the final (last-writer-wins) project records per city."""
    states, _, _ = build_states(events)
    return {c: {k: p for k, p in s.projects.items() if not p.get("removed")}
            for c, s in states.items()}


# ------------------------------------------------------------------ the headline


def test_top_ten_in_published_order(snapshot: IndexSnapshot) -> None:
    assert [item.city_id for item in snapshot.ranking[:10]] == TOP_TEN
    assert [item.rank for item in snapshot.ranking[:10]] == list(range(1, 11))


def test_published_scores_when_rounded(snapshot: IndexSnapshot) -> None:
    scores = {item.city_id: item.score for item in snapshot.ranking}
    assert {c: round(scores[c]) for c in PUBLISHED} == PUBLISHED
    assert snapshot.methodology_version == "2025.2"


def test_published_scores_are_clear_of_rounding_edges(snapshot: IndexSnapshot) -> None:
    """Each headline score is at least 0.2 points from x.5, so a nudge keeps its rounding."""
    scores = {item.city_id: item.score for item in snapshot.ranking}
    for city in PUBLISHED:
        edge = math.floor(scores[city]) + 0.5
        assert abs(scores[city] - edge) >= 0.2, (city, scores[city])


def test_bengaluru_is_26th_with_clear_margins(snapshot: IndexSnapshot) -> None:
    ranking = snapshot.ranking
    assert ranking[25].city_id == "bengaluru" and ranking[25].rank == 26
    assert ranking[24].score - ranking[25].score >= 0.3
    assert ranking[25].score - ranking[26].score >= 0.3


def test_geometric_aggregation_keeps_the_top_ten_and_bengaluru_26th(
        events: list[Any], methodology: Any) -> None:
    """What docs/methodology.md says of the geometric mean on the reference data."""
    geometric = compute_index(events, methodology.with_aggregation("geometric"))
    assert [item.city_id for item in geometric.ranking[:10]] == TOP_TEN
    assert next(i.rank for i in geometric.ranking if i.city_id == "bengaluru") == 26


def test_every_city_is_ranked(snapshot: IndexSnapshot, methodology: Any) -> None:
    assert len(snapshot.results) == 100
    assert len(snapshot.ranking) == 100
    assert snapshot.unranked() == []
    assert snapshot.index_date == date(2025, 6, 30)
    for result in snapshot.results.values():
        for pillar in result.pillars.values():
            assert pillar.coverage >= methodology.coverage_threshold
    scores = [item.score for item in snapshot.ranking]
    assert len(set(scores)) == 100  # no ties
    assert 15 < min(scores) < 30 and max(scores) < 85  # a realistic spread


def test_measured_values_are_not_clamped(snapshot: IndexSnapshot) -> None:
    for result in snapshot.results.values():
        for code, info in result.indicators.items():
            if not info["derived"]:
                assert 0.0 <= info["normalised"] < 100.0, (result.city_id, code)


# ------------------------------------------------------------------ contents


def test_cities_are_real_profiles(snapshot: IndexSnapshot) -> None:
    regions = {"East Asia", "Southeast Asia", "South Asia", "Middle East", "Europe",
               "North America", "Latin America", "Africa", "Oceania"}
    for city_id, result in snapshot.results.items():
        profile = result.profile
        assert profile is not None
        assert profile["region"] in regions, city_id
        assert profile["population"] >= 1_000_000, city_id
    seoul = snapshot.results["seoul"].profile
    assert seoul is not None and (seoul["name"], seoul["country"]) == ("Seoul", "KR")
    assert abs(seoul["lat"] - 37.57) < 0.1 and abs(seoul["lon"] - 126.98) < 0.1
    bengaluru = snapshot.results["bengaluru"].profile
    assert bengaluru is not None and bengaluru["country"] == "IN"


def test_event_counts_and_unique_ids(events: list[Any]) -> None:
    ids = [e.event_id for e in events]
    assert len(ids) == len(set(ids))
    counts = Counter(e.type for e in events)
    assert counts["city.upserted"] == 100
    assert counts["index.ticked"] == 1
    assert counts["project.upserted"] >= 5000
    assert counts["indicator.observed"] >= 100 * 15


def test_timestamps_are_fixed_and_before_the_index_date(events: list[Any]) -> None:
    for e in events:
        assert e.occurred_at.utcoffset() is not None
        assert e.occurred_at.year == 2025
        if e.type != "index.ticked":
            assert e.occurred_at.date() < date(2025, 6, 30)
        if isinstance(e.data, ProjectUpserted):
            assert e.data.started_at <= e.occurred_at.date()
            if e.data.deployed_at is not None:
                assert e.data.started_at <= e.data.deployed_at <= e.occurred_at.date()


def test_projects_volume_and_sectors(projects: dict[str, dict[str, dict[str, Any]]],
                                     methodology: Any) -> None:
    every = [p for city in projects.values() for p in city.values()]
    assert len(every) >= 5000
    sectors = {p["sector"] for p in every}
    assert len(sectors) >= 10 and sectors <= set(methodology.projects.sectors)
    assert {p["owner"] for p in every} == {"public", "private", "partnership"}
    deployed = [p for p in every if p["stage"] in methodology.projects.deployed_stages]
    assert deployed and all(p["deployed_at"] for p in deployed)


@pytest.mark.parametrize(("city", "organization", "name"), [
    ("seoul", "SK Telecom", "A. (A-dot)"),
    ("seoul", "SK Telecom", "AI data centre"),
    ("seoul", "SK Telecom", "AI app market"),
    ("seoul", "Naver", "Biometric"),
    ("seoul", "Naver", "Clova AI healthcare"),
    ("seoul", "Kakao", "X-ray"),
    ("seoul", "Kakao", "KoGPT 2.0"),
    ("seoul", "Samsung Medical Center", "Liver-transplant"),
    ("seoul", "Samsung Medical Center", "speech recognition"),
    ("seoul", "LG Electronics", "On-device AI"),
    ("singapore", "AI Singapore", "healthcare"),
    ("singapore", "AI Singapore", "transport"),
    ("singapore", "AI Singapore", "telecoms"),
])
def test_named_projects_present(projects: dict[str, dict[str, dict[str, Any]]], city: str,
                                organization: str, name: str) -> None:
    hits = [p for p in projects[city].values()
            if p["organization"] == organization and name.lower() in p["name"].lower()]
    assert hits, f"{city}: no {organization} project named like {name!r}"
    if city == "singapore":
        assert all(p["owner"] == "public" for p in hits)


def test_singapore_government_led_seoul_private_led(
        projects: dict[str, dict[str, dict[str, Any]]]) -> None:
    sg = Counter(p["owner"] for p in projects["singapore"].values())
    kr = Counter(p["owner"] for p in projects["seoul"].values())
    assert sg["public"] > sg["private"] + sg["partnership"]
    assert kr["private"] > kr["public"] + kr["partnership"]
    sg_sectors = {p["sector"] for p in projects["singapore"].values()
                  if p["organization"] == "AI Singapore"}
    assert {"health", "transport", "telecom"} <= sg_sectors


# ------------------------------------------------------------------ the console command


def _score_rows(stdout: str) -> list[list[str]]:
    rows = []
    for line in stdout.splitlines():
        cells = [c.strip() for c in re.split(r"[│|┃]", line)]
        cells = [c for c in cells if c]
        if cells and cells[0].isdigit():
            rows.append(cells)
    return rows


def test_aicity_score_prints_the_headline() -> None:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "160"}
    proc = subprocess.run(
        [sys.executable, "-m", "shared.cli.main", "score", "data/reference-2025", "--top", "30"],
        cwd=REPO, env=env, capture_output=True, text=True, encoding="utf-8", timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    rows = _score_rows(proc.stdout)
    assert len(rows) == 30
    assert [r[1] for r in rows[:10]] == TOP_TEN_NAMES
    assert [int(r[0]) for r in rows] == list(range(1, 31))
    assert [round(float(r[3])) for r in rows[:5]] == [84, 82, 78, 76, 71]
    assert rows[25][:2] == ["26", "Bengaluru"]
    assert "100 ranked, 0 unranked" in proc.stdout


# ------------------------------------------------------------------ determinism


def test_generator_is_deterministic(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(DATASET / "generate.py"), "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (DATASET / name).read_bytes(), name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)


def test_generator_rewrites_the_2025_1_dataset_and_2025_1_reproduces_its_numbers(
        tmp_path: Path) -> None:
    """AICITY_METHODOLOGY=2025.1 still gives today's numbers, exactly, on today's data.

    The dataset published with 2025.1 is not kept as a copy: the generator rewrites it byte
    for byte when asked to calibrate 2025.1 (the project records never depend on the
    methodology; only the indicator values are calibrated to it). Its numbers were captured
    at full precision before 2025.2 existed.
    """
    frozen = json.loads(FROZEN_2025_1.read_text(encoding="utf-8"))
    proc = subprocess.run(
        [sys.executable, str(DATASET / "generate.py"), "--methodology", "2025.1",
         "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for name, digest in frozen["files_sha256"].items():
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest, name
    # the projects are the same as in the 2025.2 files; only the indicator values differ
    assert (tmp_path / "projects.ndjson").read_bytes() == (DATASET / "projects.ndjson").read_bytes()

    version = Settings.from_env({"AICITY_METHODOLOGY": "2025.1"}).methodology
    old = load_methodology(version)
    snap = compute_index(load_events(tmp_path, EventCodec(old)), old)
    assert (snap.methodology_version, snap.index_date.isoformat()) == (
        frozen["methodology_version"], frozen["index_date"])
    ranks = {item.city_id: item.rank for item in snap.ranking}
    got = {}
    for city, result in snap.results.items():
        got[city] = {
            "rank": ranks[city], "score": result.score, "coverage": result.coverage,
            "pillars": {k: p.score for k, p in result.pillars.items()},
            "adoption": {k: [v["raw"], v["normalised"]] for k, v in result.indicators.items()
                         if k.startswith("adoption.")},
        }
    assert got == frozen["cities"]  # floats compared with ==: full precision
    assert [item.city_id for item in snap.ranking[:10]] == TOP_TEN

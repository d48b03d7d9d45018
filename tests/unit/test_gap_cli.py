"""`aicity gap`: offline, the same builder and numbers as the API, sentences and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.cli.main import main

DATASET = Path(__file__).resolve().parents[2] / "data" / "reference-2025"


def test_json_is_the_answer_at_full_precision(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gap", "seoul", str(DATASET), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["target"]["city_id"] == "singapore" and doc["rank"] == 2
    assert doc["points_needed"] == doc["target"]["score"] - doc["score"]
    assert f"{doc['points_needed']:.2f}" == "2.10"
    assert {lever["kind"] for lever in doc["levers"]} == {"indicator", "projects"}
    assert doc["ranking_version"] is None  # offline: no live ranking version


def test_sentences_and_targets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gap", "seoul", str(DATASET), "--to", "singapore"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Seoul is 2.10 points behind Singapore (1st). Any one of these alone")
    assert "Not enough alone:" in out
    assert main(["gap", "singapore", str(DATASET)]) == 0
    assert capsys.readouterr().out.startswith("Singapore leads Seoul (2nd) by 2.10 points.")
    assert main(["gap", "bengaluru", str(DATASET), "--rank", "20", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["target"]["rank"] == 20


@pytest.mark.parametrize(("argv", "message"), [
    (["seoul", "--to", "atlantis"], "to: city 'atlantis' is not in the ranking"),
    (["seoul", "--rank", "1000"], "rank: must be at most 100"),
    (["atlantis"], "city 'atlantis' is not ranked")])
def test_errors_name_the_parameter(capsys: pytest.CaptureFixture[str], argv: list[str],
                                   message: str) -> None:
    assert main(["gap", argv[0], str(DATASET), *argv[1:]]) == 2
    assert message in capsys.readouterr().err

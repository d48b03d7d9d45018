"""`aicity load` streams NDJSON and CSV files to the running ingest service over HTTP."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from shared.contract.methodology import load_methodology
from tests.support.events import city, event, indicator
from tests.support.procs import REPO, Stack

pytestmark = pytest.mark.e2e
M = load_methodology()
CSV_COLUMNS = ["event_id", "type", "city_id", "occurred_at", "name", "country", "region",
               "population", "lat", "lon", "indicator", "value"]


def write_inputs(folder: Path) -> tuple[list[dict[str, object]], dict[str, object]]:
    """Write a CSV of two cities and their indicators and an NDJSON file with one bad event."""
    folder.mkdir()
    csv_events = [city("loadville", name="Loadville"), city("csvtown", name="CSV Town")]
    for code in M.observed_indicator_codes()[:6]:
        ind = M.indicator(code)
        csv_events += [indicator("loadville", code, ind.lo + (ind.hi - ind.lo) * 0.25),
                       indicator("csvtown", code, ind.hi)]
    with (folder / "a-cities.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, CSV_COLUMNS)
        writer.writeheader()
        for e in csv_events:
            writer.writerow({k: e.get(k, "") for k in CSV_COLUMNS[:4]} | {
                k: json.dumps(v) if isinstance(v, (int, float)) else v
                for k, v in e["data"].items()})  # type: ignore[union-attr]
    bad = indicator("loadville", "no.such_indicator", 1)
    good = event("project.upserted", "loadville", {
        "project_id": "load-1", "name": "Loaded project", "organization": "Org", "sector": "health",
        "owner": "public", "stage": "deployed", "started_at": "2025-01-01"})
    (folder / "b-more.ndjson").write_text(json.dumps(good) + "\n\n" + json.dumps(bad) + "\n")
    return csv_events + [good], bad


def aicity_load(folder: Path, stack: Stack, token: str, report: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shared.cli.main", "load", str(folder), "--token", token,
         "--url", stack.ingest_url, "--batch", "5", "--report", str(report), "--quiet"],
        capture_output=True, text=True, cwd=REPO, timeout=120)


def test_load_posts_csv_and_ndjson_reports_rejections_and_is_idempotent(
        stack: Stack, tmp_path: Path) -> None:
    token = stack.admin_token()
    good, bad = write_inputs(tmp_path / "in")
    report = tmp_path / "rejections.ndjson"

    first = aicity_load(tmp_path / "in", stack, token, report)
    assert first.returncode == 1, first.stderr  # one event was rejected
    total = len(good) + 1
    assert f"{total} events: {len(good)} accepted, 0 duplicates, 1 rejected" in first.stdout
    rejected = [json.loads(line) for line in report.read_text().splitlines()]
    assert [r["event"]["event_id"] for r in rejected] == [bad["event_id"]]
    assert "indicator" in rejected[0]["errors"]["data"]

    # Every accepted event is in the log, with the CSV's numbers as numbers.
    for e in good:
        status = requests.get(f"{stack.ingest_url}/v1/events/{e['event_id']}", timeout=10,
                              headers={"Authorization": f"Bearer {token}"})
        assert status.status_code == 200, e
    stack.wait_idle(60)
    detail = requests.get(f"{stack.web_url}/api/v1/cities/csvtown", timeout=10).json()
    assert detail["name"] == "CSV Town"
    code = M.observed_indicator_codes()[0]
    assert detail["indicators"][code]["raw"] == M.indicator(code).hi
    assert requests.get(f"{stack.web_url}/api/v1/cities/loadville", timeout=10).json()[
        "projects"]["total"] == 1

    # A retry of the same files changes nothing: every event id is a duplicate.
    again = aicity_load(tmp_path / "in", stack, token, report)
    assert f"{total} events: 0 accepted, {len(good)} duplicates, 1 rejected" in again.stdout

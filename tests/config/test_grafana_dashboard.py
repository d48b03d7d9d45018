"""The Grafana dashboard and its provisioning are consistent with docker-compose.yml.

That every panel query names an exported metric is checked against live services in
tests/e2e/test_ops.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
GRAFANA = REPO / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "aicity.json"


def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for p in items:
        yield p
        yield from panels(p.get("panels", []))


def test_dashboard_parses_with_unique_ids_and_queries() -> None:
    doc = json.loads(DASHBOARD.read_text())
    assert doc["uid"] == "aicity-pipeline" and doc["title"]
    all_panels = list(panels(doc["panels"]))
    ids = [p["id"] for p in all_panels]
    assert len(ids) == len(set(ids))
    queried = [p for p in all_panels if p["type"] not in ("row", "alertlist", "text")]
    assert len(queried) >= 20
    for p in queried:
        assert p["targets"] and all(t["expr"].strip() for t in p["targets"]), p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)), p["title"]
        grid = p["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, p["title"]


def test_dashboard_covers_what_ops_asked_for() -> None:
    titles = " | ".join(p["title"].lower() for p in panels(json.loads(DASHBOARD.read_text())["panels"]))
    for words in ("events submitted", "reject", "freshness", "backlog", "recomputes",
                  "recompute duration", "workers up", "redis", "web requests", "web errors",
                  "latency"):
        assert words in titles, words


def test_provisioning_points_at_the_compose_mounts() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    volumes = compose["grafana"]["volumes"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in volumes
    assert "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro" in volumes
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "aicity.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    source = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    uids = {t["datasource"]["uid"] for p in panels(json.loads(DASHBOARD.read_text())["panels"])
            for t in p.get("targets", [])}
    assert uids == {source["uid"]}

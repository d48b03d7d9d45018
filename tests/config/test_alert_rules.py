"""The Prometheus config and alert rules of deploy/prometheus pass promtool, with a test per alert."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROM = REPO / "deploy" / "prometheus"
COMPOSE = REPO / "docker-compose.yml"
PROMTOOL = shutil.which("promtool")

# The alerts the issue asks for (ranking stale, backlog growing, reject ratio high, recompute
# failures, no workers, Redis down or AOF failing, ingest p99 latency high).
REQUIRED = {"AICityRankingStale", "AICityBacklogGrowing", "AICityRejectRatioHigh",
            "AICityRecomputeFailures", "AICityNoScoringWorkers", "AICityRedisDown",
            "AICityRedisAOFFailing", "AICityIngestLatencyHigh", "AICityNoHooksWorker"}

needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool missing: install Debian's prometheus package "
                             "(`.ci/run` does)")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], check=False, capture_output=True, text=True, timeout=120,
                          cwd=PROM)


def load(name: str) -> Any:
    return yaml.safe_load((PROM / name).read_text())


def alerts() -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for g in load("alerts.yml")["groups"] for r in g["rules"]
            if "alert" in r}


@needs_promtool
def test_prometheus_config_is_valid() -> None:
    out = promtool("check", "config", "prometheus.yml")
    assert out.returncode == 0, out.stdout + out.stderr


@needs_promtool
def test_alert_rules_are_valid() -> None:
    out = promtool("check", "rules", "alerts.yml")
    assert out.returncode == 0, out.stdout + out.stderr


@needs_promtool
def test_alert_rule_unit_tests_pass() -> None:
    out = promtool("test", "rules", "alerts_test.yml")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout + out.stderr


def test_the_issue_alerts_exist_with_severity_and_summary() -> None:
    rules = alerts()
    assert REQUIRED <= set(rules), REQUIRED - set(rules)
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name


def test_every_alert_has_a_firing_and_a_quiet_test_case() -> None:
    doc = load("alerts_test.yml")
    assert doc["rule_files"] == ["alerts.yml"]
    fires: set[str] = set()
    quiet: set[str] = set()
    for case in doc["tests"]:
        for check in case.get("alert_rule_test", []):
            (fires if check["exp_alerts"] else quiet).add(check["alertname"])
    assert fires == set(alerts()), set(alerts()) ^ fires
    assert quiet == set(alerts()), set(alerts()) ^ quiet


def test_config_scrapes_every_compose_service_on_its_port() -> None:
    cfg = load("prometheus.yml")
    assert cfg["rule_files"] == ["alerts.yml"]
    compose = yaml.safe_load(COMPOSE.read_text())["services"]
    ports = {
        "ingest": compose["ingest"]["command"][compose["ingest"]["command"].index("--bind") + 1]
        .rsplit(":", 1)[1],
        "web": compose["web"]["command"][compose["web"]["command"].index("--bind") + 1]
        .rsplit(":", 1)[1],
        "scoring": compose["scoring"]["environment"]["AICITY_WORKER_METRICS_PORT"],
        "hooks": compose["hooks"]["environment"]["AICITY_HOOKS_METRICS_PORT"],
    }
    jobs = {c["job_name"]: c for c in cfg["scrape_configs"]}
    for job, port in ports.items():
        sd = jobs[job]["dns_sd_configs"][0]  # every replica of a scaled service
        assert sd["names"] == [job] and str(sd["port"]) == str(port), job
    # The config is mounted where the prometheus service reads it.
    prom = compose["prometheus"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in prom["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prom["command"]

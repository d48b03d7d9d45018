"""docker-compose.yml is valid (offline) and runs the same commands as the local runner."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from shared.cli.processes import SERVICES

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
# compose service -> local runner process
PAIRS = {"ingest": "ingest", "web": "web", "scoring": "worker", "beat": "beat"}


def _shape(argv: list[str]) -> list[str]:
    """Replace values that legitimately differ (ports, hosts, names, paths) by a marker."""
    out = []
    for part in argv:
        if "{" in part or ":" in part and part[0].isdigit() or "@" in part or part.startswith("/"):
            out.append("<value>")
        elif part.isdigit():
            out.append("<value>")
        else:
            out.append(part)
    return out


def test_compose_commands_match_the_local_runner() -> None:
    doc = yaml.safe_load(COMPOSE.read_text())
    for service, process in PAIRS.items():
        assert _shape(doc["services"][service]["command"]) == _shape(SERVICES[process]), service


def test_compose_core_shape() -> None:
    doc = yaml.safe_load(COMPOSE.read_text())
    redis = doc["services"]["redis"]
    assert {"--appendonly", "yes", "--maxmemory-policy", "noeviction"} <= set(redis["command"])
    assert redis["healthcheck"]["test"][-1] == "ping"
    for name in PAIRS:
        service = doc["services"][name]
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert service["image"] == "aicity:latest"
    assert doc["services"]["scoring"]["stop_grace_period"]
    assert "ops" in doc["services"]["prometheus"]["profiles"]
    assert "ops" in doc["services"]["grafana"]["profiles"]


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="Debian docker-compose absent")
def test_docker_compose_config_validates_offline() -> None:
    out = subprocess.run(["docker-compose", "-f", str(COMPOSE), "--profile", "ops", "config", "-q"],
                         capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr

"""docker-compose.yml is valid (offline) and runs the same commands as the local runner."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from shared.cli.processes import SERVICES

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
# compose service -> local runner process
PAIRS = {"ingest": "ingest", "web": "web", "scoring": "worker", "hooks": "hooks", "beat": "beat"}


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
    assert "ping" in " ".join(redis["healthcheck"]["test"])
    for name in PAIRS:
        service = doc["services"][name]
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert service["image"] == "aicity:latest"
    assert doc["services"]["scoring"]["stop_grace_period"]
    assert "ops" in doc["services"]["prometheus"]["profiles"]
    assert "ops" in doc["services"]["grafana"]["profiles"]


def _after(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_compose_redis_requires_a_password_and_bounds_memory() -> None:
    doc = yaml.safe_load(COMPOSE.read_text())
    redis = doc["services"]["redis"]
    # One required variable; compose refuses to start without it, naming it.
    assert _after(redis["command"], "--requirepass").startswith("${AICITY_REDIS_PASSWORD:?")
    assert _after(redis["command"], "--maxmemory") == "${AICITY_REDIS_MAXMEMORY:-2gb}"
    # The healthcheck authenticates (redis-cli reads REDISCLI_AUTH) and fails on NOAUTH.
    assert redis["environment"]["REDISCLI_AUTH"].startswith("${AICITY_REDIS_PASSWORD:?")
    assert redis["healthcheck"]["test"] == ["CMD-SHELL", "redis-cli ping | grep -q PONG"]
    for name in PAIRS:  # every Python service reads the same setting
        env = doc["services"][name].get("environment") or doc["x-python"]["environment"]
        assert env["AICITY_REDIS_PASSWORD"].startswith("${AICITY_REDIS_PASSWORD:?"), name
    # Prometheus scrapes the worker from another container: its metrics server listens wide.
    assert doc["services"]["scoring"]["environment"]["AICITY_WORKER_METRICS_HOST"] == "0.0.0.0"
    assert doc["services"]["hooks"]["environment"]["AICITY_WORKER_METRICS_HOST"] == "0.0.0.0"


def test_compose_runs_webhooks_in_their_own_lane() -> None:
    """The hooks worker consumes only the hooks queue, on gevent; scoring only its own."""
    doc = yaml.safe_load(COMPOSE.read_text())["services"]
    hooks, scoring = doc["hooks"], doc["scoring"]
    assert _after(hooks["command"], "-Q") == "aicity.hooks"
    assert _after(hooks["command"], "--pool") == "gevent"
    assert _after(scoring["command"], "-Q") == "aicity.scoring"
    assert hooks["stop_grace_period"]
    assert "healthcheck" in " ".join(hooks["healthcheck"]["test"]) and \
        "hooks" in hooks["healthcheck"]["test"]


def _compose_config(password: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICITY_")}
    if password is not None:
        env["AICITY_REDIS_PASSWORD"] = password
    return subprocess.run(["docker-compose", "-f", str(COMPOSE), "--profile", "ops", "config"],
                          capture_output=True, text=True, cwd=REPO, timeout=60, env=env)


needs_compose = pytest.mark.skipif(shutil.which("docker-compose") is None,
                                   reason="Debian docker-compose absent")


@needs_compose
def test_docker_compose_config_validates_offline() -> None:
    out = _compose_config("test-password-0123")
    assert out.returncode == 0, out.stderr
    doc = yaml.safe_load(out.stdout)
    redis = doc["services"]["redis"]
    assert _after(redis["command"], "--requirepass") == "test-password-0123"
    assert _after(redis["command"], "--maxmemory") == "2gb"
    assert redis["environment"]["REDISCLI_AUTH"] == "test-password-0123"
    for name in PAIRS:
        assert doc["services"][name]["environment"]["AICITY_REDIS_PASSWORD"] == "test-password-0123"


@needs_compose
def test_docker_compose_refuses_to_run_without_the_redis_password() -> None:
    out = _compose_config(None)
    assert out.returncode != 0
    assert "AICITY_REDIS_PASSWORD must be set" in out.stderr, out.stderr

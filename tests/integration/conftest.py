"""Integration fixtures: a real redis-server and Celery worker, Flask apps in-process."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from services.ingest.app import create_app as create_ingest
from services.web.app import create_app as create_web
from shared.settings import Settings
from shared.store.feeds import FeedStore
from tests.support.procs import RedisProc, Stack


@dataclass
class Pipeline:
    stack: Stack
    ingest: FlaskClient
    web: FlaskClient
    token: str

    @property
    def redis(self) -> RedisProc:
        return self.stack.redis

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def worker_metric(self, name: str, labels: str = "") -> float:
        """Sum a metric's samples over every worker's /metrics (scoring and hooks)."""
        total = 0.0
        for port in [*self.stack.worker_ports.values(), *self.stack.hooks_ports.values()]:
            text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            for line in text.splitlines():
                if line.startswith(name + (("{" + labels) if labels else "")) and not line.startswith("#"):
                    if labels or line.startswith(name + " ") or line.startswith(name + "{"):
                        total += float(line.rsplit(" ", 1)[1])
        return total


def run_pipeline(tmp_path: Path, env: dict[str, str] | None = None, hooks: bool = False,
                 **overrides: Any) -> Iterator[Pipeline]:
    """Real Redis, one real Celery worker and beat (with `env`), the apps built with `overrides`;
    with `hooks`, the hooks worker too."""
    stack = Stack(tmp_path, extra_env=env) if env else Stack(tmp_path)
    stack.redis.start()
    if hooks:
        stack.start_hooks(wait=False)
    stack.start_worker("worker1")
    for name, port in stack.hooks_ports.items():
        stack.wait_metrics(name, port)
    stack.start_service("beat")
    settings = Settings.from_env(redis_url=stack.redis.url, **overrides)
    try:
        token = FeedStore(stack.redis.client()).create("admin", None)
        yield Pipeline(stack, create_ingest(settings).test_client(),
                       create_web(settings).test_client(), token)
    finally:
        stack.stop()


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Pipeline]:
    """Real Redis, one real Celery worker and beat; the ingest and web apps as test clients."""
    yield from run_pipeline(tmp_path)

"""Fixtures shared by the integration and end-to-end tests; the Hypothesis profile of every tier."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import properties
from tests.support.procs import RedisProc, Stack

properties.register()  # before any test module builds its settings (tests/support/properties.py)


@pytest.fixture
def redis_proc(tmp_path: Path) -> Iterator[RedisProc]:
    """A real redis-server (AOF on) on a free port in a temporary directory."""
    proc = RedisProc(tmp_path / "redis").start()
    yield proc
    proc.kill()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """Redis, ingest, web, one scoring worker and beat, as real processes."""
    s = Stack(tmp_path).start(workers=1)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def loaded_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    """A stack with the reference dataset posted through the ingest API, and an admin token."""
    from tests.support.events import post_ndjson, reference_events

    s = Stack(tmp_path_factory.mktemp("loaded")).start(workers=1)
    try:
        token = s.admin_token()
        events = reference_events()
        for start in range(0, len(events), 1000):
            resp = post_ndjson(s.ingest_url, token, events[start:start + 1000])
            assert resp.status_code == 202, resp.text[:500]
        s.wait_idle(120)
        yield s, token
    finally:
        s.stop()

"""`aicity run` (what `make run` calls) starts everything, loads data, prints URLs, stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from tests.support.procs import REPO, free_port, wait_for

pytestmark = pytest.mark.e2e


class Runner:
    def __init__(self, data_dir: Path) -> None:
        self.ports = {k: free_port() for k in ("web", "ingest", "redis", "metrics")}
        self.data_dir = data_dir
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "shared.cli.main", "run", "--data-dir", str(data_dir),
             "--web-port", str(self.ports["web"]), "--ingest-port", str(self.ports["ingest"]),
             "--redis-port", str(self.ports["redis"]), "--metrics-port", str(self.ports["metrics"])],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def output(self) -> str:
        return "".join(self.lines)

    def interrupt(self) -> int:
        os.killpg(self.proc.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's group
        return self.proc.wait(60)


def _port_closed(port: int) -> bool:
    """Return True if nothing listens on the loopback port any more."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except OSError:
        return True


def test_run_starts_loads_prints_urls_and_stops_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "var"
    runner = Runner(data)
    try:
        wait_for(lambda: "READY" in runner.output(), 180, 0.2, what="runner READY")
        out = runner.output()
        web = f"http://127.0.0.1:{runner.ports['web']}"
        assert f"{web}/" in out and f"http://127.0.0.1:{runner.ports['ingest']}/v1/events" in out
        assert "admin token" in out and "loaded" in out
        doc = requests.get(f"{web}/api/v1/rankings", timeout=10).json()
        assert len(doc["items"]) == 100 and doc["items"][0]["city_id"] == "singapore"
        assert (data / "appendonly.aof").exists() or (data / "appendonlydir").exists()
    finally:
        code = runner.interrupt()
    assert code in (0, 130, -2), runner.output()[-2000:]
    for name, port in runner.ports.items():  # web, ingest, worker metrics and Redis all stopped
        assert _port_closed(port), name

    # Running again keeps the data: nothing is reloaded, the ranking is back.
    again = Runner(data)
    try:
        wait_for(lambda: "READY" in again.output(), 180, 0.2, what="second READY")
        assert "through the ingest API" not in again.output()
        web = f"http://127.0.0.1:{again.ports['web']}"
        doc = requests.get(f"{web}/api/v1/rankings", timeout=10).json()
        assert len(doc["items"]) == 100
    finally:
        code = again.interrupt()
    assert code in (0, 130, -2), again.output()[-2000:]
    assert all(_port_closed(port) for port in again.ports.values())

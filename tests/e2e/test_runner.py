"""`aicity run` (what `make run` calls) starts everything, loads data, prints URLs, stops cleanly.

Its Redis listens on loopback only whatever --host says, requires the password generated
at first start (kept in the data dir, mode 600), and `aicity` commands run beside it from
the checkout find it without AICITY_REDIS_URL.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
import redis
import requests

from tests.support.events import reference_events
from tests.support.procs import REPO, free_port, wait_for

pytestmark = pytest.mark.e2e


def clean_env(data_dir: Path | None) -> dict[str, str]:
    """The caller's environment without AICITY_* settings; the runner's data dir given (unless
    None); the last run recorded beside it, never in the checkout's var/."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICITY_")}
    env.update(PYTHONUNBUFFERED="1")
    if data_dir is not None:
        env.update(AICITY_DATA_DIR=str(data_dir),
                   AICITY_LAST_RUN_FILE=str(data_dir.parent / "last-run.json"))
    return env


class Runner:
    def __init__(self, data_dir: Path, host: str = "127.0.0.1", *extra: str,
                 env: dict[str, str] | None = None) -> None:
        self.ports = {k: free_port() for k in ("web", "ingest", "redis", "metrics")}
        self.host = host
        self.data_dir = data_dir
        self.lines: list[str] = []
        # By default no --data-dir: the runner uses $AICITY_DATA_DIR, as the CLI commands
        # beside it do.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "shared.cli.main", "run", "--host", host,
             "--web-port", str(self.ports["web"]), "--ingest-port", str(self.ports["ingest"]),
             "--redis-port", str(self.ports["redis"]), "--metrics-port", str(self.ports["metrics"]),
             *extra],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True, env=env or clean_env(data_dir))
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def output(self) -> str:
        return "".join(self.lines)

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.ports[name]}"

    def interrupt(self) -> int:
        os.killpg(self.proc.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's group
        return self.proc.wait(60)


def aicity(*argv: str, data_dir: Path | None, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    """Run an `aicity` command from the checkout, with no AICITY_REDIS_URL / password set."""
    return subprocess.run([sys.executable, "-m", "shared.cli.main", *argv], cwd=REPO,
                          env=env or clean_env(data_dir), capture_output=True, text=True,
                          timeout=60)


def _port_closed(port: int, host: str = "127.0.0.1") -> bool:
    """Return True if nothing listens on the port any more."""
    try:
        socket.create_connection((host, port), timeout=1).close()
        return False
    except OSError:
        return True


def listening_addresses(port: int) -> set[str]:
    """Return the local addresses (hex, as /proc/net/tcp{,6} show them) listening on port."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            address, hexport = local.rsplit(":", 1)
            if state == "0A" and int(hexport, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


LOOPBACK = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1


def check_redis_locked(runner: Runner, password: str) -> None:
    """Redis listens on loopback only, refuses clients without the password, has maxmemory."""
    port = runner.ports["redis"]
    assert listening_addresses(port) and listening_addresses(port) <= LOOPBACK, \
        listening_addresses(port)
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=port, socket_timeout=5).ping()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=port, password="wrong", socket_timeout=5).ping()
    client = redis.Redis(port=port, password=password, decode_responses=True)
    assert client.config_get("protected-mode")["protected-mode"] == "yes"
    assert client.config_get("bind")["bind"] == "127.0.0.1"
    assert client.config_get("maxmemory")["maxmemory"] == str(2 * 1024 ** 3)  # default 2gb
    assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"


def seoul_event() -> dict[str, object]:
    """A valid indicator event for Seoul (a reference one under a fresh id)."""
    ev = next(e for e in reference_events()
              if e["type"] == "indicator.observed" and e.get("city_id") == "seoul")
    return dict(ev, event_id=str(uuid.uuid4()))


def test_run_starts_loads_prints_urls_and_stops_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "var"
    runner = Runner(data)
    try:
        wait_for(lambda: "READY" in runner.output(), 180, 0.2, what="runner READY")
        out = runner.output()
        web = runner.url("web")
        assert f"{web}/" in out and f"{runner.url('ingest')}/v1/events" in out
        assert "admin token" in out and "loaded" in out
        hooks_port = runner.ports["metrics"] + 1  # the hooks worker's, after the one worker's
        assert f"{runner.url('metrics').rsplit(':', 1)[0]}:{hooks_port}/metrics (hooks)" in out
        doc = requests.get(f"{web}/api/v1/rankings", timeout=10).json()
        assert len(doc["items"]) == 100 and doc["items"][0]["city_id"] == "singapore"
        assert (data / "appendonly.aof").exists() or (data / "appendonlydir").exists()

        # The password: generated at first start, private, never printed.
        pw_file = data / "redis-password"
        assert pw_file.stat().st_mode & 0o777 == 0o600
        password = pw_file.read_text().strip()
        assert len(password) >= 32 and password not in out
        assert json.loads((data / "redis.json").read_text())["url"] == \
            f"redis://127.0.0.1:{runner.ports['redis']}/0"
        check_redis_locked(runner, password)

        # README: `aicity feeds create seoul-open-data --cities seoul`, beside `make run`.
        created = aicity("feeds", "create", "seoul-open-data", "--cities", "seoul", data_dir=data)
        assert created.returncode == 0, created.stderr
        token = created.stdout.strip()
        assert token.startswith("aci_") and password not in created.stdout + created.stderr
        resp = requests.post(f"{runner.url('ingest')}/v1/events", json=seoul_event(), timeout=10,
                             headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 202, resp.text  # the feed lives in the runner's Redis
        listed = aicity("feeds", "list", data_dir=data)
        assert "seoul-open-data\tseoul" in listed.stdout, listed.stderr
    finally:
        code = runner.interrupt()
    assert code in (0, 130, -2), runner.output()[-2000:]
    for name, port in runner.ports.items():  # web, ingest, worker metrics and Redis all stopped
        assert _port_closed(port), name

    # Nothing running: one clear line, no traceback, no password.
    down = aicity("feeds", "list", data_dir=data)
    assert down.returncode != 0 and "Traceback" not in down.stderr
    assert down.stderr.strip() == down.stderr.strip().splitlines()[0]
    assert down.stderr.startswith(
        f"aicity: error: cannot reach Redis at redis://127.0.0.1:{runner.ports['redis']}/0 (")
    assert "start it with make run or set AICITY_REDIS_URL" in down.stderr
    assert password not in down.stderr

    # Running again keeps the data and the password: nothing is reloaded, the ranking is
    # back. --host moves the web, ingest and worker metrics servers, never Redis.
    again = Runner(data, host="127.0.0.2")
    try:
        wait_for(lambda: "READY" in again.output(), 180, 0.2, what="second READY")
        assert "through the ingest API" not in again.output()
        doc = requests.get(f"{again.url('web')}/api/v1/rankings", timeout=10).json()
        assert len(doc["items"]) == 100
        assert (data / "redis-password").read_text().strip() == password
        check_redis_locked(again, password)
        assert _port_closed(again.ports["redis"], "127.0.0.2")
        metrics = f"{again.url('metrics')}/metrics"
        assert "aicity_scoring" in requests.get(metrics, timeout=10).text
        assert _port_closed(again.ports["metrics"], "127.0.0.1")  # bound to --host only
        # The hooks worker (webhooks in their own lane) runs beside them, on --host too.
        hooks = f"http://127.0.0.2:{again.ports['metrics'] + 1}/metrics"
        assert "aicity_webhook_deliveries_total" in requests.get(hooks, timeout=10).text
        assert _port_closed(again.ports["metrics"] + 1, "127.0.0.1")
        listed = aicity("feeds", "list", data_dir=data)
        assert "seoul-open-data\tseoul" in listed.stdout, listed.stderr
    finally:
        code = again.interrupt()
    assert code in (0, 130, -2), again.output()[-2000:]
    assert all(_port_closed(port, host) for port in [*again.ports.values(), again.ports["metrics"] + 1]
               for host in ("127.0.0.1", "127.0.0.2"))


def test_commands_find_the_data_dir_of_the_last_run_or_say_what_to_pass(tmp_path: Path) -> None:
    """`aicity run --data-dir X`, then `aicity feeds ...` in another terminal with nothing set."""
    data = tmp_path / "elsewhere"
    env = dict(clean_env(None), AICITY_LAST_RUN_FILE=str(tmp_path / "last-run.json"))
    nothing = aicity("feeds", "list", data_dir=None, env=env)  # no run recorded yet
    assert nothing.returncode != 0 and "Traceback" not in nothing.stderr
    assert len(nothing.stderr.strip().splitlines()) == 1, nothing.stderr
    assert "--data-dir" in nothing.stderr and "AICITY_DATA_DIR" in nothing.stderr
    runner = Runner(data, "127.0.0.1", "--data-dir", str(data), "--no-load", env=env)
    try:
        wait_for(lambda: "READY" in runner.output(), 180, 0.2, what="runner READY")
        created = aicity("feeds", "create", "seoul-open-data", "--cities", "seoul",
                         data_dir=None, env=env)
        assert created.returncode == 0, created.stderr
        token = created.stdout.strip()
        resp = requests.post(f"{runner.url('ingest')}/v1/events", json=seoul_event(), timeout=10,
                             headers={"Authorization": f"Bearer {token}"})
        # Authenticated (not 401): the feed lives in X's Redis (--no-load: seoul is unknown).
        assert resp.status_code == 403 and "does not exist" in resp.text, resp.text
        listed = aicity("feeds", "list", data_dir=None, env=env)
        assert "seoul-open-data\tseoul" in listed.stdout, listed.stderr
        # An explicit data dir wins over the last run, and says which one it looked in.
        other = aicity("feeds", "list", "--data-dir", str(tmp_path / "empty"), data_dir=None,
                       env=env)
        assert other.returncode != 0 and len(other.stderr.strip().splitlines()) == 1
        assert str(tmp_path / "empty") in other.stderr and "--data-dir" in other.stderr
    finally:
        code = runner.interrupt()
    assert code in (0, 130, -2), runner.output()[-2000:]

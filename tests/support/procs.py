"""Start real processes for tests: redis-server and the services, on free loopback ports."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
import requests

from shared.cli.processes import command
from shared.platform.redis_server import redis_args, redis_server_binary

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """Return a TCP port free on loopback right now, below the kernel's ephemeral range.

    Ports the kernel hands out (bind to 0) collide with the ephemeral ports of the many
    client connections load tests open; a random port in 20000-32767 does not.
    """
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 32768)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20000-32767")


def wait_for(cond: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05,
             what: str = "condition") -> Any:
    """Poll cond() until it returns something truthy; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = cond()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last_exc = exc
        time.sleep(interval)
    raise TimeoutError(f"{what} not met within {timeout} s" + (f" (last error: {last_exc!r})"
                                                                if last_exc else ""))


class RedisProc:
    """A real redis-server in a temporary directory, AOF on (optionally AUTH and maxmemory)."""

    def __init__(self, data_dir: Path, appendfsync: str = "everysec", port: int | None = None,
                 password: str | None = None, maxmemory: str | None = None):
        self.data_dir = data_dir
        self.appendfsync = appendfsync
        self.port = port or free_port()
        self.password = password
        self.maxmemory = maxmemory
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProc:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [redis_server_binary(), *redis_args(self.port, self.data_dir, self.appendfsync,
                                                password=self.password,
                                                maxmemory=self.maxmemory)],
            stdout=(self.data_dir / "redis.log").open("ab"), stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port, password=self.password)
        wait_for(lambda: client.ping(), 20, what=f"redis on {self.port}")
        client.close()
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True, password=self.password)


class ServiceProc:
    """One service process (gunicorn app, Celery worker or beat) with its log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path):
        self.name = name
        self.argv = argv
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProc:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", *self.argv], env=self.env, cwd=REPO,
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        if self.signal(sig):
            self.wait_stopped(timeout)

    def signal(self, sig: int = signal.SIGTERM) -> bool:
        """Send sig to the process group; False if the process is not running."""
        if not self.proc or self.proc.poll() is not None:
            return False
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            return False
        return True

    def wait_stopped(self, timeout: float = 15) -> None:
        """Wait for the process to exit; kill its group after timeout seconds."""
        assert self.proc is not None
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(5)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Stack:
    """Redis, ingest, web, scoring workers, the hooks worker and beat as real processes on loopback."""

    def __init__(self, tmp: Path, appendfsync: str = "everysec", http_workers: int = 2,
                 extra_env: dict[str, str] | None = None):
        self.tmp = tmp
        self.redis = RedisProc(tmp / "redis", appendfsync)
        self.ingest_port = free_port()
        self.web_port = free_port()
        self.http_workers = http_workers
        self.extra_env = extra_env or {}
        self.services: dict[str, ServiceProc] = {}
        self.worker_ports: dict[str, int] = {}
        self.hooks_ports: dict[str, int] = {}  # the hooks workers' metrics ports

    @property
    def ingest_url(self) -> str:
        return f"http://127.0.0.1:{self.ingest_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ, AICITY_REDIS_URL=self.redis.url, PYTHONUNBUFFERED="1",
                   PYTHONPATH=str(REPO), **self.extra_env)
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.pop("AICITY_REDIS_PASSWORD", None)  # only this stack's Redis password, if any
        if self.redis.password:
            env["AICITY_REDIS_PASSWORD"] = self.redis.password
        env.update(extra)
        return env

    def _values(self) -> dict[str, object]:
        return {"host": "127.0.0.1", "ingest_port": self.ingest_port, "web_port": self.web_port,
                "ingest_workers": self.http_workers, "web_workers": self.http_workers,
                "data_dir": str(self.tmp)}

    def start_service(self, name: str) -> ServiceProc:
        # Multiprocess mode only for the gunicorn services (their config creates the dir);
        # beat imports the scoring metrics and would crash on a missing directory.
        extra = ({"PROMETHEUS_MULTIPROC_DIR": str(self.tmp / f"prom-{name}")}
                 if name in ("ingest", "web") else {})
        svc = ServiceProc(name, command(name, **self._values()), self.env(**extra),
                          self.tmp / f"{name}.log")
        self.services[name] = svc.start()
        return svc

    def start_worker(self, name: str = "worker1") -> ServiceProc:
        port = free_port()
        svc = ServiceProc(name, command("worker", worker_name=name, **self._values()),
                          self.env(AICITY_WORKER_METRICS_PORT=str(port)), self.tmp / f"{name}.log")
        self.services[name] = svc.start()
        self.worker_ports[name] = port
        self.wait_metrics(name, port)
        return svc

    def start_hooks(self, name: str = "hooks", wait: bool = True, **env: str) -> ServiceProc:
        """Start a hooks worker (webhook lane, gevent pool) with its own metrics port."""
        port = free_port()
        svc = ServiceProc(name, command("hooks", hooks_name=name, **self._values()),
                          self.env(AICITY_HOOKS_METRICS_PORT=str(port), **env),
                          self.tmp / f"{name}.log")
        self.services[name] = svc.start()
        self.hooks_ports[name] = port
        if wait:
            self.wait_metrics(name, port)
        return svc

    def wait_metrics(self, name: str, port: int) -> None:
        """Wait until a worker's metrics server answers."""
        wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/metrics", timeout=1).ok, 60,
                 what=f"{name} metrics")

    def start(self, workers: int = 1, beat: bool = True, hooks: bool = True) -> Stack:
        """Start every process and wait until ready; on failure stop what did start."""
        try:
            return self._start(workers, beat, hooks)
        except BaseException:
            self.stop()
            raise

    def _start(self, workers: int, beat: bool, hooks: bool) -> Stack:
        self.redis.start()
        self.start_service("ingest")
        self.start_service("web")
        if hooks:  # started first, waited for with the HTTP services
            self.start_hooks(wait=False)
        for n in range(1, workers + 1):
            self.start_worker(f"worker{n}")
        for name, port in self.hooks_ports.items():
            self.wait_metrics(name, port)
        if beat:
            self.start_service("beat")
        for url in (self.ingest_url, self.web_url):
            wait_for(lambda u=url: requests.get(f"{u}/readyz", timeout=1).status_code == 200,  # type: ignore[misc]
                     60, what=f"{url}/readyz")
        return self

    def stop(self) -> None:
        """Stop every service, then Redis (SIGTERM: it syncs its AOF).

        The workers and beat get SIGTERM (a warm shutdown: a task under way finishes); the
        HTTP services get gunicorn's quick shutdown (SIGQUIT), as a test has no request in
        flight when it stops its stack and a graceful one waits out the browser's open
        streams (10 s). All are signalled together, so a stack stops in its slowest
        service's time, not the sum."""
        quick = {"ingest", "web"}
        stopping = [svc for name, svc in reversed(list(self.services.items()))
                    if svc.signal(signal.SIGQUIT if name in quick else signal.SIGTERM)]
        deadline = time.monotonic() + 15
        for svc in stopping:
            svc.wait_stopped(max(0.0, deadline - time.monotonic()))
        self.redis.kill(signal.SIGTERM)

    def logs(self) -> str:
        return "\n".join(f"==== {n}\n{s.output()[-3000:]}" for n, s in self.services.items())

    def admin_token(self, name: str = "admin") -> str:
        from shared.store.feeds import FeedStore

        return FeedStore(self.redis.client()).create(name, None)

    def wait_idle(self, timeout: float = 60) -> None:
        """Wait until every accepted event is folded into the published ranking."""
        client = self.redis.client()
        wait_for(lambda: client.scard("aicity:dirty") == 0
                 and int(client.get("aicity:backlog") or 0) == 0, timeout, 0.1,
                 what="scoring caught up")

"""`aicity run`: the whole system on one machine, on an embedded Redis, with honcho.

Starts redis-server (AOF on, data kept in --data-dir; listening on 127.0.0.1 only, AUTH
with a password generated at first start into <data-dir>/redis-password, maxmemory from
AICITY_REDIS_MAXMEMORY), the ingest and web services, scoring workers, the hooks worker and beat, then a
bootstrap step that creates an admin feed, loads the reference dataset if the store is
empty and prints the URLs; with --demo also a simulated contributor (`aicity demo`,
shared/cli/demo.py) posting revisions through the ingest API. Ctrl-C stops everything.
It records its Redis URL in <data-dir>/redis.json, and that data dir in var/last-run.json
($AICITY_LAST_RUN_FILE), so other `aicity` commands run in this checkout find it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from honcho.manager import Manager

from shared.cli.common import (
    DEFAULT_REDIS_PORT,
    PASSWORD_FILE,
    default_data_dir,
    record_last_run,
    write_record,
)
from shared.cli.demo import positive_seconds
from shared.cli.processes import command
from shared.platform.redis_server import redis_args, redis_server_binary
from shared.platform.settings import Settings

REFERENCE = Path(__file__).resolve().parents[2] / "data" / "reference-2025"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the run command."""
    p = sub.add_parser("run", help="start the whole system locally on an embedded Redis")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="Redis AOF, admin token, Redis password (default $AICITY_DATA_DIR, "
                        "else var/ in this checkout)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address of the web, ingest and worker metrics servers (the embedded "
                        "Redis always listens on 127.0.0.1 only)")
    p.add_argument("--web-port", type=int, default=8000)
    p.add_argument("--ingest-port", type=int, default=8001)
    p.add_argument("--redis-port", type=int, default=DEFAULT_REDIS_PORT)
    p.add_argument("--redis-url", default=None, help="use this Redis instead of embedding one")
    p.add_argument("--workers", type=int, default=1, help="scoring worker processes")
    p.add_argument("--http-workers", type=int, default=2, help="gunicorn workers per service")
    p.add_argument("--metrics-port", type=int, default=9101,
                   help="first worker metrics port (the hooks worker's follows the scoring ones)")
    p.add_argument("--appendfsync", default="everysec", choices=("always", "everysec", "no"))
    p.add_argument("--dataset", type=Path, default=REFERENCE, help="loaded if the store is empty")
    p.add_argument("--no-load", action="store_true", help="do not load the dataset")
    p.add_argument("--demo", action="store_true",
                   help="also start a simulated contributor (feed 'demo') that posts plausible "
                        "revisions for random cities, so the live ranking moves (off by default)")
    p.add_argument("--demo-interval", type=positive_seconds, default=3.0,
                   help="seconds between the demo contributor's batches (default 3)")
    p.set_defaults(func=run)


def _python(argv: list[str]) -> str:
    return " ".join([sys.executable, "-m", *(_quote(a) for a in argv)])


def _quote(arg: str) -> str:
    return arg if arg and all(c.isalnum() or c in "-_./:@%{}=," for c in arg) else repr(arg)


def redis_password(data_dir: Path) -> str:
    """Return the embedded Redis's password, generated at first start (mode 600 file)."""
    path = data_dir / PASSWORD_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        path.chmod(0o600)
        password = path.read_text(encoding="utf-8").strip()
        if password:
            return password
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    password = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(password + "\n")
    return password


def run(args: argparse.Namespace) -> int:
    """Start every process and wait; return the first exit code."""
    settings = Settings.from_env()
    data_dir = (args.data_dir or default_data_dir()).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    record_last_run(data_dir)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    redis_cmd = None
    if args.redis_url:  # an external Redis: its password, if any, is $AICITY_REDIS_PASSWORD
        redis_url = args.redis_url
        write_record(data_dir, redis_url, None)
    else:  # loopback only, whatever --host says; AUTH with a password kept in data_dir
        redis_url = f"redis://127.0.0.1:{args.redis_port}/0"
        from_env = bool(settings.redis_password)
        password = settings.redis_password or redis_password(data_dir)
        env["AICITY_REDIS_PASSWORD"] = password
        write_record(data_dir, redis_url, None if from_env else PASSWORD_FILE)
        redis_cmd = " ".join(_quote(a) for a in [
            redis_server_binary(), *redis_args(args.redis_port, data_dir, args.appendfsync,
                                               "127.0.0.1", password=password,
                                               maxmemory=settings.redis_maxmemory)])
    env["AICITY_REDIS_URL"] = redis_url
    repo = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    values = {"host": args.host, "ingest_port": args.ingest_port, "web_port": args.web_port,
              "ingest_workers": args.http_workers, "web_workers": args.http_workers,
              "data_dir": str(data_dir)}
    manager = Manager()
    if redis_cmd:
        manager.add_process("redis", redis_cmd, env=env, cwd=repo)
    for name in ("ingest", "web"):
        proc_env = dict(env, PROMETHEUS_MULTIPROC_DIR=str(data_dir / f"prom-{name}"))
        manager.add_process(name, _python(command(name, **values)), env=proc_env, cwd=repo)
    for n in range(1, args.workers + 1):
        worker_env = dict(env, AICITY_WORKER_METRICS_PORT=str(args.metrics_port + n - 1),
                          AICITY_WORKER_METRICS_HOST=args.host)
        manager.add_process(f"worker{n}", _python(command("worker", worker_name=f"worker{n}",
                                                          **values)), env=worker_env, cwd=repo)
    hooks_env = dict(env, AICITY_HOOKS_METRICS_PORT=str(args.metrics_port + args.workers),
                     AICITY_WORKER_METRICS_HOST=args.host)  # the port after the workers'
    manager.add_process("hooks", _python(command("hooks", hooks_name="hooks", **values)),
                        env=hooks_env, cwd=repo)
    manager.add_process("beat", _python(command("beat", **values)), env=env, cwd=repo)
    boot = ["shared.cli.main", "bootstrap", "--ingest-url",
            f"http://{args.host}:{args.ingest_port}", "--web-url",
            f"http://{args.host}:{args.web_port}", "--data-dir", str(data_dir),
            "--dataset", str(args.dataset), "--metrics-port", str(args.metrics_port),
            "--workers", str(args.workers)]
    if args.no_load:
        boot.append("--no-load")
    manager.add_process("bootstrap", _python(boot), env=env, cwd=repo)
    if args.demo:
        demo = ["shared.cli.main", "demo", "--ingest-url", f"http://{args.host}:{args.ingest_port}",
                "--web-url", f"http://{args.host}:{args.web_port}", "--data-dir", str(data_dir),
                "--interval", str(args.demo_interval)]
        manager.add_process("demo", _python(demo), env=env, cwd=repo)
    manager.loop()
    return int(manager.returncode or 0)

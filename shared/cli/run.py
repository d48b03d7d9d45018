"""`aicity run`: the whole system on one machine, on an embedded Redis, with honcho.

Starts redis-server (AOF on, data kept in --data-dir), the ingest and web services,
scoring workers and beat, then a bootstrap step that creates an admin feed, loads the
reference dataset if the store is empty and prints the URLs. Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from honcho.manager import Manager

from shared.cli.processes import command
from shared.redis_server import redis_args, redis_server_binary

REFERENCE = Path(__file__).resolve().parents[2] / "data" / "reference-2025"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the run command."""
    p = sub.add_parser("run", help="start the whole system locally on an embedded Redis")
    p.add_argument("--data-dir", type=Path, default=Path("var"), help="Redis AOF and state")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--web-port", type=int, default=8000)
    p.add_argument("--ingest-port", type=int, default=8001)
    p.add_argument("--redis-port", type=int, default=6399)
    p.add_argument("--redis-url", default=None, help="use this Redis instead of embedding one")
    p.add_argument("--workers", type=int, default=1, help="scoring worker processes")
    p.add_argument("--http-workers", type=int, default=2, help="gunicorn workers per service")
    p.add_argument("--metrics-port", type=int, default=9101, help="first worker metrics port")
    p.add_argument("--appendfsync", default="everysec", choices=("always", "everysec", "no"))
    p.add_argument("--dataset", type=Path, default=REFERENCE, help="loaded if the store is empty")
    p.add_argument("--no-load", action="store_true", help="do not load the dataset")
    p.set_defaults(func=run)


def _python(argv: list[str]) -> str:
    return " ".join([sys.executable, "-m", *(_quote(a) for a in argv)])


def _quote(arg: str) -> str:
    return arg if arg and all(c.isalnum() or c in "-_./:@%{}=," for c in arg) else repr(arg)


def run(args: argparse.Namespace) -> int:
    """Start every process and wait; return the first exit code."""
    data_dir = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    redis_url = args.redis_url or f"redis://{args.host}:{args.redis_port}/0"
    env = dict(os.environ, AICITY_REDIS_URL=redis_url, PYTHONUNBUFFERED="1")
    repo = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    values = {"host": args.host, "ingest_port": args.ingest_port, "web_port": args.web_port,
              "ingest_workers": args.http_workers, "web_workers": args.http_workers,
              "data_dir": str(data_dir)}
    manager = Manager()
    if not args.redis_url:
        redis_cmd = " ".join(_quote(a) for a in [
            redis_server_binary(), *redis_args(args.redis_port, data_dir, args.appendfsync,
                                               args.host)])
        manager.add_process("redis", redis_cmd, env=env,
                            cwd=repo)
    for name in ("ingest", "web"):
        proc_env = dict(env, PROMETHEUS_MULTIPROC_DIR=str(data_dir / f"prom-{name}"))
        manager.add_process(name, _python(command(name, **values)), env=proc_env, cwd=repo)
    for n in range(1, args.workers + 1):
        worker_env = dict(env, AICITY_WORKER_METRICS_PORT=str(args.metrics_port + n - 1))
        manager.add_process(f"worker{n}", _python(command("worker", worker_name=f"worker{n}",
                                                          **values)), env=worker_env, cwd=repo)
    manager.add_process("beat", _python(command("beat", **values)), env=env, cwd=repo)
    boot = ["shared.cli.main", "bootstrap", "--ingest-url",
            f"http://{args.host}:{args.ingest_port}", "--web-url",
            f"http://{args.host}:{args.web_port}", "--data-dir", str(data_dir),
            "--dataset", str(args.dataset), "--metrics-port", str(args.metrics_port),
            "--workers", str(args.workers)]
    if args.no_load:
        boot.append("--no-load")
    manager.add_process("bootstrap", _python(boot), env=env, cwd=repo)
    manager.loop()
    return int(manager.returncode or 0)

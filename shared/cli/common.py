"""Helpers the CLI commands share: which Redis a command talks to, and how it says it cannot.

A command uses, in order: --redis-url, $AICITY_REDIS_URL, else the Redis that `aicity run`
(`make run`) recorded in its data dir: --data-dir, else $AICITY_DATA_DIR, else the data dir
of the last `aicity run` started from this checkout (var/last-run.json, or
$AICITY_LAST_RUN_FILE). With none of them, or nothing recorded there, it fails with one line
saying what to pass. The password is $AICITY_REDIS_PASSWORD, else the runner's password
file when the URL is the one the runner recorded.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from shared.platform.settings import Settings
from shared.store.connection import Client, redis_client

REPO = Path(__file__).resolve().parents[2]
RECORD_FILE = "redis.json"  # {"url": ..., "password_file": name in the data dir or null}
PASSWORD_FILE = "redis-password"
DEFAULT_REDIS_PORT = 6399
HINT = "start it with make run or set AICITY_REDIS_URL"
# Where `aicity run` says which data dir it uses ({"data_dir": ...}), in the checkout.
LAST_RUN_FILE = REPO / "var" / "last-run.json"
WHERE_HINT = ("pass --data-dir DIR (the data dir `aicity run` was given) or set "
              "AICITY_DATA_DIR, or give --redis-url / AICITY_REDIS_URL")


def default_data_dir() -> Path:
    """Return where `aicity run` keeps its data: $AICITY_DATA_DIR, else var/ in the checkout."""
    explicit = os.environ.get("AICITY_DATA_DIR")
    return Path(explicit).expanduser() if explicit else REPO / "var"


@dataclass(frozen=True)
class RunnerRecord:
    url: str
    password_file: Path | None

    def password(self) -> str:
        """Return the recorded Redis password ('' if none or unreadable)."""
        if self.password_file is None:
            return ""
        try:
            return self.password_file.read_text(encoding="utf-8").strip()
        except OSError:
            return ""


def write_record(data_dir: Path, url: str, password_file: str | None) -> None:
    """Record (mode 600) which Redis the runner uses, for the CLI commands run beside it."""
    path = data_dir / RECORD_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"url": url, "password_file": password_file}, fh)
        fh.write("\n")
    tmp.replace(path)


def last_run_file() -> Path:
    """Return where `aicity run` records its data dir: $AICITY_LAST_RUN_FILE, else LAST_RUN_FILE."""
    explicit = os.environ.get("AICITY_LAST_RUN_FILE")
    return Path(explicit).expanduser() if explicit else LAST_RUN_FILE


def record_last_run(data_dir: Path) -> None:
    """Record data_dir as the last run's, for the commands run beside it without --data-dir."""
    path = last_run_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"data_dir": str(data_dir.resolve())}) + "\n", encoding="utf-8")
    tmp.replace(path)


def last_run_data_dir() -> Path | None:
    """Return the data dir the last `aicity run` recorded, or None."""
    try:
        return Path(json.loads(last_run_file().read_text(encoding="utf-8"))["data_dir"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def data_dir_from(args: argparse.Namespace) -> tuple[Path | None, str]:
    """Return the data dir a command uses and where it came from (for messages).

    --data-dir, else $AICITY_DATA_DIR, else the last `aicity run` recorded; None if none.
    """
    if getattr(args, "data_dir", None):
        return Path(args.data_dir).expanduser(), "--data-dir"
    if os.environ.get("AICITY_DATA_DIR"):
        return Path(os.environ["AICITY_DATA_DIR"]).expanduser(), "AICITY_DATA_DIR"
    return last_run_data_dir(), f"the last `aicity run` ({last_run_file()})"


def read_record(data_dir: Path | None = None) -> RunnerRecord | None:
    """Return what the runner recorded in data_dir (default: default_data_dir()), or None."""
    data_dir = data_dir or default_data_dir()
    try:
        raw = json.loads((data_dir / RECORD_FILE).read_text(encoding="utf-8"))
        url = str(raw["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    name = raw.get("password_file")
    return RunnerRecord(url, data_dir / str(name) if name else None)


def add_redis_arg(p: argparse.ArgumentParser) -> None:
    """Add --redis-url and --data-dir (default: AICITY_REDIS_URL, else the Redis of `make run`)."""
    p.add_argument("--redis-url", default=None,
                   help="Redis URL (default $AICITY_REDIS_URL, else the Redis `aicity run` "
                        "recorded in its data dir)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="the data dir of the `aicity run` whose Redis to use (default "
                        "$AICITY_DATA_DIR, else the last `aicity run` of this checkout)")


def _no_runner(data_dir: Path | None, source: str) -> ValueError:
    if data_dir is None:
        return ValueError(f"no Redis to talk to: no `aicity run` recorded its data dir "
                          f"({last_run_file()} is missing); {WHERE_HINT}")
    return ValueError(f"no Redis to talk to: {data_dir} (from {source}) holds no {RECORD_FILE} "
                      f"of an `aicity run`; {WHERE_HINT}")


def settings_from(args: argparse.Namespace) -> Settings:
    """Return settings from the environment with the command's overrides.

    Raise ValueError (one line: what to pass) when no URL is given and no runner's record
    is found in the data dir.
    """
    overrides: dict[str, Any] = {}
    data_dir, source = data_dir_from(args)
    record = read_record(data_dir) if data_dir is not None else None
    if getattr(args, "redis_url", None):
        overrides["redis_url"] = args.redis_url
    elif not os.environ.get("AICITY_REDIS_URL"):
        if record is None:
            raise _no_runner(data_dir, source)
        overrides["redis_url"] = record.url
    settings = Settings.from_env(**overrides)
    if not settings.redis_password and record and record.url == settings.redis_url:
        password = record.password()
        if password:
            settings = Settings.from_env(**overrides, redis_password=password)
    return settings


def client_from(args: argparse.Namespace) -> Client:
    """Return a Redis client for the command."""
    return redis_client(settings_from(args))


def safe_url(url: str) -> str:
    """Return url with any password in it masked (for messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def redis_url_for_messages(args: argparse.Namespace) -> str:
    """Return the Redis URL the command used, safe to print."""
    try:
        return safe_url(settings_from(args).redis_url)
    except ValueError:
        return "(unknown)"

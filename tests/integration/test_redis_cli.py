"""`aicity` commands find the runner's Redis, and fail with one clear line when they cannot.

Each command runs as a real process (python -m shared.cli.main) from the checkout, against
a real redis-server started with a password; nothing is mocked.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from shared.cli.common import (
    PASSWORD_FILE,
    default_data_dir,
    record_last_run,
    settings_from,
    write_record,
)
from shared.cli.main import build_parser
from shared.store.feeds import FeedStore
from tests.support.procs import REPO, RedisProc, free_port

pytestmark = pytest.mark.integration

PASSWORD = "cli-test-password-Zq81"


def aicity(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shared.cli.main", *argv], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


def clean_env(data_dir: Path | None, **extra: str) -> dict[str, str]:
    """The caller's environment without any AICITY_* setting, the data dir given (unless
    None), the last run's record kept beside it (never the checkout's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICITY_")}
    env.update(PYTHONUNBUFFERED="1", **extra)
    if data_dir is not None:
        env["AICITY_DATA_DIR"] = str(data_dir)
        env.setdefault("AICITY_LAST_RUN_FILE", str(data_dir.parent / "last-run.json"))
    return env


def record_runner(data_dir: Path, url: str, password: str | None) -> None:
    """Write what `aicity run` records, with the files it writes (mode 600)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if password is not None:
        (data_dir / PASSWORD_FILE).write_text(password + "\n")
        (data_dir / PASSWORD_FILE).chmod(0o600)
    write_record(data_dir, url, PASSWORD_FILE if password is not None else None)


def assert_one_clear_line(out: subprocess.CompletedProcess[str], url: str) -> None:
    assert out.returncode != 0
    assert "Traceback" not in out.stderr + out.stdout
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(f"aicity: error: cannot reach Redis at {url} ("), lines[0]
    assert lines[0].endswith("start it with make run or set AICITY_REDIS_URL"), lines[0]
    assert PASSWORD not in out.stderr + out.stdout


@pytest.mark.parametrize("argv", [["feeds", "list"],
                                  ["feeds", "create", "seoul-open-data", "--cities", "seoul"],
                                  ["export", "-"]])
def test_nothing_running_prints_one_clear_line(tmp_path: Path, argv: list[str]) -> None:
    # A runner recorded its Redis, then stopped (a developer's `make run` may hold the
    # default port 6399, so the record points at a port known to be free).
    url = f"redis://127.0.0.1:{free_port()}/0"
    record_runner(tmp_path / "var", url, PASSWORD)
    out = aicity(*argv, env=clean_env(tmp_path / "var"))
    assert_one_clear_line(out, url)


def test_explicit_url_with_nothing_listening(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    out = aicity("feeds", "list", env=clean_env(tmp_path / "empty", AICITY_REDIS_URL=url))
    assert_one_clear_line(out, url)


def test_no_record_is_one_line_saying_what_to_pass(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AICITY_REDIS_URL", raising=False)
    monkeypatch.setenv("AICITY_DATA_DIR", str(tmp_path / "none"))
    assert default_data_dir() == tmp_path / "none"
    with pytest.raises(ValueError, match="holds no redis.json"):
        settings_from(argparse.Namespace())
    for env in (clean_env(tmp_path / "none"),  # a data dir nothing ran in
                clean_env(None, AICITY_LAST_RUN_FILE=str(tmp_path / "never.json"))):  # none
        out = aicity("feeds", "list", env=env)
        assert out.returncode != 0 and "Traceback" not in out.stderr + out.stdout
        [line] = out.stderr.strip().splitlines()
        assert line.startswith("aicity: error: no Redis to talk to: "), line
        assert "--data-dir" in line and "AICITY_DATA_DIR" in line, line


def test_without_a_data_dir_commands_use_the_last_runs(
        tmp_path: Path, locked_redis: RedisProc, monkeypatch: pytest.MonkeyPatch) -> None:
    """`aicity run --data-dir X` records X; a command given neither finds X's Redis."""
    data = tmp_path / "x"
    record_runner(data, locked_redis.url, PASSWORD)
    last = tmp_path / "last-run.json"
    env = clean_env(None, AICITY_LAST_RUN_FILE=str(last))
    monkeypatch.setenv("AICITY_LAST_RUN_FILE", str(last))
    record_last_run(data)  # what `aicity run --data-dir X` does first
    assert json.loads(last.read_text())["data_dir"] == str(data.resolve())
    out = aicity("feeds", "create", "seoul-open-data", "--cities", "seoul", env=env)
    assert out.returncode == 0, out.stderr
    assert FeedStore(locked_redis.client()).authenticate(out.stdout.strip()) is not None
    # --data-dir and AICITY_DATA_DIR win over the last run.
    for argv, extra in ((["--data-dir", str(tmp_path / "empty")], {}),
                        ([], {"AICITY_DATA_DIR": str(tmp_path / "empty")})):
        other = aicity("feeds", "list", *argv, env=dict(env, **extra))
        assert other.returncode != 0 and str(tmp_path / "empty") in other.stderr, other.stderr


def test_default_data_dir_is_var_in_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AICITY_DATA_DIR", raising=False)
    assert default_data_dir() == REPO / "var"
    assert build_parser().parse_args(["run"]).data_dir is None  # resolved to the same place


@pytest.fixture
def locked_redis(tmp_path: Path) -> Iterator[RedisProc]:
    """A real redis-server requiring PASSWORD."""
    proc = RedisProc(tmp_path / "redis", password=PASSWORD).start()
    yield proc
    proc.kill()


def test_beside_the_runner_commands_find_its_redis_and_password(
        tmp_path: Path, locked_redis: RedisProc) -> None:
    data = tmp_path / "var"
    record_runner(data, locked_redis.url, PASSWORD)
    env = clean_env(data)  # no AICITY_REDIS_URL, no AICITY_REDIS_PASSWORD
    out = aicity("feeds", "create", "seoul-open-data", "--cities", "seoul", env=env)
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    assert token.startswith("aci_") and PASSWORD not in out.stdout + out.stderr
    feed = FeedStore(locked_redis.client()).authenticate(token)
    assert feed is not None and feed.name == "seoul-open-data"
    listed = aicity("feeds", "list", env=env)
    assert listed.returncode == 0 and "seoul-open-data\tseoul" in listed.stdout
    # The same URL given explicitly still gets the recorded password.
    again = aicity("feeds", "list", "--redis-url", locked_redis.url, env=env)
    assert again.returncode == 0, again.stderr


def test_wrong_or_missing_password_is_one_clear_line_without_the_password(
        tmp_path: Path, locked_redis: RedisProc) -> None:
    url = locked_redis.url
    # Redis really refuses unauthenticated clients.
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=locked_redis.port).ping()
    missing = aicity("feeds", "list", env=clean_env(tmp_path / "none", AICITY_REDIS_URL=url))
    assert_one_clear_line(missing, url)
    wrong = aicity("feeds", "list",
                   env=clean_env(tmp_path / "none", AICITY_REDIS_URL=url,
                                 AICITY_REDIS_PASSWORD="not-" + PASSWORD))
    assert_one_clear_line(wrong, url)
    assert "not-" + PASSWORD not in wrong.stderr
    # A password inside the URL is masked in the message.
    inline = f"redis://:{PASSWORD}x@127.0.0.1:{locked_redis.port}/0"
    masked = aicity("feeds", "list", env=clean_env(tmp_path / "none", AICITY_REDIS_URL=inline))
    assert_one_clear_line(masked, f"redis://:***@127.0.0.1:{locked_redis.port}/0")


def test_record_file_is_private(tmp_path: Path) -> None:
    record_runner(tmp_path, "redis://127.0.0.1:1/0", None)
    path = tmp_path / "redis.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_text()) == {"url": "redis://127.0.0.1:1/0", "password_file": None}

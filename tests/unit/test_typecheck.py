"""mypy (strict, configured in pyproject.toml) passes on shared/."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mypy") is None, reason="mypy is not installed"
)

ENGINE = ["shared/methodology", "shared/events.py", "shared/state.py", "shared/scoring",
          "shared/index.py"]


def mypy(*targets: str) -> subprocess.CompletedProcess[str]:
    """Run mypy on targets from the repository root, where its configuration lives."""
    return subprocess.run([sys.executable, "-m", "mypy", *targets], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)


def test_the_engine_is_mypy_clean() -> None:
    proc = mypy(*ENGINE)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_shared_is_mypy_clean() -> None:
    proc = mypy("shared")
    assert proc.returncode == 0, proc.stdout + proc.stderr

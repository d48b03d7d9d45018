"""Hypothesis profiles of the property tests: `ci` by default, `thorough` for deep local runs.

`ci` (what `make test` and `.ci/run` use) is deterministic (derandomize: the same examples
every run, no example database) and runs a fifth of each test's examples; `thorough` runs
them all, random and remembered in `.hypothesis/`, as the tests were written:

    AICITY_HYPOTHESIS=thorough .venv/bin/pytest tests/unit

Every property is asserted under both; only the number of examples differs.
"""

from __future__ import annotations

import os

from hypothesis import settings

PROFILES = ("ci", "thorough")
CI_SHARE = 5  # ci runs one example in five of thorough's


def profile() -> str:
    """Return the chosen profile's name (AICITY_HYPOTHESIS, default ci)."""
    name = os.environ.get("AICITY_HYPOTHESIS", "ci")
    if name not in PROFILES:
        raise ValueError(f"AICITY_HYPOTHESIS={name!r}: choose one of {', '.join(PROFILES)}")
    return name


def register() -> None:
    """Register both profiles and load the chosen one (called by tests/conftest.py)."""
    settings.register_profile("ci", derandomize=True, database=None, deadline=None,
                              print_blob=True)
    settings.register_profile("thorough", deadline=None)
    settings.load_profile(profile())


def examples(thorough: int) -> int:
    """Return how many examples a test that runs `thorough` of them deeply runs now."""
    return thorough if profile() == "thorough" else max(thorough // CI_SHARE, 20)

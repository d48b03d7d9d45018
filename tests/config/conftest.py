"""Fixtures of the configuration checks: the engine's (methodology, codec, event builder)."""

from tests.unit.conftest import build, codec, methodology, methodology_2025_1  # noqa: F401

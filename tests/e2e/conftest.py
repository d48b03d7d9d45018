"""Fixtures of the end-to-end tests that drive a browser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support.browser import launch


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Debian Chromium for the module."""
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()

"""Debian's Chromium through Playwright: the launch settings and viewports the browser tests share."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def have_chromium() -> bool:
    """Tell whether Debian's chromium is installed (the CI image installs it)."""
    return Path(CHROMIUM).exists()


def launch(p: Playwright) -> Browser:
    """Start one headless Debian Chromium."""
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

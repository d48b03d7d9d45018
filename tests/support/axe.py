"""axe-core in a Playwright page: run the audit and sort its findings by impact.

axe-core comes bundled in PyPI's `axe-playwright-python`, which evaluates it in the page
through Playwright (the DevTools protocol), not through a <script> element: the pages'
Content-Security-Policy (script-src 'self') does not apply to it and stays as strict as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

BLOCKING = ("critical", "serious")  # impacts that fail the suite; minor, moderate are listed
_AXE = Axe()


@dataclass(frozen=True)
class Finding:
    """One axe rule violated on a page, with the elements that violate it."""

    rule: str
    impact: str
    help: str
    url: str
    targets: tuple[str, ...]
    snippets: tuple[str, ...]

    @property
    def blocking(self) -> bool:
        return self.impact in BLOCKING

    def line(self) -> str:
        """Describe the finding on one line: rule, impact, count and the first elements."""
        shown = ", ".join(self.targets[:4]) + (" …" if len(self.targets) > 4 else "")
        return f"{self.rule} ({self.impact}, {len(self.targets)} nodes): {self.help} [{shown}]"

    def details(self) -> str:
        """Describe the finding with each element's HTML, for a failure message."""
        nodes = "\n".join(f"    {t}: {s[:200]}" for t, s in zip(self.targets, self.snippets))
        return f"{self.line()}\n  {self.url}\n{nodes}"


def version(page: Page) -> str:
    """Return the version of axe-core that audits the page (after audit() has run)."""
    return str(page.evaluate("window.axe ? axe.version : ''"))


def audit(page: Page) -> list[Finding]:
    """Run axe-core's default rules (WCAG 2.x A/AA and best practices) on the page as it is."""
    results = _AXE.run(page, options={"resultTypes": ["violations"]})
    out = []
    for v in results.response["violations"]:
        nodes: list[dict[str, Any]] = v["nodes"]
        out.append(Finding(
            rule=v["id"], impact=v.get("impact") or "unknown", help=v["help"], url=v["helpUrl"],
            targets=tuple(" ".join(map(str, n["target"])) for n in nodes),
            snippets=tuple(" ".join((n.get("html") or "").split()) for n in nodes)))
    order = ["critical", "serious", "moderate", "minor"]
    return sorted(out, key=lambda f: (order.index(f.impact) if f.impact in order else 4, f.rule))

"""axe-core in Playwright: run it on the page as it stands and return what a person would hit.

axe.min.js is vendored in tests/e2e/axe/ (from the npm package axe-core) and handed to the
page through Playwright's evaluate, which the app's Content-Security-Policy does not govern;
the app never serves it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).resolve().parent / "axe" / "axe.min.js"
SEVERE = ("serious", "critical")
RUN = """async () => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + n.failureSummary)}));
}"""


@cache
def _source() -> str:
    return AXE.read_text(encoding="utf-8")


def severe_violations(page: Page) -> list[dict[str, Any]]:
    """Return the serious and critical WCAG 2.1 A/AA violations on the current page."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_source())
    found: list[dict[str, Any]] = page.evaluate(RUN)
    return [v for v in found if v["impact"] in SEVERE]


def describe(violations: list[dict[str, Any]]) -> str:
    """Return the violations as readable lines for an assertion message."""
    return "\n".join(
        f"{v['impact']} {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"])
        for v in violations
    )

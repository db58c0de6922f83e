"""Every journey's report in headless Chromium at 1280 x 900, as a commissioner would open it.

For each journey: no element wider than the viewport (no sideways scrolling,
none inside a table either); no table header in snake_case; no number in
scientific notation, in the text or the figures; the verdict on the first
screen; every figure drawn; no console error; and axe-core (from the npm
registry, injected through Playwright) finds no serious or critical
accessibility violation. Then the report prints to PDF through Chromium.

Needs Debian's chromium and axe-core (``.ci/run`` installs both: axe-core with
``npm install --prefix .ci/node axe-core``); outside CI a missing one skips.
One browser serves the whole module.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from appraisal import JOURNEYS
from desist.report import BROWSER_FLAGS
from tests.report.test_sections import built_reports

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
AXE = Path(os.environ.get("AXE_CORE", ROOT / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"))
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="Debian's chromium is not installed (CI installs it)"
)
VIEWPORT = {"width": 1280, "height": 900}
SNAKE = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b")
SCIENTIFIC = re.compile(r"\d(?:\.\d+)?[eE][+-]?\d+")
# Elements that stick out of the viewport, and scroll boxes that scroll sideways.
TOO_WIDE = """() => {
  const out = [];
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && (r.right > window.innerWidth + 0.5 || r.left < -0.5)) {
      out.push(`${e.tagName.toLowerCase()}#${e.id} right=${Math.round(r.right)}`);
    }
    // A visually hidden heading (1 px, clipped) is for screen readers: it cannot scroll.
    if (r.width > 2 && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible') {
      out.push(`${e.tagName.toLowerCase()} scrolls sideways by ${e.scrollWidth - e.clientWidth}px`);
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reports")
    return {journey: report.write(folder / f"{journey}.html") for journey, report in built_reports().items()}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=list(BROWSER_FLAGS))
        yield chromium
        chromium.close()


def _axe_violations(page) -> list[str]:
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"axe-core is not installed at {AXE} (.ci/run installs it from the npm registry)")
        return []
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("journey", JOURNEYS)
def test_each_report_reads_as_a_decision_at_1280_px(browser, pages, journey):
    problems: list[str] = []
    page = browser.new_page(viewport=VIEWPORT)
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.goto(pages[journey].as_uri())

    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]
    assert page.evaluate(TOO_WIDE) == []

    headers = page.eval_on_selector_all("th[scope=col]", "els => els.map(e => e.textContent)")
    assert len(headers) > 50
    assert [h for h in headers if SNAKE.search(h)] == []

    text = page.inner_text("body") + " ".join(
        page.eval_on_selector_all("svg text", "els => els.map(e => e.textContent)")
    )
    assert SCIENTIFIC.findall(text) == []
    cells = page.eval_on_selector_all("td, th", "els => els.map(e => e.textContent.trim())")
    assert {"True", "False", "NaN", "nan", "None", "inf", "NaT"} & set(cells) == set()
    assert re.findall(r"\bNaN\b|\bnan\b", text) == []

    verdict = page.locator("[data-verdict]").first
    box = verdict.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"]
    assert len(verdict.inner_text()) > 30

    figures = page.locator("figure svg")
    assert figures.count() >= 9
    for i in range(figures.count()):
        fig = figures.nth(i).bounding_box()
        assert fig is not None and 250 < fig["width"] <= 1100 and fig["height"] > 150, i

    assert _axe_violations(page) == []
    page.close()
    assert problems == []


def test_a_report_prints_to_pdf_through_chromium(tmp_path):
    report = built_reports()["contract"]
    pdf = report.to_pdf(tmp_path / "contract.pdf", chromium=CHROMIUM)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 50_000
    assert data.count(b"/Type /Page\n") + data.count(b"/Type /Page/") + data.count(b"/Type /Page ") >= 3


def test_the_accessibility_check_can_fail(browser):
    """A page with an unlabelled image and unreadable text is flagged, so a clean report means something."""
    if not AXE.exists() and not os.environ.get("CI"):
        pytest.skip("axe-core is not installed (.ci/run installs it)")
    page = browser.new_page(viewport=VIEWPORT)
    page.set_content(
        '<html><body><main><svg role="img" width="10" height="10"></svg>'
        '<p style="color:#eee;background:#fff">faint</p></main></body></html>'
    )
    found = " ".join(_axe_violations(page))
    page.close()
    assert "color-contrast" in found and "svg-img-alt" in found

"""The report in headless Chromium at 1280 x 800, opened by each reader (``--for``) in turn.

For each reader: their panel whole on the first screen (its text read from
there, a screenshot kept under the test's tmp path), every panel one screen
tall at most; no element wider than the viewport (no sideways scrolling,
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

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from appraisal import READERS
from desist import panels
from desist.report import BROWSER_FLAGS
from tests.report.test_sections import built_reports

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
AXE = Path(os.environ.get("AXE_CORE", ROOT / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"))
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="Debian's chromium is not installed (CI installs it)"
)
VIEWPORT = {"width": 1280, "height": 800}
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
    return {reader: report.write(folder / f"{reader}.html") for reader, report in built_reports().items()}


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


def _first_screen(page, reader: str, folder: Path) -> str:
    """The reader's panel: whole on the first screen (a screenshot kept in ``folder``), every panel one screen tall."""
    page.screenshot(path=str(folder / f"{reader}_first_screen.png"))
    for key in READERS:
        box = page.locator(f"[data-panel={key}]").bounding_box()
        assert box is not None and box["height"] <= VIEWPORT["height"], (key, box)
    box = page.locator(f"[data-panel={reader}]").bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"], (reader, box)
    # What the reader sees without scrolling: the text of every element inside the first screen.
    return page.evaluate(
        """(reader) => Array.from(document.querySelectorAll(`[data-panel=${reader}] *`))
             .filter(e => e.children.length === 0 && e.getBoundingClientRect().bottom <= window.innerHeight)
             .map(e => e.textContent).join(' ')""",
        reader,
    )


#: What each reader's panel must say on the first screen.
FIRST_SCREEN = {
    "commissioner": (
        "Pay £",
        "Expected cost",
        "against a budget of",
        "Chance a rule pays when nothing changed",
        "Share at risk",
        "is paid only on results",
        "Must fix",
        "Do not sign as drafted",
    ),
    "provider": (
        "Expected income",
        "Margin after delivery costs",
        "Chance of a loss",
        "Working capital",
        "do not cover what they cost to serve",
        "leave out the service fee",
    ),
    "evaluator": ("For every 100 people like these", "People compared", "fragile: a hidden bias of"),
}


@pytest.mark.parametrize("reader", READERS)
def test_each_readers_answer_is_on_the_first_screen_at_1280_by_800(browser, pages, reader, tmp_path):
    problems: list[str] = []
    page = browser.new_page(viewport=VIEWPORT)
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.goto(pages[reader].as_uri())
    seen = _first_screen(page, reader, tmp_path)
    assert [words for words in FIRST_SCREEN[reader] if words not in seen] == []

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


def _pdf_pages(pdf: Path) -> list[tuple[str, float]]:
    """Each page's text (pdftotext, from poppler-utils) and how far down the page its content reaches (0 to 1)."""
    if shutil.which("pdftotext") is None:
        if os.environ.get("CI"):
            pytest.fail("pdftotext is not installed (.ci/run installs poppler-utils)")
        pytest.skip("pdftotext is not installed (apt-get install poppler-utils)")
    boxes = subprocess.run(["pdftotext", "-bbox-layout", str(pdf), "-"], capture_output=True, text=True, check=True)
    pages = []
    for height, body in re.findall(r'<page width="[\d.]+" height="([\d.]+)">(.*?)</page>', boxes.stdout, re.S):
        words = " ".join(html.unescape(w) for w in re.findall(r"<word[^>]*>([^<]*)</word>", body))
        bottoms = [float(y) for y in re.findall(r'<block [^>]*yMax="([\d.]+)"', body)]
        pages.append((words, max(bottoms, default=0.0) / float(height)))
    return pages


def test_the_pdf_holds_every_section_and_the_three_panels_with_no_half_empty_page(tmp_path):
    report = built_reports()["commissioner"]
    pdf = report.to_pdf(tmp_path / "commissioner.pdf", chromium=CHROMIUM)
    assert pdf.read_bytes().startswith(b"%PDF")
    pages = _pdf_pages(pdf)
    text = " ".join(" ".join(words for words, _ in pages).split())
    titles = [s.title for s in report.shown_sections()]
    assert [t for t in titles if " ".join(t.split()) not in text] == []
    assert [panels.TITLES[r] for r in READERS if panels.TITLES[r] not in text] == []
    # A page may end short only where a part ends (the annex starts on a new page) or the report does; else
    # at least 70% of it is used (a table kept whole, or a panel, left pages 52% and 60% full).
    annex = next(i for i, (words, _) in enumerate(pages) if "ANNEX: TECHNICAL TABLES" in words)
    short = [i + 1 for i, (_, filled) in enumerate(pages) if filled < 0.7 and i not in (annex - 1, len(pages) - 1)]
    assert short == [], [round(f, 2) for _, f in pages]
    assert len(pages) >= 10


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

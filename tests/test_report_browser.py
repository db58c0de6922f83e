"""Open the demo report in headless Chromium: every section and figure renders,
and the page logs no console errors. Needs Debian's chromium (``.ci/run``
installs it); outside CI the test is skipped where chromium is absent."""

from __future__ import annotations

import os
import shutil

import pytest

from cohorts.synthetic import make_world
from desist.story import DEFAULT_SPEC, StoryInputs, run_story
from outcomes import MetricSpec
from tests.test_story import SECTIONS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="Debian's chromium is not installed (CI installs it)"
)
# Flags for a sandboxed machine with no network: no first-run, sync or background traffic.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def test_report_renders_in_chromium(tmp_path):
    from playwright.sync_api import sync_playwright

    world = make_world(seed=6, n_eligible=1_200, n_pool=12_000)
    story = run_story(StoryInputs.from_world(world, MetricSpec.from_toml(DEFAULT_SPEC)), draws=200)
    path = story.report().write(tmp_path / "report.html")
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
        page.goto(path.as_uri())
        for key in SECTIONS:
            box = page.locator(f"section#{key}").bounding_box()
            assert box is not None and box["height"] > 40, key
        figures = page.locator("figure svg")
        assert figures.count() >= 10
        for i in range(figures.count()):
            box = figures.nth(i).bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 100, i
        assert page.locator("table").count() >= 15
        browser.close()
    assert problems == []

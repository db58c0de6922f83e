"""Render the demo report in headless Chromium and save a screenshot of its first screen.

Run: python examples/report_screenshot.py [--out desist-demo] [--seed 0]
Writes report.html and report_first_screen.png (1280 x 900) to --out, and
prints how long the story, the report and the rendering took. Needs Debian's
chromium (``apt-get install chromium``) and the test extras (Playwright).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from cohorts.synthetic import make_world
from desist.story import DEFAULT_SPEC, StoryInputs, run_story
from outcomes import MetricSpec

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("desist-demo"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    start = time.perf_counter()
    world = make_world(seed=args.seed)
    story = run_story(StoryInputs.from_world(world, MetricSpec.from_toml(DEFAULT_SPEC)), seed=args.seed)
    built = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    html = story.report().write(args.out / "report.html")
    written = time.perf_counter()
    png = args.out / "report_first_screen.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(html.resolve().as_uri())
        page.screenshot(path=str(png))
        browser.close()
    print(
        f"world + story {built - start:.1f} s, report {written - built:.1f} s "
        f"({html.stat().st_size / 1e6:.1f} MB), screenshot {time.perf_counter() - written:.1f} s -> {png}"
    )


if __name__ == "__main__":
    main()

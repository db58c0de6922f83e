"""Render the report with each reader's panel first in headless Chromium and save a screenshot of its first screen.

Run: python examples/report_screenshot.py [--out desist-demo] [--seed 0] [--n-pool 200000]

Runs the demo (appraisal.demo) once on the synthetic world, writes the report with the
commissioner's, the provider's and the evaluator's panel first (``report_<reader>.html``,
as ``desist demo --for READER``) and the first screen of each at 1280 x 800
(``report_<reader>_first_screen.png``) to --out, for people to look at, and prints how long each part took. Needs
Debian's chromium (``apt-get install chromium``) and the test extras
(Playwright).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import appraisal
from desist.panels import READERS
from desist.report import BROWSER_FLAGS
from desist.sections import build_report

VIEWPORT = {"width": 1280, "height": 800}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("desist-demo"), help="folder for the reports and screenshots")
    parser.add_argument("--seed", type=int, default=0, help="seed of the world and the contract simulation")
    parser.add_argument("--n-eligible", type=int, default=5_000, help="people eligible for referral (as the demo)")
    parser.add_argument("--n-pool", type=int, default=200_000, help="size of the comparison pool (as the demo)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    start = time.perf_counter()
    story = appraisal.demo(args.seed, n_eligible=args.n_eligible, n_pool=args.n_pool)
    built = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    rendered: dict = {}
    pages = {
        reader: build_report(story, reader, rendered=rendered).write(args.out / f"report_{reader}.html")
        for reader in READERS
    }
    written = time.perf_counter()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=list(BROWSER_FLAGS))
        for reader, html in pages.items():
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(html.resolve().as_uri())
            png = args.out / f"report_{reader}_first_screen.png"
            page.screenshot(path=str(png))
            page.close()
            print(f"{reader:<12} {html} ({html.stat().st_size / 1e6:.1f} MB) -> {png}")
        browser.close()
    print(
        f"world + appraisal {built - start:.1f} s, three reports {written - built:.1f} s, "
        f"screenshots {time.perf_counter() - written:.1f} s"
    )


if __name__ == "__main__":
    main()

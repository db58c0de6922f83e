"""``desist design``: the time from an edit on the page to the last answer shown, for 5,000 and 50,000 people.

For each cohort size, starts ``desist design --no-browser --people N`` (the synthetic world, the
intermediate-outcomes example contract) as a subprocess, opens the page in headless Chromium and changes the
price of settled accommodation for complex needs ``--edits`` times. Each edit is timed from the key that
commits it (Tab) to the moment the page shows the answers for the new price everywhere (the comparison with
the loaded design names the new price and Shiny is idle), so the figure is what a commissioner waits.
The server's own time to answer (``appraisal.designer.answer``, shown on the page) is printed beside it, wall clock
and processor time (what it would take on an idle core: on a shared machine the wall clock waits for others), with the
server's start-up time, its peak resident memory, the machine's cores and memory and its load average.

Usage::

    python bench/design.py                      # 5,000 and 50,000 people, 5 edits each
    python bench/design.py --people 5000 --edits 3
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/inspect.py is named as the standard library's inspect module, which playwright imports: this folder goes
# to the end of the path.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import argparse  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402

from measure import machine  # noqa: E402  (bench/measure.py)

ROOT = Path(__file__).resolve().parents[1]
PRICE = "#t_payment__prices__accommodation__complex_needs"
IDLE_WITH = """(value) => !document.documentElement.classList.contains('shiny-busy')
  && document.querySelector('#compare').innerText.includes(value)"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory (VmHWM), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start(people: int, timeout: float) -> tuple[subprocess.Popen, str, float]:
    port = free_port()
    command = [sys.executable, "-m", "desist.cli", "design", "--no-browser", "--port", str(port), "--people"]
    began = time.perf_counter()
    process = subprocess.Popen([*command, str(people)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    address = f"http://127.0.0.1:{port}/"
    while True:
        try:
            urllib.request.urlopen(address, timeout=2)
            return process, address, time.perf_counter() - began
        except OSError:
            if process.poll() is not None or time.perf_counter() - began > timeout:
                process.kill()
                raise SystemExit(f"desist design did not start: {process.stdout.read().decode()}") from None
            time.sleep(0.5)


def measure(people: int, edits: int, chromium: str) -> None:
    from playwright.sync_api import sync_playwright

    process, address, started = start(people, timeout=1_800)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(address)
            page.wait_for_selector(".check-ok", timeout=600_000)
            waits, answered, cpu = [], [], []
            for i in range(edits):
                value = str(800 + 100 * i)
                page.fill(PRICE, value)
                began = time.perf_counter()
                page.press(PRICE, "Tab")
                page.wait_for_function(IDLE_WITH, arg=value, timeout=600_000, polling=20)
                waits.append(time.perf_counter() - began)
                status = page.inner_text("#status")
                found = re.search(r"Answered in ([\d.]+) s \(([\d.]+) s of processor time\)", status)
                answered.append(float(found.group(1)))
                cpu.append(float(found.group(2)))
            browser.close()
        print(
            f"{people:>7,} people (asked): server ready in {started:.1f} s; edit to last answer on the page "
            f"median {statistics.median(waits):.2f} s (min {min(waits):.2f}, max {max(waits):.2f}, {edits} edits); "
            f"answer() on the server median {statistics.median(answered):.1f} s wall, "
            f"{statistics.median(cpu):.1f} s of processor time; "
            f"server peak memory {peak_rss_mib(process.pid):,.0f} MiB"
        )
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[5_000, 50_000])
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    print(f"bench/design.py on {machine()}")
    for people in args.people:
        measure(people, args.edits, args.chromium)
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

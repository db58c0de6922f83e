"""``desist design`` in headless Chromium, as a commissioner uses it.

One server for the module: ``desist design examples/specs/intermediate.toml --history examples/data/history.csv
--data people=... --data offences=... --data pool=... --data assessments=... --as-of 2025-09-30 --no-browser
--port <free port>`` (the example programme's files, not the synthetic world) started as a subprocess. A
commissioner raises a price and sees the creaming gap and the cost change; types an up-front share of 1.5 and
sees the message ``desist check`` gives for the same file; undoes it; types a hostile segment rule and sees the
file's message, with nothing run; saves the design (comments kept, no file overwritten unasked) and settles the
saved file with ``desist settle`` (in-process, as the CLI tests run it); downloads the report and finds it the
one ``desist report --spec`` writes for the saved design on the same files. The page loads nothing from outside
127.0.0.1, is worked from the keyboard, and axe-core finds no serious or critical violation. A second server on
a contract with payment rules shows a changed assumed effect in the comparison. Screenshots go to the test's tmp
folder. The tests run in order on one page: the save settles the price raised by the first.

Needs Debian's chromium and axe-core (``.ci/run`` installs both); outside CI a missing one skips.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import tomlkit

from desist.report import BROWSER_FLAGS
from pricing.contract import Contract
from tests.report.test_browser import CHROMIUM, _axe_violations
from tests.running import desist

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="Debian's chromium is not installed (CI installs it)"
)
CONTRACT = ROOT / "examples" / "specs" / "intermediate.toml"
HISTORY = ROOT / "examples" / "data" / "history.csv"
DATA = ROOT / "examples" / "data"
PRICE = "#t_payment__prices__accommodation__complex_needs"
UP_FRONT = "#t_payment__up_front_share"
YOUNG = "#t_segments__young_adults__where"
DESIST = [sys.executable, "-m", "desist.cli"]
#: The example programme's files, as desist report reads them.
PROGRAMME = {"people": "people.csv", "offences": "offences.csv", "pool": "pool.csv", "assessments": "assessments.csv"}
AS_OF = "2025-09-30"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _serving(contract: Path, *options: str) -> Iterator[str]:
    """``desist design CONTRACT --history examples/data/history.csv OPTIONS`` on a free port: its address."""
    port = _free_port()
    command = [*DESIST, "design", str(contract), "--history", str(HISTORY), "--no-browser", "--port", str(port)]
    process = subprocess.Popen([*command, *options], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    address = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 300
    try:
        while True:
            try:
                urllib.request.urlopen(address, timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    pytest.fail(f"desist design did not start: {process.stdout.read().decode()}")
                time.sleep(0.3)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def server():
    files = [f"--data={name}={DATA / file}" for name, file in PROGRAMME.items()]
    with _serving(CONTRACT, *files, "--as-of", AS_OF, "--draws", "100") as address:
        yield address


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=list(BROWSER_FLAGS))
        yield browser
        browser.close()


@contextmanager
def _opened(browser: Any, address: str) -> Iterator[Any]:
    """The page, answered; ``page.outside`` lists every request to another address."""
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(address) else outside.append(r.url))
    page.goto(address)
    page.wait_for_selector(".check-ok", timeout=60_000)
    page.outside = outside
    yield page
    page.close()


@pytest.fixture(scope="module")
def page(browser, server):
    with _opened(browser, server) as page:
        yield page


def _settled(page, selector: str, before: str, timeout: float = 60) -> str:
    """The section's text once it differs from ``before`` and Shiny is idle."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.wait_for_timeout(200)
        busy = page.evaluate("document.documentElement.classList.contains('shiny-busy')")
        text = page.inner_text(selector)
        if not busy and text != before:
            return text
    raise AssertionError(f"{selector} did not change within {timeout} s")


def _gap(text: str) -> float:
    sign, figure = re.search(r"Creaming gap under these prices: (-?)£([\d,.]+)", text).groups()
    return float(sign + figure.replace(",", ""))


def _cost(text: str) -> float:
    return float(re.search(r"would cost £([\d,.]+) on average", text).group(1).replace(",", ""))


def test_a_price_raised_changes_the_creaming_gap_and_the_cost(page, tmp_path):
    creaming, cost = page.inner_text("#creaming"), page.inner_text("#cost")
    page.fill(PRICE, "1500")
    page.press(PRICE, "Tab")
    after = _settled(page, "#creaming", creaming)
    new_cost = page.inner_text("#cost")
    page.screenshot(path=tmp_path / "price_raised.png", full_page=True)
    # Complex needs is the hardest segment: paying more for its accommodation outcome narrows the gap.
    assert _gap(after) < _gap(creaming)
    assert _cost(new_cost) > _cost(cost)
    compared = page.inner_text("#compare")
    assert "payment.prices.accommodation.complex_needs" in compared and "1500" in compared
    assert "Creaming gap" in compared and "Expected cost to the commissioner" in compared


def test_a_bad_value_shows_the_files_own_message_and_undo_restores_it(page, tmp_path):
    page.fill(UP_FRONT, "1.5")
    page.press(UP_FRONT, "Tab")
    page.wait_for_selector(".check-error", timeout=30_000)
    shown = page.inner_text(".check-error")
    page.screenshot(path=tmp_path / "bad_value.png", full_page=True)
    document = tomlkit.parse(CONTRACT.read_text())
    document["payment"]["up_front_share"] = 1.5
    edited = tmp_path / "edited.toml"
    edited.write_text(tomlkit.dumps(document))
    with pytest.raises(Exception) as refused:
        Contract.from_toml(edited)
    # The file's message, after the file's name.
    assert str(refused.value).split(": ", 1)[1] in shown
    page.click("#undo")
    page.wait_for_selector(".check-ok", timeout=30_000)
    assert float(page.input_value(UP_FRONT)) == 0.75


def test_a_hostile_rule_typed_on_the_page_gets_the_files_message_and_nothing_runs(page, tmp_path):
    creaming, rule = page.inner_text("#creaming"), page.input_value(YOUNG)
    marker = tmp_path / "ran"
    hostile = f"__import__('os').system('touch {marker}')"
    page.fill(YOUNG, hostile)
    page.press(YOUNG, "Tab")
    page.wait_for_selector(".check-error", timeout=30_000)
    shown = page.inner_text(".check-error")
    page.screenshot(path=tmp_path / "hostile_rule.png", full_page=True)
    document = tomlkit.parse(CONTRACT.read_text())
    document["segments"]["young_adults"]["where"] = hostile
    edited = tmp_path / "edited.toml"
    edited.write_text(tomlkit.dumps(document))
    with pytest.raises(Exception) as refused:
        Contract.from_toml(edited)
    message = str(refused.value).split(": ", 1)[1]
    assert message.startswith("segments.young_adults.where: attribute access (.system) is not allowed in a rule")
    assert message in shown
    assert not marker.exists()
    assert page.inner_text("#creaming") == creaming  # the answers stay those of the last valid design
    page.fill(YOUNG, rule)
    page.press(YOUNG, "Tab")
    page.wait_for_selector(".check-ok", timeout=30_000)


def test_save_keeps_comments_refuses_to_overwrite_and_settles(page, tmp_path):
    saved = tmp_path / "designed.toml"
    page.fill("#save_path", str(saved))
    page.click("#save")
    page.wait_for_selector("#saved :text('Saved to')", timeout=30_000)
    text = saved.read_text()
    assert text.startswith("# An intermediate-outcome tariff")
    assert tomllib.loads(text)["payment"]["prices"]["accommodation"]["complex_needs"] == 1500
    page.click("#save")
    page.wait_for_selector("#saved :text('exists')", timeout=30_000)
    assert saved.read_text() == text
    data = ROOT / "examples" / "data"
    done = desist(
        "settle", saved, "--data", f"people={data / 'people.csv'}", "--data", f"assessments={data / 'assessments.csv'}",
        "--as-of", "2025-09-30", "--out", tmp_path / "s",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "s" / "ledger.csv").exists()


def test_the_downloaded_report_is_the_one_desist_report_writes_for_the_design(page, tmp_path):
    saved = tmp_path / "designed.toml"
    page.fill("#save_path", str(saved))
    page.click("#save")
    page.wait_for_selector("#saved :text('Saved to')", timeout=30_000)
    with page.expect_download(timeout=600_000) as download:
        page.click("#report")
    got = tmp_path / "downloaded.html"
    download.value.save_as(got)
    files = [a for name, file in PROGRAMME.items() for a in (f"--{name}", DATA / file)]
    done = desist("report", "--spec", saved, *files, "--history", HISTORY, "--as-of", AS_OF, "--out", tmp_path / "r")
    assert done.returncode == 0, done.stderr
    written, downloaded = (tmp_path / "r" / "report.html").read_text(), got.read_text()
    # The same report to the byte, but for the minute it was generated in.
    stamp = re.compile(r"Generated [^<]* UTC")
    assert stamp.sub("", downloaded) == stamp.sub("", written)
    # It is the edited design's: the raised price is in its tariff, and it has its sections and figures.
    assert "£1,500" in downloaded and "<h2>The evidence" in downloaded and downloaded.count("<svg") >= 3


def test_a_note_says_the_answers_are_being_worked_out_only_after_a_second(page):
    def shown() -> bool:
        return page.evaluate("getComputedStyle(document.getElementById('busy')).visibility") == "visible"

    assert not shown()
    # Shiny marks the page busy while the server works; the note waits a second before it shows.
    page.evaluate("document.documentElement.classList.add('shiny-busy')")
    page.wait_for_timeout(300)
    assert not shown()
    page.wait_for_timeout(1_200)
    assert shown()
    page.evaluate("document.documentElement.classList.remove('shiny-busy')")
    assert not shown()


def test_the_page_is_offline_keyboard_usable_and_accessible(page, tmp_path):
    assert page.outside == []
    page.focus(PRICE)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.id")
    assert focused.startswith("t_payment__") and focused != PRICE[1:]
    page.screenshot(path=tmp_path / "designer.png", full_page=True)
    assert _axe_violations(page) == []


def test_a_changed_assumed_effect_is_listed_beside_the_changed_terms(browser, tmp_path):
    doncaster = ROOT / "examples" / "specs" / "doncaster.toml"
    with _serving(doncaster, "--draws", "100") as address, _opened(browser, address) as page:
        compared = page.inner_text("#compare")
        page.fill("#effect", "-0.1")
        page.press("#effect", "Tab")
        after = _settled(page, "#compare", compared)
        page.screenshot(path=tmp_path / "effect.png", full_page=True)
    row = next(line for line in after.splitlines() if line.startswith("Assumed true effect"))
    assert row.split("\t")[1:] == ["Assumption", "-0.05", "-0.1"]
    assert "Chance a tranche is paid at the stated effect" in after

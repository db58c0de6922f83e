"""The example rate card (examples/specs/ratecard.toml) settled by the command the README gives, as a user runs it.

The example's claims hold every way a claim is rejected; its cap binds in the last quarter. The figures below
are those the test of the settlement's own rules (tests/pricing/test_ratecard.py) makes certain; here they show
the command line, the files it writes, verify and an interim settlement agree with them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ["--data", "people=examples/data/people.csv", "--data", "claims=examples/data/claims.csv",
        "--data", "spells=examples/data/spells.csv"]  # fmt: skip


def desist(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "desist.cli", *args], capture_output=True, text=True, cwd=ROOT)


@pytest.fixture(scope="module")
def settled(tmp_path_factory):
    out = tmp_path_factory.mktemp("ratecard") / "settled"
    proc = desist("settle", "examples/specs/ratecard.toml", *DATA, "--as-of", "2025-09-30", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout


def test_the_readme_command_settles_the_example_and_every_rejection_is_counted(settled):
    out, printed = settled
    assert "In total: £1,000,000.00." in printed
    ledger = pd.read_csv(out / "ledger.csv", dtype=str, keep_default_na=False)
    claims = pd.read_csv(ROOT / "examples" / "data" / "claims.csv")
    # Every claim is in the ledger, accepted or rejected; the payments due from spells besides.
    assert (ledger["kind"] == "claim").sum() == len(claims)
    assert set(ledger["reason"]) == {
        "", "not eligible", "before start", "past the time limit", "prerequisite missing", "duplicate",
        "not above a rung already achieved", "over a volume cap", "over the person's maximum", "over the contract cap",
    }  # fmt: skip
    assert ((ledger["status"] == "rejected") == (ledger["reason"] != "")).all()
    report = json.loads((out / "settlement.json").read_text())
    assert sum(p["amount_pence"] for p in report["cash_flow"]) == report["figures"]["total_pence"] == 100_000_000
    assert [p["period"] for p in report["cash_flow"]][:2] == ["2023-01-01", "2023-04-01"]


def test_verify_replays_the_example(settled):
    out, _ = settled
    proc = desist("verify", str(out / "audit.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_interim_settlement_of_the_example_pays_what_is_due_by_its_date(tmp_path):
    proc = desist("settle", "examples/specs/ratecard.toml", *DATA, "--as-of", "2025-03-31", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)["results"]
    assert report["figures"]["total_pence"] == 96_304_000
    left = {e["reason"]: e["n"] for e in report["exclusions"]}
    assert left["achieved after the settlement date"] == 113

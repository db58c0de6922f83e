"""``desist settle --report``: the settlement statement a finance officer signs off, on the README's contracts.

The rate card (claims accepted and rejected with their reasons, a cash flow by period) and the Doncaster
contract (a rule on the reoffending rate, in points, that claws back): the sign-off line says who is paid what,
each tranche and rule is a sentence in words and pounds, the audit hashes are audit.json's, and the statement
is written only into a folder desist may replace.
"""

from __future__ import annotations

import html
import json
import re

import pandas as pd
import pytest

from tests.running import desist

RATECARD = ["examples/specs/ratecard.toml", "--data", "people=examples/data/people.csv",
            "--data", "claims=examples/data/claims.csv", "--data", "spells=examples/data/spells.csv"]  # fmt: skip
DONCASTER = ["examples/specs/doncaster.toml", "--data", "people=examples/data/people.csv",
             "--data", "offences=examples/data/offences.csv"]  # fmt: skip


def _text(path) -> str:
    page = re.sub(r"<style.*?</style>", "", path.read_text(encoding="utf-8"), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture(scope="module")
def ratecard(tmp_path_factory):
    out = tmp_path_factory.mktemp("statement") / "settled"
    run = desist("settle", *RATECARD, "--as-of", "2025-09-30", "--out", out, "--report")
    assert run.returncode == 0, run.stderr
    return out


def test_the_statement_says_what_to_pay_and_why_for_sign_off(ratecard):
    text = _text(ratecard / "statement.html")
    ledger = pd.read_csv(ratecard / "ledger.csv")
    audit = json.loads((ratecard / "audit.json").read_text())
    accepted, rejected = (int((ledger["status"] == s).sum()) for s in ("accepted", "rejected"))
    total = audit["figures"]["total_pence"] / 100
    assert (
        f"Pay £{total:,.2f} as of 30 September 2025 under 'Example rate card': £{total:,.2f} to Prime; "
        f"{accepted:,} claims accepted and {rejected:,} rejected" in text
    )
    assert "Signed off by:" in text
    # Each tranche in words and pounds, and the claims rejected counted by their reasons.
    for tranche, pence in audit["figures"]["tranches"].items():
        assert f"{tranche.replace('_', ' ').capitalize()}, claims:" in text and f"£{pence / 100:,.2f}" in text
    for reason, n in ledger.loc[ledger["status"] == "rejected", "reason"].value_counts().items():
        assert re.search(rf"Rejected {re.escape(reason.capitalize())} {n:,}\b", text), reason
    assert "Cash flow by payment period" in text
    # The audit hashes are audit.json's.
    for digest in (audit["contract"]["sha256"], audit["figures"]["ledger_sha256"], audit["inputs"]["claims"]["sha256"]):
        assert digest in text


def test_a_clawback_is_said_as_one_and_a_rule_on_the_rate_in_points(tmp_path):
    out = tmp_path / "settled"
    run = desist("settle", *DONCASTER, "--as-of", "2025-09-30", "--out", out, "--report")
    assert run.returncode == 0, run.stderr
    total = json.loads((out / "audit.json").read_text())["figures"]["total_pence"]
    assert total < 0
    text = _text(out / "statement.html")
    assert f"Claw back £{-total / 100:,.2f} as of 30 September 2025" in text
    # Each tranche's rule on the rate in points, its clawback said as one.
    said = re.findall(r"a reduction of (-?\d+\.\d points) \(-?\d+\.\d to -?\d+\.\d points\) in \d+ people against the "
                      r"5\.0 points it needs: not met, £50,000\.00 clawed back\.", text)  # fmt: skip
    assert len(said) == 2
    assert f"In total: £{-total / 100:,.2f} clawed back" in " ".join(run.stdout.split())


def test_the_statement_needs_out_and_never_replaces_a_users_folder(tmp_path):
    run = desist("settle", *RATECARD, "--as-of", "2025-09-30", "--report")
    assert run.returncode == 1 and "'--report' option must be given with --out DIR" in run.stderr
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    run = desist("settle", *RATECARD, "--as-of", "2025-09-30", "--out", mine, "--report")
    assert run.returncode != 0 and "notes.txt" in run.stderr
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]

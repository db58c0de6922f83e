"""Every contract in examples/ through check, price, simulate and settle (in-process), and verify."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from desist.cli import app

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data"
#: Rate cards (a [claims] section) settle on claims, not these tables: tests/pricing/test_ratecard_example.py runs them.
CONTRACTS = sorted(p for p in (ROOT / "examples" / "specs").glob("*.toml") if "[claims]" not in p.read_text())
runner = CliRunner()


def run(*args: str):
    """The command's result; each caller states the exit status it expects."""
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.mark.parametrize("contract", CONTRACTS, ids=[p.stem for p in CONTRACTS])
def test_every_example_contract_runs_through_every_command(contract, tmp_path):
    checked = run(
        "check", contract, "--data", f"people={DATA / 'people.csv'}", "--data", f"pool={DATA / 'pool.csv'}", "--json"
    )
    findings = json.loads(checked.stdout)["results"]["findings"]
    codes = {f["code"] for f in findings}
    assert codes
    # check exits 1 exactly when a finding is of severity error, and 0 otherwise.
    assert checked.exit_code == (1 if any(f["severity"] == "error" for f in findings) else 0), checked.output
    priced = run("price", "--spec", contract, "--history", DATA / "history.csv", "--json")
    assert priced.exit_code == 0 and json.loads(priced.stdout)["results"]["spec"]
    simulated = run(
        "simulate",
        "--spec",
        contract,
        "--cohort",
        DATA / "people.csv",
        "--history",
        DATA / "history.csv",
        "--draws",
        "200",
        "--json",
    )
    assert simulated.exit_code == 0
    out = tmp_path / "settled"
    settled = run(
        "settle",
        contract,
        "--data",
        f"people={DATA / 'people.csv'}",
        "--data",
        f"offences={DATA / 'offences.csv'}",
        "--data",
        f"assessments={DATA / 'assessments.csv'}",
        "--data",
        f"pool={DATA / 'pool.csv'}",
        "--as-of",
        "2025-09-30",
        "--out",
        out,
    )
    assert settled.exit_code == 0
    assert {p.name for p in out.iterdir()} == {"settlement.json", "ledger.csv", "audit.json", "manifest.json"}
    audit = json.loads((out / "audit.json").read_text())
    assert set(audit["inputs"]) == {"people", "offences", "assessments", "pool"} and audit["unused"]
    assert run("verify", out / "audit.json").exit_code == 0
    if contract.stem == "peterborough":
        assert "rules" in json.loads(simulated.stdout)["results"]
        assert codes >= {"payment_chance"}


def test_verify_catches_a_one_byte_change_in_any_input(tmp_path):
    for name in ("people.csv", "offences.csv"):
        shutil.copy(DATA / name, tmp_path / name)
    contract = tmp_path / "doncaster.toml"
    shutil.copy(ROOT / "examples" / "specs" / "doncaster.toml", contract)
    out = tmp_path / "out"
    run(
        "settle",
        contract,
        "--data",
        f"people={tmp_path / 'people.csv'}",
        "--data",
        f"offences={tmp_path / 'offences.csv'}",
        "--as-of",
        "2025-09-30",
        "--out",
        out,
    )
    first = (out / "ledger.csv").read_bytes()
    assert run("verify", out / "audit.json").exit_code == 0
    for target in (tmp_path / "offences.csv", tmp_path / "people.csv", contract):
        original = target.read_bytes()
        target.write_bytes(original[:-1] + (b"\n" if original[-1:] != b"\n" else b" "))
        failed = run("verify", out / "audit.json")
        assert failed.exit_code == 1 and "SHA-256 changed" in failed.output and str(target) in failed.output
        target.write_bytes(original)
    # Same inputs, byte-identical ledger.
    again = tmp_path / "again"
    run(
        "settle",
        contract,
        "--data",
        f"people={tmp_path / 'people.csv'}",
        "--data",
        f"offences={tmp_path / 'offences.csv'}",
        "--as-of",
        "2025-09-30",
        "--out",
        again,
    )
    assert (again / "ledger.csv").read_bytes() == first


def test_verify_names_an_edited_audit_record(tmp_path):
    out = tmp_path / "out"
    contract = ROOT / "examples" / "specs" / "doncaster.toml"
    run(
        "settle",
        contract,
        "--data",
        f"people={DATA / 'people.csv'}",
        "--data",
        f"offences={DATA / 'offences.csv'}",
        "--as-of",
        "2025-09-30",
        "--out",
        out,
    )
    audit = json.loads((out / "audit.json").read_text())
    audit["figures"]["total_pence"] += 1
    (out / "audit.json").write_text(json.dumps(audit))
    moved = run("verify", out / "audit.json")
    assert moved.exit_code == 1 and "audit.json was changed after it was written" in moved.output


def test_check_lists_every_mistake_of_a_contract_at_once(tmp_path):
    from pricing import scheme_path

    text = scheme_path("doncaster").read_text()
    for old, new in (("service_fee = 33333333.33", "service_fee = -5"), ("end = 2013-09-30", "end = 2012-09-30")):
        text = text.replace(old, new, 1)
    path = tmp_path / "contract.toml"
    path.write_text(text)
    result = run("check", path)
    assert result.exit_code == 1
    assert "2 problems:" in result.output and "Traceback" not in result.output
    assert "'payment.service_fee'" in result.output and "'tranches.cohort_2.end'" in result.output

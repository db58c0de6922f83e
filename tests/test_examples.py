"""The three journeys in examples/ run end to end on the committed example data.

The evaluator runs as a user would run it (a subprocess, ``--out`` a temporary
folder); the others run as ``__main__`` in the test process, with the same
command line, to save an interpreter's start-up each. The tests check that each
wrote its outputs, printed its key numbers, and that those numbers say what the
example data were built to show.
"""

from __future__ import annotations

import filecmp
import io
import json
import os
import runpy
import subprocess
import sys
import warnings
from contextlib import redirect_stdout
from pathlib import Path
from unittest.mock import patch

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from ground.tables import UnmatchedRowsWarning
from outcomes.reoffending import proven_reoffending

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_here(script: str, out: Path, *args: str) -> str:
    """The script run as ``__main__`` in this process with this command line; what it printed."""
    printed = io.StringIO()
    with patch.object(sys, "argv", [str(EXAMPLES / script), "--out", str(out), *args]), redirect_stdout(printed):
        runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    plt.close("all")
    return printed.getvalue()


def run(script: str, out: Path, *args: str) -> str:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--out", str(out), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def commissioner(tmp_path_factory):
    out = tmp_path_factory.mktemp("commissioner")
    return out, run_here("commissioner.py", out, "--draws", "500")


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluator")
    return out, run("evaluator.py", out)


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    out = tmp_path_factory.mktemp("provider")
    return out, run_here("provider.py", out, "--draws", "500")


def test_example_data_is_what_make_data_writes(tmp_path):
    run_here("make_data.py", tmp_path)
    committed = sorted(p.name for p in (EXAMPLES / "data").glob("*.csv"))
    assert committed == sorted(p.name for p in tmp_path.glob("*.csv"))
    match, mismatch, errors = filecmp.cmpfiles(EXAMPLES / "data", tmp_path, committed, shallow=False)
    assert mismatch == errors == [], "examples/data is out of date: run python examples/make_data.py"
    assert sum((EXAMPLES / "data" / name).stat().st_size for name in committed) < 8_000_000
    # The messy extracts the mapping examples read (examples/mappings/*.toml), written from the same people.
    messy = sorted(p.relative_to(EXAMPLES / "data").as_posix() for p in (EXAMPLES / "data" / "messy").rglob("*.csv"))
    assert messy == sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "messy").rglob("*.csv"))
    match, mismatch, errors = filecmp.cmpfiles(EXAMPLES / "data", tmp_path, messy, shallow=False)
    assert mismatch == errors == [], "examples/data/messy is out of date: run python examples/make_data.py"


def test_example_offences_are_all_the_cohorts():
    """Every offence in the example data (clean and PNC-shaped) is a cohort member's, so no command warns."""
    people = pd.read_csv(EXAMPLES / "data" / "people.csv", dtype=str)["person_id"]
    pnc = EXAMPLES / "data" / "messy" / "pnc"
    cohort = pd.read_csv(pnc / "cohort.csv", dtype=str)["PNC_ID"]
    quarters = pd.concat([pd.read_csv(q, dtype=str) for q in sorted(pnc.glob("pnc_offences_Q*.csv"))])
    offences = pd.read_csv(EXAMPLES / "data" / "offences.csv", dtype=str)
    assert len(offences) == 2_358 and offences["person_id"].isin(people).all()
    assert len(quarters) == len(offences) and quarters["PNC_ID"].isin(cohort).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnmatchedRowsWarning)
        proven_reoffending(EXAMPLES / "data" / "people.csv", EXAMPLES / "data" / "offences.csv", as_of="2025-09-30")


def test_commissioner_writes_outputs_and_prints_key_numbers(commissioner):
    out, text = commissioner
    for name in (
        "commissioner.json",
        "calibration.png",
        "cash_flow.csv",
        "cash_flow.png",
        "tariff_incentive_neutral.csv",
        "margins_flat.png",
    ):
        assert (out / name).stat().st_size > 0, name
    result = json.loads((out / "commissioner.json").read_text())
    auc = result["auc"]
    assert 0.6 < auc["auc"] < 0.9 and auc["ci_low"] < auc["auc"] < auc["ci_high"]
    assert f"AUC = {auc['auc']:.3f}" in text
    # Incentive-neutral prices leave no creaming gap; a flat price leaves one in favour of the easiest.
    gap = {name: g[0] for name, g in result["gaps"].items()}
    assert abs(gap["incentive_neutral"]) < 1
    assert gap["flat"] > gap["incentive_neutral"] + 20
    assert f"£{result['budget']:,.0f} for {result['n_history']:,} people" in text
    # The spec's 20% of the fee at risk plus outcome payments puts over 30% of the contract at risk.
    assert "at_risk_above_ask" in [f["code"] for f in result["structure"]["findings"]]
    prime = result["simulation"]["parties"]["prime"]
    assert 0 <= prime["p_loss"] <= 1 and prime["peak_working_capital_mean"] >= 0
    assert "peak_working_capital_mean" in text
    assert "minimum detectable effect" in text
    assert [f["code"] for f in result["findings"]]
    # Read from the contract file, priced and simulated as `desist price` and `desist simulate` do.
    assert result["spend"]["mean"] == pytest.approx(result["simulation"]["total_paid"]["mean"], rel=1e-12)
    assert result["spend"]["sentence"] in text


def test_evaluator_matches_estimates_and_screens(evaluator):
    out, text = evaluator
    for name in (
        "evaluator.json",
        "balance.csv",
        "love_plot.png",
        "overlap.png",
        "thresholds.csv",
        "creaming.png",
        "parking.png",
        "funnel.png",
        "intermediate_outcomes.csv",
    ):
        assert (out / name).stat().st_size > 0, name
    result = json.loads((out / "evaluator.json").read_text())
    counts = result["counts"]
    assert counts["all"] == counts["observable"] + sum(v for k, v in counts.items() if k.startswith("excluded"))
    assert result["max_abs_smd_after"] < 0.1
    matched = result["matched"]["treated"]["matched"]
    for effect in result["effects"].values():
        assert effect["n_treated"] == matched and effect["ci_low"] < effect["estimate"] < effect["ci_high"]
        assert effect["statement"] in text
    assert "percentage points" in result["effects"]["binary"]["statement"]
    assert "Peterborough-style test" in text and "Doncaster" in text
    # examples/README.md names the providers that game and how; the screens flag exactly those, and no other
    # ("all" is the pooled test within providers).
    assert result["creaming"]["units"] == ["all", "PRV02", "PRV07"]
    assert result["parking"]["units"] == ["PRV04"]
    assert result["measurement"] == {
        "assessments": ["PRV09"],
        "baseline": ["PRV11"],
        "unmeasured": ["PRV05"],
        "deadweight": [],
        "bunching": [],
    }
    readme = (EXAMPLES / "README.md").read_text()
    for provider, how in (("PRV02", "cream"), ("PRV04", "parks"), ("PRV05", "unassessed"), ("PRV09", "twice more")):
        assert provider in readme and how in readme
    assert "Creaming screen" in text and "Funnel plot" in text and "Provider comparison" in text
    assert (out / "measurement.png").stat().st_size > 0 and (out / "providers.csv").stat().st_size > 0


def test_provider_reports_income_cash_flow_and_findings(provider):
    out, text = provider
    for name in ("provider.json", "outcome_rates.csv", "expected_income.csv", "cash_flow.csv", "cash_flow.png"):
        assert (out / name).stat().st_size > 0, name
    result = json.loads((out / "provider.json").read_text())
    assert result["provider"] == "PRV09" and f"Caseload of PRV09: {result['n']:,}" in text
    for r in result["outcome_rates"]:
        assert r["ci_low"] <= r["rate"] <= r["ci_high"]
        assert r["achieved"] + (r["n"] - r["achieved"]) + r["not_measurable"] + r["not_yet_measurable"] == result["n"]
    assert sum(s["n"] for s in result["margins"]["segments"]) == result["n"]
    assert 0 <= result["p_loss"] <= 1
    assert "small_segment" in [f["code"] for f in result["findings"]]
    assert "Expected income by segment" in text and "Cost per outcome" in text
    # The answer a provider needs: expected income, margin and the chance of a loss.
    answer = result["outlook"]
    assert answer["sentence"] in text and answer["loss_chance"] == pytest.approx(result["p_loss"], abs=1e-15)
    assert answer["income"] == pytest.approx(answer["margin"] + answer["cost"], rel=1e-12)

"""Every ``desist`` command on files in a temporary folder, its JSON checked against the Python API.

The files come from a small synthetic world and the example specs. Each
command's ``--json`` is compared with the library called directly on the same
files read back with ``ground.reading`` (so both sides see the same CSV round trip).
The commands run in-process through typer's CliRunner to keep the file fast;
``power`` runs through the installed ``desist`` script, so the console script
is covered too (tests/cli/test_subprocess.py starts ``python -m desist.cli``).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from typer.main import get_command
from typer.testing import CliRunner

from cohorts.synthetic import make_world
from cohorts.weights import rake
from desist import terminal
from desist.cli import app
from ground.reading import read_frame, read_table
from metrics import match
from metrics.power import Design, minimum_detectable_effect, power, required_n
from outcomes.spec import MetricSpec
from pricing import PaymentStructure, Tariff, by_difficulty, flat, incentive_neutral, simulate_contract
from pricing.inputs import cohort_probabilities, payment_segments, segment_costs, segment_rates
from validation.design import check_design
from validation.gaming import creaming_screen, parking_screen

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "examples" / "specs"
INTERMEDIATE = SPECS / "intermediate.toml"
PRICE_KEYS = ["family_ties", "family_contact", "self_esteem", "accommodation", "ete", "substance_misuse"]
COVARIATES = ["age", "sex", "ethnicity", "prior_offences", "ogrs_score", "need_substance"]
MARGINS = """total = 10000

[margins.sex]
female = 0.2
male = 0.8

[margins.ethnicity]
white = 0.7
black = 0.12
asian = 0.1
mixed = 0.05
other = 0.03
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The world's tables as CSV files, plus a pricing history, an evaluation file and margins."""
    tmp = tmp_path_factory.mktemp("cli_e2e")
    w = make_world(seed=11, n_eligible=800, n_pool=8000)
    rng = np.random.default_rng(11)
    truth = w.truth.people.set_index("person_id")
    people = w.people
    # Evaluation file: programme people with a drawn proven-reoffending flag, and the pool.
    p1 = truth.loc[people["person_id"], "p_reoffend_1"].to_numpy()
    cohort = people.assign(reoffended=rng.random(len(people)) < p1)
    both = pd.concat([cohort, w.pool.drop(columns=["reoffences", "days_to_first"])], ignore_index=True)
    both.assign(treated=both["in_programme"].astype(int)).to_csv(tmp / "evaluate.csv", index=False)
    # Last year's people with one 0/1 column per price key and a delivery cost.
    needs = people[[c for c in people.columns if c.startswith("need_")]].sum(axis=1)
    history = people.assign(
        **{k: (rng.random(len(people)) < 0.45 - 0.05 * needs).astype(int) for k in PRICE_KEYS},
        cost=800.0 + 250.0 * needs,
    )
    history.to_csv(tmp / "history.csv", index=False)
    people.to_csv(tmp / "people.csv", index=False)
    w.pool.to_csv(tmp / "pool.csv", index=False)
    w.assessments.to_csv(tmp / "assessments.csv", index=False)
    w.services.to_csv(tmp / "services.csv", index=False)
    w.eligible.merge(w.truth.people[["person_id", "difficulty"]], on="person_id").to_csv(
        tmp / "eligible.csv", index=False
    )
    (tmp / "margins.toml").write_text(MARGINS)
    return tmp


def strict_json(text: str) -> dict:
    """Parse JSON as strict parsers do: NaN and Infinity are not JSON."""

    def reject(constant: str):
        raise AssertionError(f"{constant} in the JSON output")

    return json.loads(text, parse_constant=reject)


def invoke(*args: str) -> dict:
    """Run a command in-process and return its JSON document (exit status 0 required)."""
    result = CliRunner().invoke(app, [*map(str, args), "--json"])
    assert result.exit_code == 0, f"{result.stderr}\n{result.exception!r}"
    doc = strict_json(result.stdout)
    assert list(doc) == ["command", "inputs", "results", "files"] and doc["command"] == args[0]
    return doc


def subprocess_json(command: list[str]) -> dict:
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    # --json keeps stderr free of progress output, so scripts can capture both.
    assert proc.stderr == ""
    return strict_json(proc.stdout)


def test_evaluate_matches_match_effect(folder, tmp_path):
    doc = invoke(
        "evaluate",
        "--data",
        folder / "evaluate.csv",
        "--treatment",
        "treated",
        "--covariates",
        ",".join(COVARIATES),
        "--outcome",
        "reoffended",
        "--kind",
        "binary",
        "--ratio",
        "2",
        "--caliper",
        "0.2",
        "--out",
        tmp_path / "evaluation",
    )
    assert doc["command"] == "evaluate" and doc["inputs"]["ratio"] == 2 and doc["inputs"]["kind"] == "binary"
    m = match(read_frame(folder / "evaluate.csv"), "treated", COVARIATES, ratio=2, caliper=0.2)
    effect = m.effect("reoffended", kind="binary")
    got = doc["results"]["effect"]
    assert got["estimate"] == pytest.approx(effect.estimate, rel=1e-9)
    assert got["se"] == pytest.approx(effect.se, rel=1e-9)
    assert (got["n_treated"], got["n_control"]) == (effect.n_treated, effect.n_control)
    assert doc["results"]["counts"] == m.counts.to_dict()
    after = m.balance()[("after", "smd")]
    assert_allclose([doc["results"]["balance"][k]["after_smd"] for k in after.index], after.to_numpy(), rtol=1e-9)
    assert sorted(Path(f).name for f in doc["files"]) == [
        "balance.csv",
        "effect.json",
        "love_plot.png",
        "pairs.csv",
        "weights.csv",
    ]
    assert json.loads((tmp_path / "evaluation" / "effect.json").read_text())["estimate"] == pytest.approx(
        effect.estimate
    )


def test_power_through_the_installed_script_matches_metrics_power(folder):
    script = Path(sys.executable).with_name("desist")
    assert script.exists(), "the console script is installed with the package (pip install -e .)"
    doc = subprocess_json(
        [
            str(script),
            "power",
            "--measure",
            "binary",
            "--base-rate",
            "0.42",
            "--n",
            "459",
            "--ratio",
            "2",
            "--effect",
            "-0.06",
            "--json",
        ]
    )
    assert doc["command"] == "power" and doc["inputs"]["base_rate"] == 0.42 and doc["files"] == []
    res = doc["results"]
    assert res["mde"]["effect"] == pytest.approx(
        minimum_detectable_effect(Design("binary", 0.42, ratio=2), 459).effect, rel=1e-12
    )
    assert (
        res["required_n"]["n_treated_required"] == required_n(Design("binary", 0.42, ratio=2), -0.06).n_treated_required
    )
    assert res["power"]["power"] == pytest.approx(power(Design("binary", 0.42, ratio=2), 459, -0.06).power, rel=1e-12)


def test_weight_matches_rake(folder, tmp_path):
    doc = invoke(
        "weight",
        "--data",
        folder / "people.csv",
        "--margins",
        folder / "margins.toml",
        "--id",
        "person_id",
        "--out",
        tmp_path,
    )
    people = read_frame(folder / "people.csv")
    margins = {
        "sex": {"female": 0.2, "male": 0.8},
        "ethnicity": {"white": 0.7, "black": 0.12, "asian": 0.1, "mixed": 0.05, "other": 0.03},
    }
    expected = rake(people, margins, total=10_000)
    assert_allclose(doc["results"]["weights"], expected.weights.to_numpy(), rtol=1e-12)
    assert doc["results"]["ids"] == people["person_id"].tolist()
    assert doc["results"]["ess"] == pytest.approx(expected.ess, rel=1e-12)
    written = pd.read_csv(tmp_path / "weights.csv")
    assert_allclose(written["weight"], expected.weights.to_numpy(), rtol=1e-12)


def _pricing_inputs(folder):
    spec = MetricSpec.from_toml(INTERMEDIATE)
    history = read_frame(folder / "history.csv")
    segments = payment_segments(history, spec)
    rates = segment_rates(history, PRICE_KEYS, segments)
    probs = cohort_probabilities(history, PRICE_KEYS, segments, rates)
    return spec, history, segments, rates, probs


def test_price_matches_the_tariff_builders(folder, tmp_path):
    doc = invoke("price", "--spec", INTERMEDIATE, "--history", folder / "history.csv", "--out", tmp_path)
    res = doc["results"]
    spec, history, segments, rates, probs = _pricing_inputs(folder)
    costs = segment_costs(None, history, segments)
    budget = Tariff.from_spec(spec).expected_income(segments, probs)["expected_income"].sum()
    assert res["budget"] == pytest.approx(budget, rel=1e-12)
    built = {
        "flat": flat(budget, probs, segments=segments),
        "by_difficulty": by_difficulty(budget, probs, segments=segments, costs=costs),
        "incentive_neutral": incentive_neutral(costs, probs, budget, segments=segments),
    }
    for name, tariff in built.items():
        for outcome in PRICE_KEYS:
            for segment, price in res["tariffs"][name]["prices"][outcome].items():
                assert price == pytest.approx(tariff.price(outcome, segment), rel=1e-9), (name, outcome, segment)
        margins = tariff.margins(costs, segments, probs)
        assert res["tariffs"][name]["margins"]["gap"] == pytest.approx(margins.gap, rel=1e-9, abs=1e-6)
    shown = {row["segment"]: row for row in res["segments"]}
    assert shown["women"]["n"] == rates.loc["women", "n"]
    assert Tariff.from_toml(tmp_path / "tariff_flat.toml").price("ete", "women") == pytest.approx(
        built["flat"].price("ete", "women")
    )
    assert str(tmp_path / "margins_by_difficulty.svg") in doc["files"]


def test_simulate_matches_simulate_contract_with_the_same_seed(folder):
    doc = invoke(
        "simulate",
        "--spec",
        INTERMEDIATE,
        "--cohort",
        folder / "people.csv",
        "--history",
        folder / "history.csv",
        "--draws",
        "2000",
        "--seed",
        "7",
    )
    res = doc["results"]
    spec, history, past_segments, rates, _ = _pricing_inputs(folder)
    cohort = read_frame(folder / "people.csv")
    segments = payment_segments(cohort, spec)
    tariff = Tariff.from_spec(spec)
    probs = cohort_probabilities(cohort, PRICE_KEYS, segments, rates)
    expected = float(tariff.expected_income(segments, probs)["expected_income"].sum())
    structure = PaymentStructure.from_spec(spec, outcome_budget=expected)
    sim = simulate_contract(
        spec,
        cohort,
        tariff,
        structure,
        draws=2000,
        seed=7,
        probabilities=probs,
        segments=segments,
        costs=segment_costs(None, history, past_segments),
    )
    assert res["expected_outcome_payments"] == pytest.approx(expected, rel=1e-12)
    assert res["total_paid"]["mean"] == pytest.approx(float(sim.total_paid.mean()), rel=1e-12)
    table = sim.party_table()
    for party, row in res["parties"].items():
        assert row["p_loss"] == pytest.approx(table.loc[party, "p_loss"], abs=1e-12)
    assert res["draws"] == 2000 and res["seed"] == 7 and res["costs_included"]


def test_check_findings_equal_check_design(folder):
    data = {
        "people": folder / "people.csv",
        "assessments": folder / "assessments.csv",
        "pool": folder / "pool.csv",
        "history": folder / "history.csv",
    }
    args = [a for name, path in data.items() for a in ("--data", f"{name}={path}")]
    result = CliRunner().invoke(
        app, ["check", str(INTERMEDIATE), *args, "--contract-days", "1095", "--effect", "-0.05", "--json"]
    )
    doc = json.loads(result.stdout)
    tables = {name: read_table(path, name) for name, path in data.items() if name != "history"}
    tables["history"] = read_frame(data["history"])
    findings = check_design(MetricSpec.from_toml(INTERMEDIATE), tables, contract_days=1095, expected_effect=-0.05)
    assert [(f["code"], f["severity"], f["message"]) for f in doc["results"]["findings"]] == [
        (f.code, f.severity, f.message) for f in findings
    ]
    assert len(findings) > 0
    # exit status 1 exactly when a finding is an error
    assert result.exit_code == int(any(f.severity == "error" for f in findings))


def test_screen_p_values_equal_the_screens(folder, tmp_path):
    doc = invoke(
        "screen", "--eligible", folder / "eligible.csv", "--services", folder / "services.csv", "--out", tmp_path
    )
    res = doc["results"]
    eligible = read_table(folder / "eligible.csv", "eligible")
    services = read_table(folder / "services.csv", "services")
    creaming = creaming_screen(eligible, difficulty="difficulty", by="provider_id")
    enrolled = eligible[eligible["enrolled"]].reset_index(drop=True)
    hours = services.groupby("person_id")["hours"].sum()
    enrolled = enrolled.assign(hours=enrolled["person_id"].map(hours).fillna(0.0).to_numpy())
    parking = parking_screen(enrolled, difficulty="difficulty", by="provider_id")
    assert res["creaming"]["p_value"] == pytest.approx(creaming.p_value, rel=1e-9)
    assert res["parking"]["p_value"] == pytest.approx(parking.p_value, rel=1e-9)
    assert res["creaming"]["flagged_units"] == creaming.flagged_units
    assert res["difficulty"] == "difficulty" and "funnel" not in res
    assert {Path(f).name for f in doc["files"]} == {
        f"screen_{k}.{s}" for k in ("creaming", "parking") for s in ("png", "svg")
    }


MINE = ["evaluate", "power", "weight", "price", "simulate", "check", "screen"]


def help_examples(name: str) -> list[list[str]]:
    """The ``desist <name> ...`` command lines under "Examples:" in the command's help, as argv lists."""
    text = get_command(app).get_command(None, name).help.split("Examples:")[1]
    lines = re.sub(r"\\\n\s*", " ", text).splitlines()
    return [shlex.split(line)[1:] for line in lines if line.strip().startswith(f"desist {name} ")]


def test_every_command_has_help_with_examples():
    from desist.cli import COMMANDS

    for name in COMMANDS:
        result = CliRunner().invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Examples" in result.stdout and f"desist {name}" in result.stdout, name
    for name in MINE:
        assert len(help_examples(name)) == 2, name


@pytest.mark.parametrize("name", MINE)
def test_first_help_example_runs_from_the_repository(name, monkeypatch):
    monkeypatch.chdir(ROOT)
    args = help_examples(name)[0]
    assert all(Path(a.split("=")[-1]).exists() for a in args if a.endswith((".csv", ".toml"))), args
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, f"{args}: {result.stderr}{result.exception!r}"
    assert result.stdout.strip()


def test_progress_goes_to_stderr_on_a_terminal_only(folder, monkeypatch):
    args = [
        "simulate",
        "--spec",
        str(INTERMEDIATE),
        "--cohort",
        str(folder / "people.csv"),
        "--history",
        str(folder / "history.csv"),
        "--draws",
        "200",
    ]
    plain = CliRunner().invoke(app, args)
    assert plain.exit_code == 0 and plain.stderr == ""  # not a terminal: no progress
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich then treats stderr as a terminal
    monkeypatch.setattr(terminal, "SHOW_AFTER", 0.0)  # shown however quick the step (else after 2 seconds)
    shown = CliRunner().invoke(app, args)
    assert "Simulating 200 draws of the contract" in shown.stderr and "Simulating" not in shown.stdout
    quiet = CliRunner().invoke(app, [*args, "--json"])
    assert quiet.stderr == "" and json.loads(quiet.stdout)["command"] == "simulate"

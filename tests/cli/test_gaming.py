"""``desist gaming`` and the measurement screens of ``desist screen``, run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from desist.cli import app
from outcomes import MetricSpec
from validation.payoff import payoff_from_spec

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "examples" / "specs" / "intermediate.toml"
DATA = ROOT / "examples" / "data"


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_gaming_json_equals_the_library(tmp_path):
    run = invoke(
        "gaming",
        SPEC,
        "--history",
        DATA / "history.csv",
        "--strength",
        "1,2",
        "--draws",
        "200",
        "--json",
        "--out",
        tmp_path,
    )
    assert run.exit_code == 0, run.output
    doc = json.loads(run.stdout)
    res = doc["results"]
    payoff, how = payoff_from_spec(
        MetricSpec.from_toml(SPEC), pd.read_csv(DATA / "history.csv"), strengths=[1.0, 2.0], draws=200
    )
    assert res["difficulty"] == how
    got = pd.DataFrame(res["payoff"])
    assert got["gain"].tolist() == pytest.approx(payoff.table["gain"].tolist(), rel=1e-9)
    assert set(got["strategy"]) == {"honest", "creaming", "parking"}
    assert res["cost_per_hour"] == pytest.approx(22.0, rel=1e-6)  # the example's £22 per hour
    assert {Path(f).name for f in doc["files"]} == {"gaming_payoff.csv", "gaming_payoff.png", "gaming_payoff.svg"}
    assert set(res["tariffs"]) == {"given", "flat", "by_difficulty", "incentive_neutral"}


def test_gaming_text_and_bad_input(tmp_path):
    run = invoke("gaming", SPEC, "--history", DATA / "history.csv", "--draws", "200")
    assert run.exit_code == 0, run.output
    assert "Gain per person by tariff, strategy and strength" in run.stdout
    assert "Parking" in run.stdout and "Incentive-neutral" in run.stdout and "incentive_neutral" not in run.stdout
    bad = invoke("gaming", SPEC, "--history", DATA / "history.csv", "--strength", "0,x")
    assert bad.exit_code == 2 and "must be numbers > 0" in bad.output
    missing = tmp_path / "history.csv"
    pd.read_csv(DATA / "history.csv").drop(columns="family_ties").to_csv(missing, index=False)
    run = invoke("gaming", SPEC, "--history", missing, "--draws", "200")
    assert run.exit_code == 1 and "missing the column family_ties" in run.stderr


def test_screen_with_measurement_and_provider_table(tmp_path):
    people = pd.read_csv(DATA / "people.csv")
    outcomes = people[["person_id"]].assign(attained=(people.index % 3 == 0).astype(int), expected=1 / 3)
    outcomes.to_csv(tmp_path / "outcomes.csv", index=False)
    run = invoke(
        "screen",
        "--eligible",
        DATA / "eligible.csv",
        "--services",
        DATA / "services.csv",
        "--outcomes",
        tmp_path / "outcomes.csv",
        "--people",
        DATA / "people.csv",
        "--assessments",
        DATA / "assessments.csv",
        "--spec",
        SPEC,
        "--json",
    )
    assert run.exit_code == 0, run.output
    res = json.loads(run.stdout)["results"]
    # The example data's measurement gaming (examples/README.md), with OGRS as difficulty here.
    assert res["measurement"]["flagged"] == {"assessments": ["PRV09"], "baseline": ["PRV11"], "unmeasured": ["PRV05"]}
    assert res["providers"]["min_n"] == 60 and len(res["providers"]["providers"]) == 12
    half = invoke("screen", "--eligible", DATA / "eligible.csv", "--services", DATA / "services.csv", "--spec", SPEC)
    assert half.exit_code == 2 and "--spec together" in half.output

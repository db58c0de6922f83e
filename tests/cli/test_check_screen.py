"""``desist screen`` and ``desist check --data``, run in-process (tests/running.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cohorts.synthetic import make_world
from desist.commands.check import read_tables
from ground.errors import ParameterError, SchemaError
from tests.running import desist
from validation.screening import screen_tables


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A world where only PRV01 creams hard, written as CSV files."""
    tmp = tmp_path_factory.mktemp("screen")
    w = make_world(seed=3, n_eligible=3000, n_pool=3000, creaming=[2.0] + [0.0] * 11)
    eligible = w.eligible.merge(w.truth.people[["person_id", "difficulty"]], on="person_id")
    eligible.to_csv(tmp / "eligible.csv", index=False)
    w.eligible.to_csv(tmp / "eligible_no_difficulty.csv", index=False)
    w.services.to_csv(tmp / "services.csv", index=False)
    rng = np.random.default_rng(0)
    outcomes = w.people[["person_id"]].assign(expected=0.5, attained=rng.random(len(w.people)) < 0.5)
    outcomes.to_csv(tmp / "outcomes.csv", index=False)
    w.people.to_csv(tmp / "people.csv", index=False)
    w.pool.to_csv(tmp / "pool.csv", index=False)
    return tmp


def test_screen_text_flags_the_creaming_provider(files):
    run = desist("screen", "--eligible", str(files / "eligible.csv"), "--services", str(files / "services.csv"))
    assert run.returncode == 0, run.stderr
    assert "Creaming screen: flagged" in run.stdout and "Flagged: PRV01" in run.stdout
    assert "Parking screen: not flagged" in run.stdout
    assert "Holm over 13 tests" in run.stdout


def test_screen_json_with_outcomes_and_plots(files, tmp_path):
    run = desist(
        "screen",
        "--eligible",
        str(files / "eligible.csv"),
        "--services",
        str(files / "services.csv"),
        "--outcomes",
        str(files / "outcomes.csv"),
        "--json",
        "--out",
        str(tmp_path),
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)["results"]
    assert set(data) >= {"creaming", "parking", "funnel", "notes"}
    assert data["creaming"]["flagged_units"] == ["PRV01"]
    assert "p_attainment" in data["parking"]["table"][0]
    assert len(data["funnel"]["units"]) == 12
    assert (tmp_path / "screen_creaming.svg").exists() and (tmp_path / "screen_funnel.png").exists()


def test_screen_falls_back_to_ogrs_and_says_so(files):
    run = desist(
        "screen",
        "--eligible",
        str(files / "eligible_no_difficulty.csv"),
        "--services",
        str(files / "services.csv"),
        "--json",
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)["results"]
    assert data["difficulty"] == "ogrs_score" and "ogrs_score" in data["notes"][0]


def test_screen_bad_input(files, tmp_path):
    bad = tmp_path / "outcomes.csv"
    bad.write_text("person_id,score\nE000001,1\n")
    run = desist(
        "screen",
        "--eligible",
        str(files / "eligible.csv"),
        "--services",
        str(files / "services.csv"),
        "--outcomes",
        str(bad),
    )
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "needs columns ['attained']" in run.stderr
    eligible = pd.read_csv(files / "eligible.csv")
    with pytest.raises(SchemaError, match=r"table 'eligible' is missing the column risk \(the 'difficulty' column\)"):
        screen_tables(eligible, pd.read_csv(files / "services.csv"), difficulty="risk")


def test_check_with_data_reports_findings_and_exits_1_on_error(files):
    spec = "examples/specs/doncaster.toml"
    run = desist(
        "check",
        spec,
        "--data",
        f"people={files / 'people.csv'}",
        "--data",
        f"pool={files / 'pool.csv'}",
        "--contract-days",
        "400",
        "--json",
    )
    assert run.returncode == 1, run.stderr
    codes = [f["code"] for f in json.loads(run.stdout)["results"]["findings"]]
    assert codes[0] == "outcome_not_measurable" and "binary_reoffending" in codes
    # Schema-read files carry unused category levels; they must not pass for poor overlap.
    assert "poor_overlap" not in codes and "not_checked" not in codes
    ok = desist("check", spec, "--contract-days", "1095")
    assert ok.returncode == 0, ok.stderr
    # Findings read as sentences led by their severity in words, not as codes.
    assert "Worth fixing: The reoffending measure is binary" in ok.stdout
    assert "binary_reoffending" not in ok.stdout and "[warning]" not in ok.stdout
    with pytest.raises(ParameterError, match="The '--data' option must be NAME=FILE"):
        read_tables(["pool"])

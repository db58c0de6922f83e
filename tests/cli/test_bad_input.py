"""Bad input through the command line: one readable message, no traceback, exit status 1.

Each message must name the file, the column or key, and the rule broken. The
commands run in-process (tests/running.py; tests/cli/test_subprocess.py starts
real processes). Usage mistakes (an unknown option) exit 2.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohorts.synthetic import make_world
from desist.cli import main
from tests.running import desist, one_message

ROOT = Path(__file__).resolve().parents[2]
INTERMEDIATE = ROOT / "examples" / "specs" / "intermediate.toml"
PRICE_KEYS = ["family_ties", "family_contact", "self_esteem", "accommodation", "ete", "substance_misuse"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli_bad_input")
    w = make_world(seed=4, n_eligible=300, n_pool=300)
    rng = np.random.default_rng(4)
    history = w.people.assign(**{k: (rng.random(len(w.people)) < 0.4).astype(int) for k in PRICE_KEYS}, cost=900.0)
    history.to_csv(tmp / "history.csv", index=False)
    history.drop(columns="accommodation").to_csv(tmp / "history_no_accommodation.csv", index=False)
    flags = history.astype({"ete": object})
    flags.loc[4, "ete"] = "yes"
    flags.to_csv(tmp / "history_yes.csv", index=False)
    people = w.people.astype({"age": object})
    people.loc[2, "age"] = "abc"  # data row 3, counting from 1 below the header
    people.to_csv(tmp / "people_bad_age.csv", index=False)
    evaluation = pd.concat([w.people.assign(treated=1, reoffended=False), w.pool.assign(treated=0)], ignore_index=True)
    evaluation = evaluation.astype({"age": object})
    evaluation.loc[2, "age"] = "abc"
    evaluation.to_csv(tmp / "evaluate_bad_age.csv", index=False)
    w.eligible.drop(columns="enrolled").to_csv(tmp / "eligible_no_enrolled.csv", index=False)
    w.services.to_csv(tmp / "services.csv", index=False)
    spec = INTERMEDIATE.read_text()
    (tmp / "unknown_segment.toml").write_text(spec.replace("women = 600", "woman = 600"))
    (tmp / "bad_key.toml").write_text(spec.replace('price_key = "ete"', 'price_kee = "ete"'))
    return tmp


def test_missing_column_names_file_column_and_rule(folder):
    proc = desist("price", "--spec", INTERMEDIATE, "--history", folder / "history_no_accommodation.csv")
    assert proc.returncode == 1
    one_message(
        proc.stderr,
        "history_no_accommodation.csv (--history)",
        "Missing: ['accommodation']",
        "a column '<outcome>' (1 if achieved) or 'p_<outcome>'",
    )


def test_wrong_type_in_a_schema_table(folder):
    proc = desist("check", INTERMEDIATE, "--data", f"people={folder / 'people_bad_age.csv'}")
    assert proc.returncode == 1
    one_message(proc.stderr, "people_bad_age.csv", "age", "not a whole number", "row 3 (abc)")


def test_wrong_type_in_a_free_form_file(folder):
    proc = desist(
        "evaluate",
        "--data",
        folder / "evaluate_bad_age.csv",
        "--treatment",
        "treated",
        "--covariates",
        "age,sex",
        "--outcome",
        "reoffended",
    )
    assert proc.returncode == 1
    one_message(proc.stderr, "evaluate_bad_age.csv (--data)", "age: not a number", "row 3 ('abc')")


def test_unknown_segment_in_a_spec(folder):
    proc = desist("price", "--spec", folder / "unknown_segment.toml", "--history", folder / "history.csv")
    assert proc.returncode == 1
    one_message(
        proc.stderr,
        "unknown_segment.toml",
        "payment.prices.accommodation",
        "must be 'default' or one of complex_needs, women, young_adults",
        "Got 'woman'",
    )


def test_missing_file_and_bad_spec_key(folder):
    proc = desist(
        "evaluate",
        "--data",
        folder / "nowhere.csv",
        "--treatment",
        "treated",
        "--covariates",
        "age",
        "--outcome",
        "reoffended",
    )
    assert proc.returncode == 1
    one_message(proc.stderr, "nowhere.csv: no such file", "--data")
    proc = desist("check", folder / "bad_key.toml")
    assert proc.returncode == 1
    one_message(proc.stderr, "bad_key.toml", "outcomes.ete", "must be among", "price_kee")


def test_unknown_option_is_a_usage_error_with_status_2(folder):
    proc = desist("price", "--spec", INTERMEDIATE, "--history", folder / "history.csv", "--bogus")
    assert proc.returncode == 2
    assert "No such option: --bogus" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args, parts",
    [
        # text in a 0/1 outcome column, counted from 1 like the schema's rows
        (
            ["price", "--spec", INTERMEDIATE, "--history", "{folder}/history_yes.csv"],
            ["history_yes.csv (--history)", "ete: not a number", "row 5 ('yes')"],
        ),
        (
            ["screen", "--eligible", "{folder}/eligible_no_enrolled.csv", "--services", "{folder}/services.csv"],
            ["eligible_no_enrolled.csv", "enrolled: required column missing"],
        ),
        (
            ["simulate", "--spec", "{folder}/unknown_segment.toml", "--cohort", "{folder}/history.csv"],
            ["unknown_segment.toml", "payment.prices.accommodation", "Got 'woman'"],
        ),
        (
            ["check", INTERMEDIATE, "--data", "pool={folder}/nowhere.parquet"],
            ["nowhere.parquet: no such file", "--data", "pool"],
        ),
        (
            ["screen", "--eligible", "{folder}/history.txt", "--services", "{folder}/services.csv"],
            ["history.txt", "unknown file type '.txt'"],
        ),
        (
            ["power", "--measure", "binary", "--base-rate", "1.4", "--n", "100"],
            ["'base_rate' parameter", "between 0 and 1", "Got 1.4"],
        ),
        # a text outcome is not matched as a number
        (
            [
                "evaluate",
                "--data",
                "{folder}/history.csv",
                "--treatment",
                "ete",
                "--covariates",
                "age",
                "--outcome",
                "sex",
                "--kind",
                "binary",
            ],
            ["history.csv (--data)", "sex: not a number", "row 1 ('male')"],
        ),
        (
            ["price", "--spec", INTERMEDIATE, "--history", "{folder}/history.csv", "--budget", "-5"],
            ["--budget", "finite amount > 0", "Got -5.0"],
        ),
        (
            [
                "evaluate",
                "--data",
                "{folder}/history.csv",
                "--treatment",
                "ete",
                "--covariates",
                "age,risk",
                "--outcome",
                "family_ties",
            ],
            ["history.csv (--data)", "is missing the column risk"],
        ),
    ],
)
def test_more_bad_input_in_process(folder, capsys, args, parts):
    (folder / "history.txt").write_text("person_id\nE1\n")
    with pytest.raises(SystemExit) as exit_:
        main([str(a).format(folder=folder) for a in args])
    assert exit_.value.code == 1
    one_message(capsys.readouterr().err, *parts)

"""Issue 23's silent acceptances, tracebacks and unclear messages: each a clear error or a finding,
the same from Python as from the terminal (settlement cases are in tests/pricing/test_settlement_checks.py)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ground.errors import DesistError, ParameterError, SchemaError, SpecError
from ground.expressions import parse
from metrics import match
from outcomes import proven_reoffending
from pricing import Contract, scheme
from tests.running import ROOT, desist, one_message
from validation.design import check_contract
from validation.gaming import creaming_screen
from validation.screening import screen_tables

DATA = ROOT / "examples" / "data"
LALONDE = ROOT / "tests" / "data" / "lalonde.csv"
DONCASTER = ROOT / "examples" / "specs" / "doncaster.toml"
PETERBOROUGH = ROOT / "examples" / "specs" / "peterborough.toml"


def test_matching_on_the_outcome_is_refused():
    data = pd.read_csv(LALONDE)
    words = "The 'outcome' parameter of effect must not be a covariate. Got 're78', which is also among the covariates"
    with pytest.raises(ParameterError, match=words):
        match(data, "treat", ["age", "re78"]).effect("re78")
    with pytest.raises(ParameterError, match="Got 're78', which is also among the covariates"):
        match(data, "treat", ["age", "educ"]).effect("re78", covariates=["re78"])
    run = desist("evaluate", "--data", LALONDE, "--treatment", "treat", "--covariates", "age,re78", "--outcome", "re78")
    one_message(run.stderr, "The 'outcome' parameter of desist evaluate must not be a covariate. Got 're78'")


@pytest.fixture(scope="module")
def eligible() -> pd.DataFrame:
    from ground.reading import read_table

    return read_table(DATA / "eligible.csv", "eligible")


def test_an_unknown_grouping_is_refused_not_dropped(eligible):
    services = pd.read_csv(DATA / "services.csv")
    with pytest.raises(SchemaError, match=r"missing the column nope \(the 'by' column\)"):
        screen_tables(eligible, services, by="nope")
    run = desist("screen", "--eligible", DATA / "eligible.csv", "--services", DATA / "services.csv", "--by", "nope")
    one_message(run.stderr, "eligible.csv: table 'eligible' is missing the column nope (the 'by' column)")
    overall = desist("screen", "--eligible", DATA / "eligible.csv", "--services", DATA / "services.csv", "--by", "",
                     "--json")  # fmt: skip
    assert overall.returncode == 0, overall.stderr
    creaming = screen_tables(eligible, services, by=None).creaming
    assert "same provider" not in creaming.meaning and "at any of the providers" not in creaming.meaning


def test_a_difficulty_that_is_not_a_number_names_the_column_and_rows(eligible):
    with pytest.raises(SchemaError, match=r"the 'difficulty' column 'sex' must hold finite numbers; 1500 rows do not"):
        creaming_screen(eligible, difficulty="sex", by="provider_id")
    run = desist("screen", "--eligible", DATA / "eligible.csv", "--services", DATA / "services.csv", "--difficulty",
                 "sex")  # fmt: skip
    one_message(run.stderr, "eligible.csv (--eligible)", "'difficulty' column 'sex' must hold finite numbers",
                "row 1 ('male')")  # fmt: skip


def test_measurement_screens_that_test_no_provider_say_why(tmp_path):
    people = pd.read_csv(DATA / "people.csv", dtype=str)
    people = people[people["start_date"] >= "2024-04-15"]  # no payment window has closed by 2024-06-30
    people.to_csv(tmp_path / "people.csv", index=False)
    assessments = pd.read_csv(DATA / "assessments.csv", dtype=str)
    keep = assessments["person_id"].isin(people["person_id"]) & (assessments["assessed_on"] <= "2024-06-30")
    assessments[keep].to_csv(tmp_path / "assessments.csv", index=False)
    run = desist("screen", "--eligible", DATA / "eligible.csv", "--services", DATA / "services.csv", "--people",
                 tmp_path / "people.csv", "--assessments", tmp_path / "assessments.csv", "--spec",
                 ROOT / "examples" / "specs" / "intermediate.toml", "--as-of", "2024-06-30", "--json")  # fmt: skip
    assert run.returncode == 0, run.stderr
    notes = json.loads(run.stdout)["results"]["notes"]
    assert any(n.startswith("no provider was tested on how it measures outcomes: as of 2024-06-30") for n in notes)
    early = desist("screen", "--eligible", DATA / "eligible.csv", "--services", DATA / "services.csv", "--people",
                   tmp_path / "people.csv", "--assessments", tmp_path / "assessments.csv", "--spec",
                   ROOT / "examples" / "specs" / "intermediate.toml", "--as-of", "2020-01-01")  # fmt: skip
    one_message(early.stderr, "people.csv: table 'people'", "start_date: after the as-of date 2020-01-01")


@pytest.mark.parametrize("rule", ["age > " + "9" * 400, "age > 1e400"], ids=["400_digits", "1e400"])
def test_a_number_too_large_for_a_rule_is_refused(tmp_path, rule):
    with pytest.raises(SpecError, match="is too large: a rule's numbers are finite"):
        parse(rule)
    text = DONCASTER.read_text().replace('index = "start_date"', f'index = "start_date"\neligible = "{rule}"')
    (tmp_path / "huge.toml").write_text(text)
    run = desist("check", tmp_path / "huge.toml")
    one_message(run.stderr, "huge.toml", "cohort.eligible", "is too large")


def test_a_rule_of_constants_holds_for_every_row(tmp_path):
    frame = pd.DataFrame({"age": [20, 30, None]})
    assert parse("'a' == 'a'").evaluate(frame).tolist() == [True, True, True]
    assert parse("1 + 1").evaluate(frame).tolist() == [2.0, 2.0, 2.0]
    text = DONCASTER.read_text().replace('index = "start_date"', "index = \"start_date\"\neligible = \"'a' == 'a'\"")
    (tmp_path / "always.toml").write_text(text)
    args = ["--data", f"people={DATA / 'people.csv'}", "--data", f"offences={DATA / 'offences.csv'}"]
    run = desist("settle", tmp_path / "always.toml", *args, "--as-of", "2025-09-30", "--json")
    assert run.returncode == 0, run.stderr
    plain = desist("settle", DONCASTER, *args, "--as-of", "2025-09-30", "--json")
    assert json.loads(run.stdout)["results"]["figures"] == json.loads(plain.stdout)["results"]["figures"]


def test_a_rule_capped_at_zero_and_a_rule_paying_for_a_rise_are_findings(tmp_path):
    text = PETERBOROUGH.read_text()
    text = text.replace("at_least = 0.10", "at_least = -0.5", 1)
    text = text.replace("[rules.early]", "[rules.early]\ncap = 0", 1)
    (tmp_path / "odd.toml").write_text(text)
    codes = {f.code: f for f in check_contract(Contract.from_toml(tmp_path / "odd.toml"), draws=200)}
    assert "rule_capped_at_zero" in codes and "rule_pays_for_a_rise" in codes
    assert "rises by up to 50%" in codes["rule_pays_for_a_rise"].message
    run = desist("check", tmp_path / "odd.toml", "--json")
    found = {f["code"] for f in json.loads(run.stdout)["results"]["findings"]}
    assert {"rule_capped_at_zero", "rule_pays_for_a_rise"} <= found


def test_a_negative_contract_length_is_refused():
    with pytest.raises(
        ParameterError, match=r"'contract_days' parameter of check_design must be None or an int in the range"
    ):
        check_contract(scheme("doncaster"), contract_days=-5)
    run = desist("check", DONCASTER, "--contract-days", "-5")
    one_message(
        run.stderr, "'contract_days' parameter of check_design must be None or an int in the range [1, inf). Got -5"
    )


def test_check_judges_a_1_to_10_contract_at_its_own_ratio_and_rule():
    contract = Contract.from_toml(PETERBOROUGH)
    people, pool = pd.read_csv(DATA / "people.csv"), pd.read_csv(DATA / "pool.csv")
    # At a 15% fall (the rule pays at 10%, on the point estimate) power grows with the comparison's size.
    data, effect = {"people": people, "pool": pool}, 0.85
    ten = {f.code: f for f in check_contract(contract, data, expected_effect=effect, draws=500)}
    assert ten["underpowered"].evidence["against"].startswith("matched 1:10, caliper 0.2 SD")
    assert ten["underpowered"].evidence["rule"] == "early"
    from dataclasses import replace

    one = replace(contract, matched=replace(contract.matched, ratio=1))
    one_to_one = {f.code: f for f in check_contract(one, data, expected_effect=effect, draws=500)}
    assert one_to_one["underpowered"].evidence["power"] < ten["underpowered"].evidence["power"]
    run = desist("check", PETERBOROUGH, "--data", f"people={DATA / 'people.csv'}", "--data",
                 f"pool={DATA / 'pool.csv'}", "--effect", "0.85", "--json")  # fmt: skip
    found = {f["code"]: f for f in json.loads(run.stdout)["results"]["findings"]}
    assert found["underpowered"]["evidence"]["power"] == pytest.approx(ten["underpowered"].evidence["power"])
    assert "matched 1:10" in found["underpowered"]["message"]


def test_a_wrong_index_and_an_empty_people_file_in_measure(tmp_path):
    with pytest.raises(SchemaError, match=r"missing the column nope \(the 'index' column\)") as api:
        proven_reoffending(DATA / "people.csv", DATA / "offences.csv", index="nope")
    run = desist("measure", "--people", DATA / "people.csv", "--offences", DATA / "offences.csv", "--index", "nope")
    one_message(run.stderr, str(api.value))
    (tmp_path / "people.csv").write_text("person_id,start_date\n")
    with pytest.raises(DesistError, match="people is empty") as empty:
        proven_reoffending(tmp_path / "people.csv", DATA / "offences.csv")
    assert "has e.g. ." not in str(empty.value)
    run = desist("measure", "--people", tmp_path / "people.csv", "--offences", DATA / "offences.csv")
    one_message(run.stderr, "people is empty (no rows)")

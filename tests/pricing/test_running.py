"""A running account: interim and final settlements form one ledger, and verify checks the chain."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from desist.cli import app
from ground.errors import ParameterError, SpecError
from pricing import Contract, scheme, scheme_path, settle
from pricing.audit import read_previous, settle_files, verify
from pricing.running import SETTLED_BEFORE, PaidBefore
from tests.pricing.test_rule_money import PETERBOROUGH_STYLE, two_cohorts
from tests.pricing.test_settlement import cohort, events

runner = CliRunner()


@pytest.fixture(scope="module")
def both_missed() -> dict[str, pd.DataFrame]:
    """Doncaster's two cohorts of 1,178, each only 3.3 points below 58% (644 reconvicted): both clawed back."""
    people = pd.concat(
        [cohort("D", 1_178, "2011-10-01", "2012-09-30"), cohort("E", 1_178, "2012-10-01", "2013-09-30")],
        ignore_index=True,
    )
    flags = np.tile(np.r_[np.ones(644, int), np.zeros(1_178 - 644, int)], 2)
    return {"people": people, "offences": events(people["person_id"].to_numpy(), people["start_date"], flags)}


def test_no_cohort_is_clawed_back_twice(both_missed):
    contract = scheme("doncaster")
    interim = settle(contract, both_missed, as_of="2014-08-07")  # cohort 1 final, cohort 2 not yet
    assert interim.total_pence == -166_666_667
    alone = settle(contract, both_missed, as_of="2015-07-31")
    assert alone.total_pence == -333_333_334  # cumulative: cohort 1 again, and cohort 2
    final = settle(contract, both_missed, as_of="2015-07-31", previous=interim)
    assert final.total_pence == -166_666_667  # cohort 2 only
    assert interim.total_pence + final.total_pence == alone.total_pence
    netting = final.ledger.loc[final.ledger["kind"] == SETTLED_BEFORE]
    assert netting[["tranche", "item", "amount_pence"]].values.tolist() == [["cohort_1", "target", 166_666_667]]
    rows = final.tranches.set_index("tranche")
    assert rows.loc["cohort_1", "amount_pence"] == 0 and rows.loc["cohort_1", "settled_before_pence"] == -166_666_667
    assert final.total_pence == final.tranches["amount_pence"].sum()
    assert final.audit["previous"] == {"as_of": "2014-08-07", "sha256": "", "paid_pence": -166_666_667}
    assert "net of £-1666666.67 paid by the settlement as of 2014-08-07" in final.summary()


@pytest.mark.filterwarnings("ignore::pricing.settlement_data.UnrecordedMeasureWarning")
def test_interim_and_final_payments_of_a_pooled_contract_form_one_ledger():
    # Cohorts 10% and 12% below their comparisons: £30,000 and £24,000 early, the pooled events avoided £54,000.
    data = two_cohorts(treated=(135, 88), comparison=(1_500, 1_000))
    contract = Contract.from_mapping(PETERBOROUGH_STYLE)
    interim = settle(contract, data, as_of="2016-12-31")
    final = settle(contract, data, as_of="2017-06-30", previous=interim)
    assert interim.total_pence == 5_400_000 and final.total_pence == 0


def test_a_previous_settlement_of_another_contract_or_date_is_refused(both_missed):
    interim = settle(scheme("doncaster"), both_missed, as_of="2014-08-07")
    other = scheme("youth_justice")
    with pytest.raises(ParameterError, match="an earlier settlement of this contract"):
        settle(scheme("doncaster"), both_missed, as_of="2015-07-31",
               previous=PaidBefore(interim.as_of, other.digest, interim.ledger.iloc[:0]))  # fmt: skip
    with pytest.raises(ParameterError, match="dated before 2014-08-07"):
        settle(scheme("doncaster"), both_missed, as_of="2014-08-07", previous=interim)
    with pytest.raises(ParameterError, match="previous"):
        settle(scheme("doncaster"), both_missed, as_of="2015-07-31", previous="audit.json")


@pytest.fixture
def files(tmp_path, both_missed):
    contract = tmp_path / "doncaster.toml"
    shutil.copy(scheme_path("doncaster"), contract)
    both_missed["people"].to_csv(tmp_path / "people.csv", index=False)
    both_missed["offences"].to_csv(tmp_path / "offences.csv", index=False)
    return tmp_path, contract


def cli_settle(folder, contract, as_of: str, out: str, *extra: str):
    result = runner.invoke(
        app,
        ["settle", str(contract), "--data", f"people={folder / 'people.csv'}", "--data",
         f"offences={folder / 'offences.csv'}", "--as-of", as_of, "--out", str(folder / out), *extra],
    )  # fmt: skip
    return result


def test_desist_settle_previous_nets_the_earlier_settlement_and_verify_checks_the_chain(files):
    folder, contract = files
    assert cli_settle(folder, contract, "2014-08-07", "one").exit_code == 0
    result = cli_settle(folder, contract, "2015-07-31", "two", "--previous", str(folder / "one" / "audit.json"))
    assert result.exit_code == 0, result.output
    assert "Net of -£1,666,666.67 paid by the settlement as of 2014-08-07" in " ".join(result.output.split())
    record = json.loads((folder / "two" / "audit.json").read_text())
    assert record["previous"]["path"] == "../one/audit.json"
    assert record["figures"]["total_pence"] == -166_666_667
    assert verify(folder / "two" / "audit.json").identical
    # The API reads the same record and ledger to the same figures.
    again = settle_files(contract, {"people": folder / "people.csv", "offences": folder / "offences.csv"},
                         as_of="2015-07-31", previous=folder / "one" / "audit.json")  # fmt: skip
    assert again.figures() == record["figures"]
    # An earlier ledger changed after the fact breaks the chain, named as the previous settlement's.
    ledger = folder / "one" / "ledger.csv"
    ledger.write_text(ledger.read_text().replace("-1666666.67", "-1.00"))
    checked = runner.invoke(app, ["verify", str(folder / "two" / "audit.json")])
    assert checked.exit_code == 1 and "previous settlement" in checked.output
    assert "ledger.csv" in checked.output


def test_an_earlier_audit_changed_after_it_was_netted_breaks_the_chain(files):
    folder, contract = files
    cli_settle(folder, contract, "2014-08-07", "one")
    cli_settle(folder, contract, "2015-07-31", "two", "--previous", str(folder / "one" / "audit.json"))
    audit = folder / "one" / "audit.json"
    audit.write_text(audit.read_text().replace('"command"', '"command" ', 1))
    result = verify(folder / "two" / "audit.json")
    assert not result.identical and "its SHA-256 changed since this settlement netted it" in result.problems[0]


def test_only_a_settlement_written_whole_can_be_netted(files, tmp_path):
    folder, contract = files
    cli_settle(folder, contract, "2014-08-07", "one")
    (folder / "one" / "ledger.csv").unlink()
    with pytest.raises(SpecError, match="ledger.csv is missing or was changed"):
        read_previous(folder / "one" / "audit.json")
    result = cli_settle(folder, contract, "2015-07-31", "two", "--previous", str(folder / "one" / "audit.json"))
    assert result.exit_code == 1 and "cannot be netted" in result.output


# ------------------------------------------------------------------ a rate card's running account
RATECARD = scheme_path("doncaster").parents[2] / "examples" / "specs" / "ratecard.toml"
RATECARD_DATA = {name: RATECARD.parents[1] / "data" / f"{name}.csv" for name in ("people", "claims", "spells")}


@pytest.fixture(scope="module")
def ratecard_settled():
    """The example rate card as of 2025-03-31 (£963,040 due) and 2025-09-30 (£1,000,000: its cap binds)."""
    contract = Contract.from_toml(RATECARD)
    interim = settle(contract, RATECARD_DATA, as_of="2025-03-31")
    alone = settle(contract, RATECARD_DATA, as_of="2025-09-30")
    return contract, interim, alone


def test_a_rate_card_settled_again_pays_only_the_claims_due_since(ratecard_settled):
    contract, interim, alone = ratecard_settled
    assert (interim.total_pence, alone.total_pence) == (96_304_000, 100_000_000)
    final = settle(contract, RATECARD_DATA, as_of="2025-09-30", previous=interim)
    assert final.total_pence == 100_000_000 - 96_304_000
    # One netting row per tranche and rate-card outcome the interim paid, each minus what it paid.
    netting = final.ledger.loc[final.ledger["kind"] == SETTLED_BEFORE]
    paid = interim.ledger.groupby(["tranche", "item"], observed=True)["amount_pence"].sum()
    assert dict(zip(zip(netting["tranche"], netting["item"]), -netting["amount_pence"])) == paid[paid != 0].to_dict()
    # The tranche table's claims rows carry the netting: settled before, and what is paid now.
    rows, whole = final.tranches.set_index("tranche"), alone.tranches.set_index("tranche")
    before = interim.tranches.set_index("tranche")["amount_pence"]
    assert (rows["kind"] == "claims").all()
    assert (rows["settled_before_pence"] == before).all()
    assert (rows["amount_pence"] == whole["amount_pence"] - before).all()
    assert (rows["n_treated"] == whole["n_treated"]).all()  # the claims paid over the whole account
    assert final.tranches["amount_pence"].sum() == final.total_pence
    parties = final.parties.loc[final.parties["party"] != "commissioner", "amount_pence"].sum()
    assert parties == final.total_pence
    # The cash flow is the whole account's, by the period each payment fell due.
    assert final.cash_flow().equals(alone.cash_flow())


def test_a_rate_cards_running_account_from_the_command_line_verifies(tmp_path):
    data = [part for name, path in RATECARD_DATA.items() for part in ("--data", f"{name}={path}")]
    first = runner.invoke(
        app, ["settle", str(RATECARD), *data, "--as-of", "2025-03-31", "--out", str(tmp_path / "one")]
    )
    assert first.exit_code == 0, first.output
    args = ["settle", str(RATECARD), *data, "--as-of", "2025-09-30", "--previous", str(tmp_path / "one" / "audit.json")]
    second = runner.invoke(app, [*args, "--out", str(tmp_path / "two")])
    assert second.exit_code == 0, second.output
    assert "Net of £963,040.00 paid by the settlement as of 2025-03-31" in " ".join(second.output.split())
    record = json.loads((tmp_path / "two" / "audit.json").read_text())
    assert record["figures"]["total_pence"] == 3_696_000
    assert verify(tmp_path / "two" / "audit.json").identical


def test_a_pseudonymised_running_account_verifies_with_its_key(tmp_path):
    key = tmp_path / "settlement.key"
    key.write_bytes(b"0123456789abcdef0123456789abcdef-a-test-key")
    data = [part for name, path in RATECARD_DATA.items() for part in ("--data", f"{name}={path}")]
    shared = ["--pseudonymise", str(key)]
    runner.invoke(app, ["settle", str(RATECARD), *data, *shared, "--as-of", "2025-03-31", "--out", str(tmp_path / "a")])
    previous = ["--previous", str(tmp_path / "a" / "audit.json")]
    second = runner.invoke(
        app, ["settle", str(RATECARD), *data, *shared, *previous, "--as-of", "2025-09-30", "--out", str(tmp_path / "b")]
    )
    assert second.exit_code == 0, second.output
    checked = runner.invoke(app, ["verify", str(tmp_path / "b" / "audit.json"), *shared])
    assert checked.exit_code == 0, checked.output


def test_a_name_that_is_both_a_rule_and_a_rate_card_outcome_is_refused():
    terms = {
        "metric": {"name": "clash"},
        "reoffending": {"measure": "binary"},
        "tranches": {"t": {"start": "2024-01-01", "end": "2024-06-30", "final": "2026-06-30"}},
        "counterfactual": {"baseline": {"measure": "binary", "rate": 0.5, "period": "2009", "version": "v1"}},
        "rules": {"job": {"type": "tranche", "measure": "binary", "against": "baseline", "at_least": 0.1}},
        "claims": {"outcomes": {"job": {"price": 100}}},
    }
    with pytest.raises(SpecError, match="'job' is both 'rules.job' and 'claims.outcomes.job'") as caught:
        Contract.from_mapping(terms)
    assert caught.value.key == "claims.outcomes.job"

"""The shipped mapping examples give the same answers from the messy extracts as from the clean data.

examples/make_data.py writes each extract (examples/data/messy/) from the same people as the clean tables in
examples/data/; examples/mappings/*.toml read them back in desist's words. Proven reoffending, achievements
(the payable outcomes in a settlement's ledger), the settlement itself and linkage are compared person by
person, through the API and the command line.
"""

from __future__ import annotations

import io
import json
import runpy
import sys
from contextlib import redirect_stdout
from pathlib import Path
from unittest.mock import patch

import pandas as pd
import pytest

from cohorts.linkage import link
from cohorts.linkage_input import ADDED
from cohorts.synthetic import make_linkage_data
from ground.mapping import read_data_map
from ground.reading import read_table
from outcomes import proven_reoffending
from pricing import Contract, settle
from tests.closeness import differences
from tests.running import desist

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
DATA = EXAMPLES / "data"
MAPPINGS = EXAMPLES / "mappings"
AS_OF = "2025-09-30"
pytestmark = pytest.mark.filterwarnings("ignore::ground.tables.UnmatchedRowsWarning")


def same_settlement(clean, mapped) -> None:
    pd.testing.assert_frame_equal(clean.ledger, mapped.ledger)
    pd.testing.assert_frame_equal(clean.tranches, mapped.tranches)
    assert clean.total_pence == mapped.total_pence
    assert clean.figures() == mapped.figures()


def test_pnc_extract_gives_the_same_proven_reoffending_person_by_person():
    pnc = read_data_map(MAPPINGS / "pnc.toml")
    clean = proven_reoffending(DATA / "people.csv", DATA / "offences.csv", as_of=AS_OF)
    mapped = proven_reoffending(pnc["people"], pnc["offences"], as_of=AS_OF)
    pd.testing.assert_frame_equal(clean.per_person, mapped.per_person)
    assert mapped.per_person["reoffended"].sum() > 50  # a measure with something in it
    assert clean.to_dict() == mapped.to_dict()


def test_pnc_extract_settles_the_doncaster_contract_as_the_clean_data_do():
    contract = Contract.from_toml(EXAMPLES / "specs" / "doncaster.toml")
    clean = settle(contract, {"people": DATA / "people.csv", "offences": DATA / "offences.csv"}, as_of=AS_OF)
    same_settlement(clean, settle(contract, MAPPINGS / "pnc.toml", as_of=AS_OF))
    assert clean.tranches["amount_pence"].abs().sum() > 0


def test_pnc_extract_through_the_command_line(tmp_path):
    measured = desist("measure", "--data-map", MAPPINGS / "pnc.toml", "--as-of", AS_OF, "--json")
    clean = desist("measure", "--people", DATA / "people.csv", "--offences", DATA / "offences.csv", "--as-of", AS_OF,
                   "--json")  # fmt: skip
    assert measured.returncode == clean.returncode == 0, measured.stderr
    assert json.loads(measured.stdout)["results"] == json.loads(clean.stdout)["results"]
    spec = EXAMPLES / "specs" / "doncaster.toml"
    settled = desist("settle", spec, "--data-map", MAPPINGS / "pnc.toml", "--as-of", AS_OF, "--out", tmp_path / "s")
    assert settled.returncode == 0, settled.stderr
    verified = desist("verify", tmp_path / "s" / "audit.json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    audit = json.loads((tmp_path / "s" / "audit.json").read_text())
    assert audit["inputs"]["offences"]["path"].endswith("examples/mappings/pnc.toml")


def test_a_contract_naming_its_data_map_settles_without_data(tmp_path):
    text = (EXAMPLES / "specs" / "doncaster.toml").read_text()
    (tmp_path / "contract.toml").write_text(text + f'\n[data]\nmap = "{MAPPINGS / "pnc.toml"}"\n')
    contract = Contract.from_toml(tmp_path / "contract.toml")
    assert contract.data_map == str(MAPPINGS / "pnc.toml")
    mapped = settle(contract, as_of=AS_OF)
    clean = settle(contract, {"people": DATA / "people.csv", "offences": DATA / "offences.csv"}, as_of=AS_OF)
    same_settlement(clean, mapped)
    proc = desist("settle", tmp_path / "contract.toml", "--as-of", AS_OF, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["results"]["figures"] == clean.figures()


def star_clean() -> dict[str, pd.DataFrame]:
    """The clean tables of the three providers the Outcomes Star export holds."""
    people = read_table(DATA / "people.csv", "people", as_of=AS_OF)
    people = people[people["provider_id"].isin(["PRV01", "PRV03", "PRV08"])].reset_index(drop=True)
    assessments = read_table(DATA / "assessments.csv", "assessments", as_of=AS_OF)
    return {"people": people, "assessments": assessments[assessments["person_id"].isin(people["person_id"])]}


def test_outcomes_star_export_gives_the_same_achievements_and_settlement_person_by_person():
    contract = Contract.from_toml(EXAMPLES / "specs" / "intermediate.toml")
    clean = settle(contract, star_clean(), as_of=AS_OF)
    mapped = settle(contract, MAPPINGS / "star.toml", as_of=AS_OF)
    same_settlement(clean, mapped)
    paid = mapped.ledger[mapped.ledger["kind"] == "tariff"]
    assert paid["person_id"].nunique() > 30  # achievements of many people, each paid as in the clean data


def test_jdl_cohort_without_pnc_ids_links_as_the_clean_cohort_does():
    truth = make_linkage_data(seed=2025, n_people=5_000, n_cohort=400)
    jdl = read_data_map(MAPPINGS / "jdl.toml")
    clean = link(truth.cohort, DATA / "messy" / "jdl" / "people.csv", outcome="reoffended", sample_pairs=200_000)
    mapped = link(jdl["cohort"], jdl["people"], outcome="reoffended", sample_pairs=200_000)
    # The cohort's own columns come back as each was given (the clean dates as datetime64[us]); the links are equal.
    pd.testing.assert_frame_equal(clean.links[list(ADDED)], mapped.links[list(ADDED)])
    # The summaries equal to 1e-12 of each figure: DuckDB adds the pair probabilities in no fixed order.
    assert differences(mapped.to_dict(), clean.to_dict(), rel=1e-12, abs=1e-15) == []
    right = mapped.links["linked"] & (mapped.links["person_id"] == truth.cohort.index.map(truth.truth))
    assert right.sum() / mapped.links["linked"].sum() > 0.95  # precision against the truth


def test_the_mapped_example_runs_each_shape(tmp_path):
    printed = io.StringIO()
    with patch.object(sys, "argv", [str(EXAMPLES / "mapped.py"), "--out", str(tmp_path)]), redirect_stdout(printed):
        runpy.run_path(str(EXAMPLES / "mapped.py"), run_name="__main__")
    text = printed.getvalue()
    assert "person by person as on the clean files: yes" in text
    assert "Doncaster-style settlement: -£100,000.00" in text and "327 payable outcomes for 151 people" in text
    assert "360 of 400 linked (90.0%)" in text
    draft = (tmp_path / "pnc_draft.toml").read_text()
    assert 'no_further_action = ["NFA", "nfa"]' in draft
    assert (tmp_path / "pnc_ledger.csv").exists() and (tmp_path / "star_ledger.csv").exists()


def test_link_reads_the_jdl_cohort_through_its_mapping_from_the_command_line():
    proc = desist("link", "--data-map", MAPPINGS / "jdl.toml", "--outcome", "reoffended", "--sample-pairs", 200_000,
                  "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["results"]["counts"]["linked"] == 360
    missing = desist("link", "--outcome", "reoffended")
    assert missing.returncode == 2 and "give COHORT, or --data-map FILE with a [cohort] table" in " ".join(
        missing.stderr.split()
    )

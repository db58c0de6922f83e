"""desist inspect and ground.profile: what files hold before anything is computed, and a draft mapping.

The profile of the shipped PNC-style extract is checked against counts made here with pandas on the same
files; the draft mapping it writes, once saved, measures proven reoffending exactly as the clean data do.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from ground.profile import profile
from tests.running import desist

ROOT = Path(__file__).resolve().parents[2]
PNC = ROOT / "examples" / "data" / "messy" / "pnc"
QUARTERS = sorted(PNC.glob("pnc_offences_Q*.csv"))
pytestmark = pytest.mark.filterwarnings("ignore::ground.tables.UnmatchedRowsWarning")


@pytest.fixture(scope="module")
def pnc():
    return profile([PNC / "cohort.csv", *QUARTERS])


def test_files_with_the_same_columns_are_one_table_and_each_is_guessed(pnc):
    assert [t.table for t in pnc.tables] == ["people", "offences"]
    assert pnc.tables[1].files == [str(q) for q in QUARTERS]
    assert pnc.tables[1].rows == sum(len(pd.read_csv(q)) for q in QUARTERS)


def test_columns_dates_and_codes_are_counted(pnc):
    offences = pd.concat([pd.read_csv(q, dtype=str) for q in QUARTERS], ignore_index=True)
    table = pnc.tables[1]
    outcome = table.column("disposal")
    assert outcome.name == "Outcome" and outcome.codes == offences["Outcome"].value_counts().to_dict()
    date = table.column("offence_date")
    assert date.kind == "date" and date.formats == ["%d/%m/%Y"] and not date.ambiguous
    days = pd.to_datetime(offences["Offence Date"], format="%d/%m/%Y")
    assert date.date_range == (f"{days.min():%Y-%m-%d}", f"{days.max():%Y-%m-%d}")
    assert table.column("person_id").distinct == offences["PNC_ID"].nunique()


def test_ids_that_link_and_do_not(pnc, tmp_path):
    # The shipped offences are all the cohort's; a stray extract adds two people the cohort does not hold.
    people = set(pd.read_csv(PNC / "cohort.csv", dtype=str)["PNC_ID"])
    ids = pd.concat([pd.read_csv(q, dtype=str)["PNC_ID"] for q in QUARTERS])
    (link,) = pnc.links
    assert (link["linked"], link["not_linked"], link["examples"]) == (len(ids), 0, [])
    stray = pd.read_csv(QUARTERS[0], dtype=str).head(3).assign(PNC_ID=["XX000001", "XX000002", "XX000001"])
    stray.to_csv(tmp_path / "pnc_offences_stray.csv", index=False)
    (link,) = profile([PNC / "cohort.csv", *QUARTERS, tmp_path / "pnc_offences_stray.csv"]).links
    assert (link["linked"], link["not_linked"]) == (len(ids), 3)
    assert set(link["examples"]) == {"XX000001", "XX000002"} and not people & set(link["examples"])


def test_ambiguous_dates_repeated_rows_and_ids_are_flagged(tmp_path):
    (tmp_path / "people.csv").write_text(
        "Client Ref,Start Date\nA1,01/02/2024\nA1,03/04/2024\nB2,05/06/2024\nB2,05/06/2024\n"
    )
    (table,) = profile([tmp_path / "people.csv"]).tables
    start = table.column("start_date")
    assert start.formats == ["%d/%m/%Y", "%m/%d/%Y"] and start.ambiguous
    assert table.repeated_rows == 1 and table.column("person_id").repeated == 2
    proc = desist("inspect", tmp_path / "people.csv")
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    assert "ambiguous dates: every value fits %d/%m/%Y and %m/%d/%Y" in text
    assert '# date_format = "%d/%m/%Y" # AMBIGUOUS' in text  # written down for the user to decide, never used
    assert "2 ids are given more than once" in text and "1 rows repeat another row in full" in text


def test_the_draft_once_saved_measures_as_the_clean_data_do(tmp_path):
    proc = desist("inspect", PNC / "cohort.csv", *QUARTERS, "--out", tmp_path / "mapping", "--json")
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    draft = (tmp_path / "mapping" / "data.toml").read_text()
    assert document["results"]["draft"] == draft and set(tomllib.loads(draft)) == {"people", "offences"}
    assert 'no_further_action = ["NFA", "nfa"]' in draft and 'conviction = ["CONV", "Convicted"]' in draft
    mapped = desist("measure", "--data-map", tmp_path / "mapping" / "data.toml", "--as-of", "2025-09-30", "--json")
    data = ROOT / "examples" / "data"
    clean = desist("measure", "--people", data / "people.csv", "--offences", data / "offences.csv", "--as-of",
                   "2025-09-30", "--json")  # fmt: skip
    assert mapped.returncode == 0, mapped.stderr
    assert json.loads(mapped.stdout)["results"] == json.loads(clean.stdout)["results"]

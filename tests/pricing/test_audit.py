"""Audit records that prove a settlement's outputs, and verify (issue 23).

``desist settle --out`` writes settlement.json, ledger.csv (and settlement.xlsx),
then audit.json with the SHA-256 of each, paths relative to the audit file;
manifest.json holds audit.json's hash. Each forgery of an output or of the audit
record is caught and named, through the terminal and through ``pricing.verify``
alike; a record that is not one desist wrote is one message.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from ground.errors import SpecError
from pricing import verify
from pricing.audit import settle_files
from tests.running import ROOT, desist, one_message

DATA = ROOT / "examples" / "data"
AS_OF = "2025-09-30"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A user's project folder: a contract and its data, settled into project/settled with a workbook."""
    root = tmp_path_factory.mktemp("audit") / "project"
    (root / "data").mkdir(parents=True)
    people = pd.read_csv(DATA / "people.csv", dtype=str).head(300)
    people.to_csv(root / "data" / "people.csv", index=False)
    for name in ("offences", "assessments"):
        table = pd.read_csv(DATA / f"{name}.csv", dtype=str)
        table[table["person_id"].isin(people["person_id"])].to_csv(root / "data" / f"{name}.csv", index=False)
    for name in ("doncaster", "intermediate"):
        shutil.copy(ROOT / "examples" / "specs" / f"{name}.toml", root / f"{name}.toml")
    for name, tables in (("settled", ("people", "offences")), ("tariff", ("people", "assessments"))):
        contract = "doncaster.toml" if name == "settled" else "intermediate.toml"
        data = [a for t in tables for a in ("--data", f"{t}=data/{t}.csv")]
        run = desist("settle", contract, *data, "--as-of", AS_OF, "--out", name, "--xlsx", cwd=root)
        assert run.returncode == 0, run.stderr
    return root


@pytest.fixture
def copy(project, tmp_path) -> Path:
    """A fresh copy of the project, to forge."""
    shutil.copytree(project, tmp_path / "project")
    return tmp_path / "project"


def check(folder: Path, *parts: str, cwd: Path | None = None) -> None:
    """verify fails naming every part, at the terminal and in Python."""
    run = desist("verify", folder / "audit.json", cwd=cwd or folder.parent)
    assert run.returncode == 1, run.stdout + run.stderr
    result = verify(folder / "audit.json")
    assert not result.identical
    for part in parts:
        assert part in run.stdout and any(part in p for p in result.problems), (part, run.stdout, result.problems)


def test_the_record_holds_every_output_hash_and_relative_paths(project):
    audit = json.loads((project / "settled" / "audit.json").read_text())
    assert set(audit["outputs"]) == {"settlement.json", "ledger.csv", "settlement.xlsx"}
    assert (
        audit["inputs"]["people"]["path"] == "../data/people.csv" and audit["contract"]["path"] == "../doncaster.toml"
    )
    manifest = json.loads((project / "settled" / "manifest.json").read_text())
    listed = {f["name"]: f["sha256"] for f in manifest["files"]}
    assert manifest["written_by"] == "desist" and listed["audit.json"] == verify.__globals__["file_sha256"](
        project / "settled" / "audit.json"
    )
    settlement = json.loads((project / "settled" / "settlement.json").read_text())
    assert settlement["audit"]["inputs"] == audit["inputs"] and "outputs" not in settlement["audit"]


def test_verify_works_from_any_folder_and_with_the_project_moved(project, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = desist("verify", project / "settled" / "audit.json", cwd=elsewhere)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("Verified: audit.json, every input, every figure and every output file")
    moved = tmp_path / "moved"
    shutil.copytree(project, moved)
    assert desist("verify", "settled/audit.json", cwd=moved).returncode == 0
    assert verify(moved / "tariff" / "audit.json").identical


def test_a_forged_settlement_json_names_the_figure(copy):
    path = copy / "settled" / "settlement.json"
    path.write_text(path.read_text().replace('"amount_pence": -5000000', '"amount_pence": 5000000'))
    check(
        copy / "settled",
        "settlement.json tranches row 1 (h1_2023, target) amount_pence: £50,000.00 but the contract gives -£50,000.00",
    )


def test_a_forged_ledger_names_the_row_as_counted_in_the_file(copy):
    path = copy / "tariff" / "ledger.csv"
    lines = path.read_text().splitlines()
    amount = lines[17].rsplit(",", 1)[1]  # data row 17, header not counted
    lines[17] = lines[17].rsplit(",", 1)[0] + ",50000.00"
    path.write_text("\n".join(lines) + "\n")
    shown = f"£{float(amount):,.2f}"
    check(copy / "tariff", f"ledger.csv row 17: paid £50,000.00 but the contract gives {shown}")
    doncaster = copy / "settled" / "ledger.csv"
    doncaster.write_text(doncaster.read_text().replace("-50000.00", "50000.00", 1))
    check(copy / "settled", "ledger.csv row 1: paid £50,000.00 but the contract gives -£50,000.00")


def test_a_ledger_changed_only_in_its_bytes_is_not_verified(copy):
    path = copy / "settled" / "ledger.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    check(copy / "settled", "ledger.csv differs from the settlement's in its bytes only")


def test_an_edited_workbook_is_caught_by_its_hash(copy):
    path = copy / "settled" / "settlement.xlsx"
    path.write_bytes(path.read_bytes() + b"\0")
    check(copy / "settled", "settlement.xlsx was changed after it was written")


@pytest.mark.parametrize("field", ["input_hash", "as_of", "figure"])
def test_an_edited_audit_record_is_named_as_such_not_blamed_on_an_input(copy, field):
    path = copy / "settled" / "audit.json"
    audit = json.loads(path.read_text())
    if field == "input_hash":
        audit["inputs"]["people"]["sha256"] = "0" * 64
    elif field == "as_of":
        audit["as_of"] = "2025-06-30"
    else:
        audit["figures"]["total_pence"] += 1
    path.write_text(json.dumps(audit, indent=2))
    check(copy / "settled", "audit.json was changed after it was written")
    assert "people" not in desist("verify", path).stdout


def test_a_changed_input_is_named_and_the_settlement_not_replayed(copy):
    people = copy / "data" / "people.csv"
    people.write_bytes(people.read_bytes() + b"\n")
    check(copy / "settled", f"people ({people}): its SHA-256 changed since the settlement")


def test_a_missing_manifest_means_nothing_is_verified(copy):
    (copy / "settled" / "manifest.json").unlink()
    check(copy / "settled", "manifest.json is missing or unreadable")


def test_a_moved_figure_is_named_when_the_record_is_given_in_python(project, monkeypatch):
    monkeypatch.chdir(project)
    record = settle_files("doncaster.toml", {"people": "data/people.csv", "offences": "data/offences.csv"},
                          as_of=AS_OF).audit  # fmt: skip
    assert verify(record).identical
    record["figures"]["total_pence"] += 1
    result = verify(record)
    assert not result.identical and result.problems[0].startswith("figure 'total_pence' moved: recorded -9999999")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"contract":"x","inputs":{},"as_of":"2025-09-30","figures":{}}', "the 'contract' key must be a table"),
        ("not json", "not a readable audit record"),
        ("[1, 2]", "it must be a JSON object"),
        (
            '{"contract":{},"inputs":{},"figures":{},"as_of":"30/09/25","command":"","desist_version":"0.1.0"}',
            "the 'as_of' key must be a date written YYYY-MM-DD. Got '30/09/25' instead",
        ),
    ],
    ids=["issue_example", "not_json", "a_list", "bad_fields"],
)
def test_a_malformed_audit_is_one_message(tmp_path, text, words):
    path = tmp_path / "audit.json"
    path.write_text(text)
    run = desist("verify", path)
    assert run.returncode == 1
    one_message(run.stderr, "audit.json: not a", words)
    with pytest.raises(SpecError, match=words.replace("(", r"\(")):
        verify(path)


def test_every_key_of_a_record_is_checked(project):
    record = json.loads((project / "settled" / "audit.json").read_text())
    for key, value, words in [
        ("inputs", {"persons": record["inputs"]["people"]}, "'inputs' key must be a table of input files"),
        ("inputs", {"people": {"path": "p.csv", "sha256": "xyz"}}, "'inputs.people' key must be a table with a"),
        ("outputs", {"../ledger.csv": "0" * 64}, "'outputs.../ledger.csv' key must be a file name"),
        ("command", 3, "'command' key must be text"),
    ]:
        with pytest.raises(SpecError, match=words):
            verify({**record, key: value})


def test_a_declared_date_format_is_recorded_and_verify_reads_the_inputs_with_it(tmp_path):
    people = pd.read_csv(DATA / "people.csv", dtype=str).head(300)
    people["start_date"] = pd.to_datetime(people["start_date"]).dt.strftime("%d/%m/%Y")
    people.to_csv(tmp_path / "people.csv", index=False)
    offences = pd.read_csv(DATA / "offences.csv", dtype=str)
    offences[offences["person_id"].isin(people["person_id"])].to_csv(tmp_path / "offences.csv", index=False)
    shutil.copy(ROOT / "examples" / "specs" / "doncaster.toml", tmp_path / "doncaster.toml")
    run = desist("--date-format", "%d/%m/%Y", "settle", "doncaster.toml", "--data", "people=people.csv", "--data",
                 "offences=offences.csv", "--as-of", AS_OF, "--out", "settled", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads((tmp_path / "settled" / "audit.json").read_text())["date_format"] == "%d/%m/%Y"
    assert desist("verify", tmp_path / "settled" / "audit.json", cwd=ROOT).returncode == 0
    record = json.loads((tmp_path / "settled" / "audit.json").read_text())
    with pytest.raises(SpecError, match="the 'date_format' key must be null or a date format with a four-digit year"):
        verify({**record, "date_format": "%d/%m/%y"})

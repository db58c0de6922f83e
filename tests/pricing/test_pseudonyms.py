"""Pseudonymised outputs: every person identifier replaced by a keyed hash, the key never written, verify
with the same key.

HMAC-SHA256 is checked against RFC 4231's test case 2; the settlement's outputs (ledger.csv,
settlement.json, audit.json, settlement.xlsx) are searched for every identifier of the input and for the
key, and the pseudonymised ledger is the plain one with each person's id replaced, row by row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import zipfile
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from ground.errors import ParameterError
from ground.pseudonyms import pseudonyms, read_key
from pricing.publishing import pseudonymise
from pricing.settlement import Settlement
from tests.running import desist

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data"
SPEC = ROOT / "examples" / "specs" / "intermediate.toml"
AS_OF = "2025-09-30"
KEY = b"0123456789abcdef0123456789abcdef-a-test-key"
pytestmark = pytest.mark.filterwarnings("ignore::ground.tables.UnmatchedRowsWarning")


def test_the_pseudonym_is_hmac_sha256_as_rfc_4231_gives_it():
    # RFC 4231 section 4.3, test case 2: key "Jefe", data "what do ya want for nothing?".
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert pseudonyms(pd.Series(["what do ya want for nothing?"]), b"Jefe").tolist() == ["p-" + expected[:20]]


def test_a_short_or_missing_key_is_refused(tmp_path):
    (tmp_path / "short.key").write_bytes(b"too short\n")
    with pytest.raises(ParameterError, match="must be a key file of at least 32 random bytes.*holds 9. Make one"):
        read_key(tmp_path / "short.key")
    with pytest.raises(ParameterError, match="must be a key file that exists and can be read"):
        read_key(tmp_path / "none.key")


def test_small_counts_are_suppressed_and_amounts_kept():
    tranches = pd.DataFrame(
        {"tranche": ["a", "b", "b"], "kind": ["rule", "rule", "tariff"], "n_treated": [5.0, 200.0, 3.0],
         "estimate": [0.4, 0.3, float("nan")], "ci_low": [0.1, 0.2, float("nan")], "ci_high": [0.7, 0.4, float("nan")],
         "amount_pence": [0, 1000, 500]}
    )  # fmt: skip
    ledger = pd.DataFrame({"tranche": ["b", "b"], "person_id": ["007", ""], "amount_pence": [500, 1000]})
    exclusions = pd.DataFrame({"step": ["x", "y"], "reason": ["r", "s"], "n": [3, 50]})
    parties = pd.DataFrame({"party": ["provider"], "amount_pence": [1500]})
    plain = Settlement("c", date(2025, 9, 30), tranches, parties, ledger, exclusions)
    shared = pseudonymise(plain, KEY)
    assert shared.exclusions["n"].tolist() == [None, 50]
    assert shared.tranches["n_treated"].isna().tolist() == [True, False, False]  # a tariff's count is outcomes
    assert shared.tranches["estimate"].isna().tolist() == [True, False, True]
    assert shared.ledger["amount_pence"].tolist() == [500, 1000] and shared.ledger["person_id"].iloc[1] == ""
    assert shared.audit["pseudonyms"]["method"] == "HMAC-SHA256"


@pytest.fixture(scope="module")
def settled(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pseudonymised")
    (folder / "settlement.key").write_bytes(KEY)
    data = ["--data", f"people={DATA / 'people.csv'}", "--data", f"assessments={DATA / 'assessments.csv'}"]
    plain = desist("settle", SPEC, *data, "--as-of", AS_OF, "--out", folder / "plain")
    shared = desist("settle", SPEC, *data, "--as-of", AS_OF, "--out", folder / "shared", "--xlsx", "--pseudonymise",
                    folder / "settlement.key")  # fmt: skip
    assert plain.returncode == shared.returncode == 0, shared.stderr
    return folder


def test_no_identifier_and_not_the_key_reach_an_output(settled):
    ids = set(pd.read_csv(DATA / "people.csv", dtype=str)["person_id"])
    for path in (settled / "shared").iterdir():
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                text = " ".join(book.read(n).decode("utf-8", "replace") for n in book.namelist())
        else:
            text = path.read_text(encoding="utf-8")
        assert not [i for i in ids if i in text], path.name
        assert KEY.decode() not in text, path.name  # the key file's name may be (manifest.json lists the options)


def test_the_ledger_is_the_plain_one_person_by_person(settled):
    plain = pd.read_csv(settled / "plain" / "ledger.csv", dtype=str, keep_default_na=False)
    shared = pd.read_csv(settled / "shared" / "ledger.csv", dtype=str, keep_default_na=False)
    named = {i: "p-" + hmac.new(KEY, i.encode(), hashlib.sha256).hexdigest()[:20] for i in plain["person_id"] if i}
    pd.testing.assert_frame_equal(shared, plain.assign(person_id=plain["person_id"].map(named).fillna("")))
    figures = [json.loads((settled / f / "settlement.json").read_text())["total"] for f in ("plain", "shared")]
    assert figures[0] == figures[1] and len(named) > 100


def test_verify_needs_the_same_key(settled, tmp_path):
    audit = settled / "shared" / "audit.json"
    same = desist("verify", audit, "--pseudonymise", settled / "settlement.key")
    assert same.returncode == 0, same.stdout + same.stderr
    without = desist("verify", audit)
    assert without.returncode == 1 and "verify it with the same key" in without.stdout
    (tmp_path / "other.key").write_bytes(KEY[::-1])
    other = desist("verify", audit, "--pseudonymise", tmp_path / "other.key")
    assert other.returncode == 1 and "not the one this settlement was pseudonymised with" in other.stdout


def test_the_report_workbook_carries_pseudonyms_only(tmp_path):
    """desist report --pseudonymise: the appraisal's settlement (its claims ledger) goes out under pseudonyms."""
    from desist.commands.report import shared
    from desist.workbook import story_workbook
    from tests.appraisal.test_appraisal import built_appraisal

    story = built_appraisal()
    assert story.settlement is not None
    ids = set(story.settlement.ledger["person_id"]) - {""}
    story_workbook(shared(story, KEY), tmp_path / "report.xlsx")
    with zipfile.ZipFile(tmp_path / "report.xlsx") as book:
        workbook = " ".join(book.read(n).decode("utf-8", "replace") for n in book.namelist())
    assert len(ids) > 100 and not [i for i in ids if f">{i}<" in workbook]
    assert all(p in workbook for p in pseudonyms(pd.Series(sorted(ids)), KEY))
    assert shared(story, None) is story

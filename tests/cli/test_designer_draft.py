"""The designer's draft contract: edits keep the file's comments and order, and are checked as the file is read."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from appraisal.designer import answer, changes, file_data
from desist.designer.draft import Draft, checked
from ground.errors import ParameterError, SpecError
from pricing.contract import Contract

ROOT = Path(__file__).resolve().parents[2]
INTERMEDIATE = ROOT / "examples" / "specs" / "intermediate.toml"
DONCASTER = ROOT / "examples" / "specs" / "doncaster.toml"


def _draft(path: Path) -> Draft:
    return Draft(path.read_text(), str(path), path.parent)


def _term(draft: Draft, key: str):
    return next(t for t in draft.terms if t.key == key)


def test_unchanged_values_give_the_file_back_byte_for_byte():
    for path in (INTERMEDIATE, DONCASTER, ROOT / "examples" / "specs" / "peterborough.toml"):
        draft = _draft(path)
        assert draft.text(draft.values()) == path.read_text()


def test_a_segment_price_on_a_single_price_makes_it_a_table_and_an_empty_box_removes_it():
    draft = _draft(INTERMEDIATE)
    values = draft.values()
    values[_term(draft, "payment.prices.ete.women").id] = 550
    text = draft.text(values)
    assert "ete = {default = 400, women = 550}" in text
    assert text.splitlines()[0] == INTERMEDIATE.read_text().splitlines()[0]
    prices = draft.contract(text).prices
    assert prices["ete"] == {"default": 400, "women": 550}
    values[_term(draft, "payment.prices.accommodation.women").id] = None
    assert draft.contract(draft.text(values)).prices["accommodation"] == {"default": 500, "complex_needs": 700}


def _refused_as_the_file(draft: Draft, key: str, value: object, folder: Path) -> str:
    """The page's message for a value, having checked it is the one the file with that value gets."""
    text = draft.text(draft.values() | {_term(draft, key).id: value})
    saved = folder / "intermediate.toml"
    saved.write_text(text)
    with pytest.raises(SpecError) as from_file:
        Contract.from_toml(saved)
    with pytest.raises(SpecError) as from_page:
        draft.contract(text)
    assert str(from_page.value).replace(str(INTERMEDIATE), "F") == str(from_file.value).replace(str(saved), "F")
    return str(from_page.value)


def test_a_value_the_file_refuses_gets_the_files_message(tmp_path):
    shown = _refused_as_the_file(_draft(INTERMEDIATE), "payment.up_front_share", 1.5, tmp_path)
    assert "payment.up_front_share" in shown


def test_the_page_sends_values_never_text_to_run():
    draft = _draft(DONCASTER)
    with pytest.raises(ParameterError, match="rules.target.at_least"):
        checked(_term(draft, "rules.target.at_least"), "__import__('os')")
    with pytest.raises(ParameterError, match="rules.target.decide_on"):
        checked(_term(draft, "rules.target.decide_on"), "anything")
    with pytest.raises(ParameterError, match="tranches.h1_2023.start"):
        checked(_term(draft, "tranches.h1_2023.start"), "01/02/2023")
    assert checked(_term(draft, "tranches.h1_2023.start"), "2023-02-01").isoformat() == "2023-02-01"


def test_changes_name_the_edited_term_and_what_it_did():
    draft = _draft(INTERMEDIATE)
    data = file_data({"history": pd.read_csv(ROOT / "examples" / "data" / "history.csv")}, "history.csv")
    before = answer(draft.loaded, data, draws=100, gaming_draws=100)
    values = draft.values() | {_term(draft, "payment.prices.accommodation.complex_needs").id: 1500}
    after = answer(draft.contract(draft.text(values)), data, draws=100, gaming_draws=100)
    rows = {r["what"]: r for r in changes(before, after)}
    assert rows["payment.prices.accommodation.complex_needs"] == {
        "what": "payment.prices.accommodation.complex_needs", "before": "700", "after": "1500", "kind": "term",
    }  # fmt: skip
    gap = "Creaming gap (margin per person, easiest minus hardest)"
    assert rows[gap]["kind"] == "answer" and rows[gap]["before"] != rows[gap]["after"]
    assert after.spend.mean > before.spend.mean
    assert changes(before, before) == []


def test_a_rule_typed_on_the_page_is_read_by_the_files_rule_grammar_and_a_hostile_one_is_refused(tmp_path):
    draft = _draft(INTERMEDIATE)
    where = _term(draft, "segments.young_adults.where")
    marker = tmp_path / "ran"
    hostile = f"__import__('os').system('touch {marker}')"
    shown = _refused_as_the_file(draft, where.key, hostile, tmp_path)
    assert "segments.young_adults.where" in shown and "not allowed in a rule" in shown
    assert not marker.exists()
    narrower = draft.contract(draft.text(draft.values() | {where.id: "age <= 21"}))
    assert narrower.spec.segments["young_adults"].where == "age <= 21"
    payable = _term(draft, "outcomes.ete.payable")
    paid = draft.contract(draft.text(draft.values() | {payable.id: "age >= 18"}))
    assert paid.spec.outcomes["ete"].payable == "age >= 18"
    assert draft.contract(draft.text(draft.values() | {payable.id: "  "})).spec.outcomes["ete"].payable is None
    with pytest.raises(ParameterError, match="segments.young_adults.where"):
        checked(where, 21)


def test_the_programmes_tables_come_together_or_the_command_says_which_is_missing():
    data = ROOT / "examples" / "data"
    command = [sys.executable, "-m", "desist.cli", "design", str(INTERMEDIATE), "--history", str(data / "history.csv")]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command += ["--data", f"people={data / 'people.csv'}", "--no-browser", "--port", str(port)]
    # A subprocess with a time limit: a command that did not refuse would serve the page until stopped.
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    # Exit 1, as desist check's --data refuses a table it cannot read.
    assert done.returncode == 1, done.stderr
    assert "people, offences and pool together" in done.stderr and "Got no offences, no pool." in done.stderr

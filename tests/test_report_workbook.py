"""The Excel workbook: opened with openpyxl, it holds the same numbers as the JSON output, formatted for reading."""

from __future__ import annotations

import json
import re

import numpy as np
import openpyxl
import pandas as pd
import pytest

from desist.commands.common import jsonable
from desist.format import COLUMNS, EXCEL_FORMATS, Column, Table, humanise
from desist.tables import TARIFF_NAMES, segment_names
from desist.workbook import Sheet, simulation_sheets, story_workbook, tariff_sheets, write_workbook
from ground.errors import ParameterError
from tests.test_story import built_story

SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")


def _json(data: dict) -> dict:
    """What ``--json`` prints: the same conversion the commands use."""
    return json.loads(json.dumps(jsonable(data)))


def _records(ws) -> list[dict]:
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], row)) for row in rows[1:]]


@pytest.fixture(scope="module")
def story():
    return built_story()


@pytest.fixture(scope="module")
def book(story, tmp_path_factory):
    path = story_workbook(story, tmp_path_factory.mktemp("wb") / "story.xlsx")
    return openpyxl.load_workbook(path)


def test_the_workbook_says_what_each_sheet_holds(book):
    contents = book["Contents"]
    assert book.sheetnames[0] == "Contents"
    rows = list(contents.iter_rows(values_only=True))
    header = next(i for i, r in enumerate(rows) if r[:3] == ("Sheet", "What it holds", "Rows"))
    listed = {r[0]: r for r in rows[header + 1 :] if r[0]}
    assert set(listed) == set(book.sheetnames[1:])
    for name, (_, about, n) in listed.items():
        assert about and n == book[name].max_row - 1, name
        assert contents.cell(row=header + 2 + list(listed).index(name), column=1).hyperlink.location == f"'{name}'!A1"
    for name in ("Tariffs", "Margins", "Cash flow", "Findings", "Verdict", "Spend", "Providers", "Parties"):
        assert name in book.sheetnames, name


def test_every_sheet_has_frozen_headers_in_words_and_formatted_numbers(book):
    formats = set(EXCEL_FORMATS.values())
    for ws in book.worksheets[1:]:
        assert ws.freeze_panes == "B2", ws.title
        headers = [c.value for c in ws[1]]
        assert all(isinstance(h, str) and not SNAKE.search(h) for h in headers), (ws.title, headers)
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                    assert cell.number_format in formats, (ws.title, cell.coordinate, cell.number_format)
                assert cell.value not in (True, False) or isinstance(cell.value, int)


def test_the_answers_are_the_json_answers(story, book):
    answers = _json(story.to_dict())["answers"]
    verdicts = _records(book["Verdict"])
    for row, got in zip(verdicts, answers["evaluation"].values()):
        assert row["Verdict"] == got["sentence"]
        assert row["Programme group, per 100 people"] == pytest.approx(got["treated"], rel=1e-12)
        assert row["Difference per 100, 95% CI from"] == pytest.approx(got["low"], rel=1e-12)
        assert row["p-value"] == pytest.approx(got["p_value"], rel=1e-12)
    spend = _records(book["Spend"])[0]
    assert spend["Budget"] == pytest.approx(answers["contract"]["budget"], rel=1e-12)
    assert spend["Expected spend"] == pytest.approx(answers["contract"]["mean"], rel=1e-12)
    assert spend["Spend, 95th percentile"] == pytest.approx(answers["contract"]["q95"], rel=1e-12)
    prime = _records(book["Providers"])[0]
    assert prime["Margin, mean"] == pytest.approx(answers["provider"]["prime"]["margin"], rel=1e-12)
    assert prime["Chance of a loss"] == pytest.approx(answers["provider"]["prime"]["loss_chance"], abs=1e-15)
    findings = _records(book["Findings"])
    assert sorted(r["What it means"] for r in findings) == sorted(
        f["message"] for f in _json(story.to_dict())["findings"]
    )
    assert findings[0]["Severity"] == "Must fix"


def test_the_evidence_is_the_json_evidence(story, book):
    data = _json(story.to_dict())
    effects = _records(book["Effects"])
    for row, (kind, got) in zip(effects, data["effects"].items()):
        assert row["Estimate"] == pytest.approx(got["estimate"], rel=1e-12), kind
        assert (row["Estimate: 95% CI from"], row["Estimate: 95% CI to"]) == pytest.approx(
            (got["ci_low"], got["ci_high"]), rel=1e-12
        )
        assert row["Programme group"] == got["n_treated"]
    rules = _records(book["Payment rules"])
    expected = [r for measure in ("frequency", "binary") for r in data["thresholds"][measure]["results"]]
    assert [r["Rule"] for r in rules] == [r["rule"] for r in expected]
    for row, got in zip(rules, expected):
        assert row["Chance it pays when nothing changed"] == pytest.approx(got["false_payment"], rel=1e-12)
        assert row["Pays"] == ("yes" if got["met"] else "no")
    outcomes = _records(book["Outcomes"])
    for row, got in zip(outcomes, data["outcome_rates"]):
        assert row["Achieved"] == pytest.approx(got["rate"], rel=1e-12) and row["People measured"] == got["n"]


def test_tariffs_margins_and_cash_flow_are_the_json_ones(story, book):
    data = _json(story.to_dict())
    margins = _records(book["Margins"])
    names = segment_names(story.inputs.spec)
    for got in data["tariffs"]["spec"]["segments"]:
        row = next(r for r in margins if r["Tariff"] == "The spec's prices" and r["Segment"] == names[got["segment"]])
        assert row["Margin per person"] == pytest.approx(got["margin_per_person"], rel=1e-12)
        assert row["Margin per person: 95% CI from"] == pytest.approx(got["ci_low"], rel=1e-12)
        assert row["People"] == got["n"]
    parties = {r["Party"]: r for r in _records(book["Parties"])}
    for party, got in data["simulation"]["parties"].items():
        row = parties[party.capitalize()]
        assert row["Net cash, mean"] == pytest.approx(got["net_mean"], rel=1e-12)
        # The commissioner's "chance of a loss" (one half by construction) is not shown.
        assert row["Chance of a loss"] == (None if party == "commissioner" else pytest.approx(got["p_loss"]))
    flows = _records(book["Cash flow"])
    assert len(flows) == len(story.simulation.to_frame())
    pounds = np.array([v for r in flows for k, v in r.items() if k not in ("Party", "Monthly or cumulative", "Month")])
    assert not ((pounds != 0) & (np.abs(pounds) < 1e-6)).any(), "float noise of a zero written as a number"


def test_the_price_commands_workbook_matches_its_json(story, tmp_path):
    """``desist price --json`` prints ``{"spec": ..., **TariffComparison.to_dict()}``."""
    comparison = story.tariffs
    got = _json({"spec": story.inputs.spec.name, **comparison.to_dict()})
    book = openpyxl.load_workbook(write_workbook(tmp_path / "price.xlsx", tariff_sheets(comparison)))
    prices = _records(book["Tariffs"])
    assert len(prices) == sum(len(t["prices"]) * len(next(iter(t["prices"].values()))) for t in got["tariffs"].values())
    for name, tariff in got["tariffs"].items():
        for outcome, by_segment in tariff["prices"].items():
            for segment, price in by_segment.items():
                row = next(
                    r
                    for r in prices
                    if r["Tariff"] == TARIFF_NAMES[name]
                    and r["Outcome"] == humanise(outcome)
                    and r["Segment"] == humanise(segment)
                )
                assert row["Price"] == pytest.approx(price, rel=1e-12)
    gaps = _records(book["Creaming gaps"])
    for row, (name, tariff) in zip(gaps, got["tariffs"].items()):
        assert row["Creaming gap per person"] == pytest.approx(tariff["margins"]["gap"], rel=1e-12), name


def test_the_simulate_commands_workbook_matches_its_json(story, tmp_path):
    """``desist simulate --json`` prints ``ContractSimulation.to_dict()``."""
    sim = story.simulation
    got = _json(sim.to_dict())
    book = openpyxl.load_workbook(write_workbook(tmp_path / "simulate.xlsx", simulation_sheets(sim)))
    spend = _records(book["Spend"])[0]
    assert spend["Expected spend"] == pytest.approx(got["total_paid"]["mean"], rel=1e-12)
    assert spend["Spend, 5th percentile"] == pytest.approx(got["total_paid"]["q05"], rel=1e-12)
    assert spend["Monte Carlo SE of the mean"] == pytest.approx(got["total_paid"]["mc_se"], rel=1e-12)
    cost = _records(book["Cost per outcome"])
    for row, (outcome, c) in zip(cost, got["cost_per_outcome"].items()):
        assert row["Cost per outcome, mean"] == pytest.approx(c["mean"], rel=1e-12), outcome
        assert row["Outcome"] == humanise(outcome)


def test_suppressed_rows_stay_suppressed_in_the_workbook(tmp_path):
    frame = pd.DataFrame({"segment": ["women", "men"], "n": [7, 300], "rate": [0.4, 0.5]})
    columns = {"segment": COLUMNS["segment"], "n": COLUMNS["n"], "rate": Column("Rate", "percent")}
    table = Table(frame, columns, n_columns=("n",))
    ws = openpyxl.load_workbook(write_workbook(tmp_path / "s.xlsx", [Sheet("Rates", table, "Rates.")]))["Rates"]
    assert [c.value for c in ws[2]] == ["women", "suppressed (<10)", "suppressed (<10)"]
    assert [c.value for c in ws[3]] == ["men", 300, 0.5]


@pytest.mark.parametrize(
    ("path", "names", "match"),
    [
        ("out.csv", ["A"], "ending in .xlsx"),
        ("out.xlsx", [], "at least one Sheet"),
        ("out.xlsx", ["Contents"], "none called 'Contents'"),
        ("out.xlsx", ["A", "a"], "distinct names"),
        ("out.xlsx", ["x" * 32], "1 to 31 characters"),
        ("out.xlsx", ["a/b"], r"none of \[\]"),
    ],
)
def test_a_bad_workbook_is_a_parameter_error(tmp_path, path, names, match):
    table = Table(pd.DataFrame({"a": [1]}))
    with pytest.raises(ParameterError, match=match):
        write_workbook(tmp_path / path, [Sheet(n, table, "x") for n in names])

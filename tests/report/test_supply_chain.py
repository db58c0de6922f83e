"""A supply chain in the provider's panel: each party's line (what it receives after the management fee, bears at
risk and needs in working capital) checked against the contract simulation's own cash flows, the findings on the
fee and the risk passed down, and the same lines on the terminal, in the report and in the workbook."""

from __future__ import annotations

import contextlib
import io
import re
from functools import lru_cache
from pathlib import Path

import openpyxl
import pytest

from appraisal.inputs import AppraisalInputs
from appraisal.steps import appraise
from cohorts.synthetic import make_world
from desist import panels, sections
from desist.commands.report import show_story
from desist.workbook import story_workbook
from pricing.contract import Contract
from tests.report.test_words import _problems

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "specs" / "supply_chain.toml"


@lru_cache(maxsize=1)
def chain_story():
    world = make_world(seed=5, n_eligible=800, n_pool=6_000)
    return appraise(AppraisalInputs.from_world(world, Contract.from_toml(EXAMPLE)), draws=300, seed=2)


@pytest.fixture(scope="module")
def story():
    return chain_story()


def test_each_partys_line_is_what_the_simulation_pays_it(story):
    s, simulation = story.structure, story.simulation
    table = panels.supply_chain(story)
    assert list(table.index) == ["prime", "Haven Trust", "Bridges Project"]
    # Everything the commissioner pays reaches the prime and is passed down: the lines add up to it.
    paid = simulation.total_paid.mean()
    assert table["receives"].sum() == pytest.approx(paid, rel=1e-9)
    # Each party's simulated net cash is what it receives less its share of the delivery cost.
    costs = {"prime": 0.0, "Haven Trust": 0.6, "Bridges Project": 0.4}
    net = simulation.party_table()["net_mean"]
    for party, share in costs.items():
        assert table.loc[party, "receives"] - share * story.delivery_cost == pytest.approx(net[party], rel=1e-9)
    # The prime keeps 15% of every payment; Bridges does 40% of the work (34% of the fee after the prime's 15%)
    # and takes half of the 85% of the outcome money passed down.
    assert table.loc["prime", "receives"] == pytest.approx(0.15 * paid, rel=1e-9)
    fee = (1 - s.at_risk_share) * s.service_fee  # paid whatever the outcomes: the rest is outcome money
    bridges = 0.85 * (0.4 * fee + 0.5 * (paid - fee))
    assert table.loc["Bridges Project", "receives"] == pytest.approx(bridges, rel=1e-9)
    assert table.loc["Bridges Project", ["fee_share", "risk_share"]].tolist() == pytest.approx([0.34, 0.425])
    at_risk = (s.at_risk_share * s.service_fee + s.outcome_budget) * 0.425
    assert table.loc["Bridges Project", "at_risk"] == pytest.approx(at_risk, rel=1e-9)
    capital = simulation.party_table()["peak_working_capital_q95"]
    assert table["working_capital"].tolist() == capital[table.index].tolist()


def test_the_panel_names_each_party_and_the_findings_on_the_fee_and_the_risk(story):
    panel = panels.provider(story)
    lines = panels.supply_chain_lines(story)
    assert len(lines) == 3 and set(lines) <= set(panel.paragraphs)
    table = panels.supply_chain(story)
    bridges = table.loc["Bridges Project"]
    said = f"Bridges Project (subcontractor) receives £{bridges.receives:,.0f} after the prime's fee"
    assert lines[2].startswith(said)
    assert f"it bears £{bridges.at_risk:,.0f} of the" in lines[2]
    assert {(f.code, f.severity) for f in panel.findings} == {
        ("management_fee_above_cap", "error"),
        ("risk_passed_down", "warning"),
    }
    assert "Expected income" in [f.label for f in panel.figures] and panel.figures[0].value != "–"
    assert _problems(lines) == []


def test_the_same_lines_on_the_terminal_in_the_report_and_in_the_workbook(story, tmp_path):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        show_story(story, [], reader="provider")
    said = " ".join(buffer.getvalue().split())
    page = re.sub(r"<[^>]+>", " ", sections.build_report(story, "provider").to_html())
    page = " ".join(page.replace("&#39;", "'").replace("&amp;", "&").split())
    book = openpyxl.load_workbook(story_workbook(story, tmp_path / "chain.xlsx", first="provider"))
    cells = {c for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)}
    for line in panels.supply_chain_lines(story):
        assert line in said and line in page and line in cells, line
    # The workbook's supply chain sheet holds the same numbers, unrounded.
    sheet = list(book["Supply chain"].iter_rows(values_only=True))
    header = next(i for i, row in enumerate(sheet) if row[0] == "Party")
    rows = {row[0]: row[1:] for row in sheet[header + 1 :] if row[0]}
    table = panels.supply_chain(story)
    for party, r in table.iterrows():
        assert rows[party] == pytest.approx(
            (r.receives, r.fee_share, r.risk_share, r.at_risk, r.working_capital), rel=1e-9
        ), party


def test_no_supply_chain_no_lines():
    from tests.appraisal.test_appraisal import built_appraisal

    story = built_appraisal()
    assert panels.supply_chain(story) is None and panels.supply_chain_lines(story) == ()

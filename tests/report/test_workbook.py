"""The Excel workbook: opened with openpyxl, it holds the same numbers as the JSON output, formatted for reading.

First the workbook functions on a built story, then each command's ``--xlsx`` (and ``--pdf``) in-process."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

import appraisal
from desist.commands.common import jsonable
from desist.format import COLUMNS, EXCEL_FORMATS, Column, Table, humanise
from desist.panels import readable_findings
from desist.tables import TARIFF_NAMES, outcome_names, segment_names
from desist.workbook import Sheet, simulation_sheets, story_workbook, tariff_sheets, write_workbook
from ground.errors import ParameterError
from pricing.contract import Contract
from tests.appraisal.test_appraisal import built_appraisal
from tests.running import ROOT, desist, one_message

SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")


def _json(data: dict) -> dict:
    """What ``--json`` prints: the same conversion the commands use."""
    return json.loads(json.dumps(jsonable(data)))


def _records(ws) -> list[dict]:
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], row)) for row in rows[1:]]


@pytest.fixture(scope="module")
def story():
    return built_appraisal()


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
    # The same findings as the JSON's, segments named in words ('none' is "No segment").
    assert sorted(r["What it means"] for r in findings) == sorted(f.message for f in readable_findings(story))
    assert "'none'" in " ".join(f["message"] for f in _json(story.to_dict())["findings"])
    assert "No segment" in " ".join(r["What it means"] for r in findings)
    assert findings[0]["Severity"] == "Must fix"


def test_the_contract_life_is_the_json_chance_with_its_interval_and_lives(story, book):
    got = _json(story.to_dict())["chances"]
    life = got["paid_when_nothing_changed"]
    lives = got["assumptions"]["draws"]
    assert life["n"] == lives and life["k"] == round(got["chance_of_paying"]["none"] * lives)
    low, high = proportion_confint(life["k"], lives, method="wilson")
    assert (life["ci_low"], life["ci_high"]) == pytest.approx((low, high), rel=1e-12)
    rows = {r["Rule"]: r for r in _records(book["Contract life"])}
    any_rule = rows.pop("Any rule")
    assert any_rule["Chance it pays when nothing changed"] == pytest.approx(life["estimate"], rel=1e-12)
    assert any_rule["Simulated lives"] == lives
    interval = [any_rule[f"Chance it pays when nothing changed: 95% CI {end}"] for end in ("from", "to")]
    assert interval == pytest.approx([low, high], rel=1e-12)
    each = {r["rule"]: r["p_pays"] for r in got["rules"] if r["scenario"] == "none"}
    assert {k: r["Chance it pays when nothing changed"] for k, r in rows.items()} == pytest.approx(each, rel=1e-12)


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
    """``desist price --json`` prints ``{"spec": ..., **TariffSet.to_dict()}``."""
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


# --- The commands' --xlsx: each workbook, written through the output folder, holds the --json numbers. ---

EXAMPLES = ROOT / "examples"
DATA = EXAMPLES / "data"


def _command(*args: object) -> dict:
    run = desist(*args, "--json", "--xlsx")
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def _workbook(document: dict, name: str):
    """The command's workbook, listed in --json's files and in the folder's manifest."""
    path = next(Path(f) for f in document["files"] if f.endswith(name))
    manifest = json.loads((path.parent / "manifest.json").read_text())
    assert name in [f["name"] for f in manifest["files"]]
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[0] == "Contents"
    for ws in book.worksheets[1:]:
        assert ws.freeze_panes == "B2", ws.title
    return book


def test_price_xlsx_holds_the_json_prices_margins_and_gaps(tmp_path):
    spec = Contract.from_toml(EXAMPLES / "specs" / "intermediate.toml").spec
    document = _command(
        "price",
        "--spec",
        EXAMPLES / "specs" / "intermediate.toml",
        "--history",
        DATA / "history.csv",
        "--out",
        tmp_path,
    )
    got, book = document["results"], _workbook(document, "tariffs.xlsx")
    outcomes, segments = outcome_names(spec), segment_names(spec)
    prices = {(r["Tariff"], r["Outcome"], r["Segment"]): r["Price"] for r in _records(book["Tariffs"])}
    margins = {(r["Tariff"], r["Segment"]): r for r in _records(book["Margins"])}
    gaps = {r["Tariff"]: r for r in _records(book["Creaming gaps"])}
    assert len(prices) == sum(len(s) for t in got["tariffs"].values() for s in t["prices"].values())
    for name, tariff in got["tariffs"].items():
        for outcome, by_segment in tariff["prices"].items():
            for segment, price in by_segment.items():
                key = (TARIFF_NAMES[name], outcomes[outcome], segments[segment])
                assert prices[key] == pytest.approx(price, rel=1e-12), key
        for row in tariff["margins"]["segments"]:
            shown = margins[(TARIFF_NAMES[name], segments[row["segment"]])]
            assert shown["Margin per person"] == pytest.approx(row["margin_per_person"], rel=1e-12)
            assert shown["People"] == row["n"]
        gap = gaps[TARIFF_NAMES[name]]
        assert gap["Creaming gap per person"] == pytest.approx(tariff["margins"]["gap"], rel=1e-12, abs=1e-9)
        assert gap["Creaming gap per person: 95% CI to"] == pytest.approx(tariff["margins"]["gap_ci"][1], rel=1e-12)


def _noisy_cash_flow(monkeypatch) -> None:
    """A cumulative sum can leave -2.8e-12 where a party's cash is 0: make every zero of the cash flow so."""
    from pricing.simulate import ContractSimulation

    exact = ContractSimulation.to_frame

    def noisy(self):
        frame = exact(self)
        frame.loc[frame["mean"] == 0, ["mean", "q50"]] = -2.8e-12
        return frame

    monkeypatch.setattr(ContractSimulation, "to_frame", noisy)


def test_simulate_xlsx_holds_the_json_spend_parties_and_costs_and_the_csv_cash_flow(tmp_path, monkeypatch):
    _noisy_cash_flow(monkeypatch)
    document = _command(
        "simulate",
        "--spec",
        EXAMPLES / "specs" / "intermediate.toml",
        "--cohort",
        DATA / "people.csv",
        "--history",
        DATA / "history.csv",
        "--draws",
        "300",
        "--out",
        tmp_path,
    )
    got, book = document["results"], _workbook(document, "simulation.xlsx")
    spend = _records(book["Spend"])[0]
    assert spend["Expected spend"] == pytest.approx(got["total_paid"]["mean"], rel=1e-12)
    assert spend["Spend, 95th percentile"] == pytest.approx(got["total_paid"]["q95"], rel=1e-12)
    parties = {r["Party"]: r for r in _records(book["Parties"])}
    assert set(parties) == {p.capitalize() for p in got["parties"]}
    for party, numbers in got["parties"].items():
        assert parties[party.capitalize()]["Net cash, mean"] == pytest.approx(numbers["net_mean"], rel=1e-12)
    costs = {r["Outcome"]: r for r in _records(book["Cost per outcome"])}
    assert len(costs) == len(got["cost_per_outcome"])
    findings = _records(book["Findings"])
    assert sorted(r["What it means"] for r in findings) == sorted(f["message"] for f in got["structure"]["findings"])
    csv = pd.read_csv(tmp_path / "cash_flow.csv")
    flows = _records(book["Cash flow"])
    assert len(flows) == len(csv)
    assert [r["Mean"] for r in flows] == pytest.approx(csv["mean"].tolist(), rel=1e-12, abs=1e-6)
    money = csv[["mean", "q05", "q25", "q50", "q75", "q95"]].to_numpy()
    assert (money[:, [0, 3]] == 0).any(), "no month without payment: no noise was injected"
    assert not ((money != 0) & (np.abs(money) < 1e-6)).any(), "float noise of a zero written to cash_flow.csv"


def test_simulate_xlsx_of_a_contract_paying_by_rules_holds_the_json_chances(tmp_path):
    document = _command(
        "simulate",
        "--spec",
        EXAMPLES / "specs" / "peterborough.toml",
        "--cohort",
        DATA / "people.csv",
        "--history",
        DATA / "history.csv",
        "--draws",
        "200",
        "--out",
        tmp_path,
    )
    got, book = document["results"]["rules"], _workbook(document, "simulation.xlsx")
    rows = _records(book["Rules"])
    assert len(rows) == len(got["rules"]) > 0
    for row, rule in zip(rows, got["rules"]):
        assert row["Rule"] == humanise(rule["rule"])
        assert row["Chance it pays"] == pytest.approx(rule["p_pays"], abs=1e-15)
        assert row["Mean amount"] == pytest.approx(rule["mean"], rel=1e-12, abs=1e-9)


def test_settle_xlsx_holds_the_json_tranches_parties_and_the_ledger(tmp_path):
    out = tmp_path / "settled"
    document = _command(
        "settle",
        EXAMPLES / "specs" / "intermediate.toml",
        "--data",
        f"people={DATA / 'people.csv'}",
        "--data",
        f"offences={DATA / 'offences.csv'}",
        "--data",
        f"assessments={DATA / 'assessments.csv'}",
        "--as-of",
        "2025-09-30",
        "--out",
        out,
    )
    got, book = document["results"], _workbook(document, "settlement.xlsx")
    tranches = _records(book["Settlement"])
    # Tranches named in words ("H1 2023"), in the JSON's order.
    assert [r["Tranche"] for r in tranches] == [humanise(t["tranche"]) for t in got["tranches"]]
    assert [r["Amount"] for r in tranches] == pytest.approx([t["amount_pence"] / 100 for t in got["tranches"]])
    parties = {r["Party"]: r["Amount"] for r in _records(book["Parties paid"])}
    assert parties == {p["party"].capitalize(): p["amount_pence"] / 100 for p in got["parties"]}
    ledger = _records(book["Ledger"])
    csv = pd.read_csv(out / "ledger.csv", dtype={"person_id": str})
    assert len(ledger) == len(csv) == got["figures"]["ledger_rows"]
    assert [r["Amount"] for r in ledger] == pytest.approx(csv["amount"].tolist(), abs=1e-9)
    assert sum(r["Amount"] for r in ledger) == pytest.approx(got["figures"]["total_pence"] / 100, abs=1e-6)
    assert desist("verify", out / "audit.json").returncode == 0


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``desist demo --xlsx`` on a small world (and ``--pdf`` where Chromium is installed)."""
    out = tmp_path_factory.mktemp("demo") / "out"
    pdf = ["--pdf"] if shutil.which("chromium") else []
    small = ["--n-eligible", "400", "--n-pool", "3000", "--draws", "200", "--seed", "2"]
    return _command("demo", *small, *pdf, "--out", out)


def test_demo_xlsx_holds_the_json_answers_and_evidence(demo):
    story, book = demo["results"]["story"], _workbook(demo, "report.xlsx")
    verdicts = _records(book["Verdict"])
    assert [r["Verdict"] for r in verdicts] == [v["sentence"] for v in story["answers"]["evaluation"].values()]
    spend = _records(book["Spend"])[0]
    assert spend["Expected spend"] == pytest.approx(story["answers"]["contract"]["mean"], rel=1e-12)
    effects = _records(book["Effects"])
    assert [r["Estimate"] for r in effects] == pytest.approx([e["estimate"] for e in story["effects"].values()])
    findings = _records(book["Findings"])
    assert len(findings) == len(story["findings"]) and "Code" not in findings[0]
    for name in ("Tariffs", "Margins", "Cash flow", "Parties"):
        assert name in book.sheetnames, name


def test_demo_json_matches_the_story_of_the_same_world(demo):
    # The command's numbers are the library's: the same world and appraisal, run from Python. (Here, beside
    # the workbook test, so that one demo run serves both.)
    story = appraisal.demo(seed=2, n_eligible=400, n_pool=3_000, draws=200)
    world = story.inputs.world
    got = demo["results"]
    assert got["world"]["pool"] == 3_000
    assert got["story"]["effects"]["count"]["estimate"] == pytest.approx(story.effects["count"].estimate, rel=1e-12)
    assert got["story"]["truth"]["reoffences_ratio"] == pytest.approx(world.truth.effects["reoffences_ratio"])
    assert {"report.html", "story.json"} <= {Path(f).name for f in demo["files"]}


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed")
def test_demo_pdf_is_a_pdf_in_the_output_folder(demo):
    path = next(Path(f) for f in demo["files"] if f.endswith("report.pdf"))
    assert path.read_bytes().startswith(b"%PDF") and path.stat().st_size > 50_000
    manifest = json.loads((path.parent / "manifest.json").read_text())
    assert "report.pdf" in [f["name"] for f in manifest["files"]]


def test_pdf_without_chromium_is_one_message_before_anything_is_computed(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    run = desist("demo", "--pdf", "--out", tmp_path / "out")
    assert run.returncode == 1
    one_message(run.stderr, "needs Chromium", "apt-get install chromium")
    assert not (tmp_path / "out").exists() and run.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ("price", "--spec", EXAMPLES / "specs" / "intermediate.toml", "--history", DATA / "history.csv", "--xlsx"),
        ("settle", EXAMPLES / "specs" / "doncaster.toml", "--as-of", "2025-09-30", "--xlsx"),
    ],
    ids=["price", "settle"],
)
def test_xlsx_without_an_output_folder_says_to_give_one(args):
    run = desist(*args)
    assert run.returncode == 1
    one_message(run.stderr, "The '--xlsx' option must be given with --out DIR")

"""``desist simulate --spec SPEC --cohort FILE``: the contract's cash flow, with its uncertainty.

Takes the payment terms and prices from the spec (or ``--tariff FILE``), each
person's probability of achieving each priced outcome from ``p_<outcome>``
columns of the cohort, else a difficulty model fitted on ``--history`` over
``--covariates``, else the segment rates in ``--history``, and simulates
enrolment, achievement, measurement lags and payments. Prints the payment
structure and its findings, what the commissioner would spend against the
budget and how widely that varies (not a chance of "paying above the expected
payment", one half by construction), each provider's income, margin, chance of
a loss and working capital, and the cost per outcome. ``--out DIR`` writes the cash-flow fan
charts (``cash_flow_<party>.png``/``.svg``) and the monthly quantiles
(``cash_flow.csv``, float noise of a zero written as 0); ``--xlsx`` adds
``simulation.xlsx`` there (spend against budget, each party's net cash, the
cash flow, cost per outcome, what the rules would pay, the payment terms'
findings, one sheet each, after a Contents sheet).

JSON (``--json``): the envelope of :mod:`desist.commands.common` with
``results`` = ``pricing.ContractSimulation.to_dict()`` with the spec's name and
the payment structure::

    {
      "spec": "<spec name>",
      "structure": {"name", "service_fee", "up_front_share", "at_risk_share", "outcome_budget",
                    "target", "clawback_share", "cap", "management_fee", "subcontractors", "risk_shares",
                    "management_fee_cap", "investor",
                    "shares": {...}, "findings": [{"code", "severity", "message", "evidence"}], "notes"},
      "draws", "people", "months", "seed", "costs_included",
      "total_paid": {"mean", "q05", "q95", "mc_se"},      # what the commissioner pays (£)
      "expected_outcome_payments": float,
      "p_target_met": float or null,
      "parties": {"commissioner" | "prime" | <subcontractor> | "investor": {"net_mean", "net_q05",
                  "net_q50", "net_q95", "p_loss", "p_loss_se", "peak_working_capital_mean",
                  "peak_working_capital_q95"}},     # £; null where it does not apply
      "cost_per_outcome": {"<outcome>": {"achieved_mean", "mean", "q05", "q50", "q95"}}
    }
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import typer

from appraisal.answers import outlooks, spend
from desist import tables, terminal
from desist.commands.common import (
    check_numbers,
    cost_option,
    data_map_option,
    emit,
    json_option,
    mapped_tables,
    out_option,
    output_folder,
    parse_costs,
    parse_pairs,
    read_data,
    read_history,
    require_out,
    save_figure,
    split_columns,
    step,
    write_csv,
    write_excel,
    written,
    xlsx_option,
)
from desist.format import exact_zeros
from desist.outputs import OutputFolder
from desist.workbook import contract_sheets
from ground.checks import option_error
from ground.words import count, number, percent, points, pounds, ratio
from outcomes.spec import MetricSpec
from pricing.chances import RuleChances
from pricing.contract import Contract
from pricing.inputs import SimulationInputs, delivery_cost, rules_simulation, simulation_inputs
from pricing.simulate import ContractSimulation, simulate_contract
from pricing.structure import PaymentStructure
from pricing.tariff import Tariff


def simulate(
    ctx: typer.Context,
    spec_path: Path = typer.Option(
        ..., "--spec", help="Contract or metric spec (TOML): outcomes, segments, rules, payment terms."
    ),
    cohort_path: Path = typer.Option(
        None,
        "--cohort",
        help="People to enrol (CSV/Parquet/Excel), with p_<outcome> columns or segment columns matching --history.",
    ),
    history: Path = typer.Option(
        None,
        "--history",
        help="Past people with 0/1 outcome columns: segment rates used where the cohort has no p_<outcome>.",
    ),
    covariates: str = typer.Option(
        None,
        "--covariates",
        help="Comma-separated baseline columns: fit a difficulty "
        "model per outcome on --history and predict each cohort member's probability.",
    ),
    tariff_path: Path = typer.Option(
        None, "--tariff", help="Tariff TOML (as price --out writes) instead of the spec's prices."
    ),
    data_map: Path = data_map_option(),
    cost: list[str] = cost_option(),
    effect: list[str] = typer.Option(
        None,
        "--effect",
        help="Assumed effect on an outcome's probability, "
        "OUTCOME=POINTS as a proportion (e.g. no_reoffence=0.05; repeat); reoffending=EFFECT for the rules "
        "(a rate ratio for frequency, a difference for binary).",
    ),
    draws: int = typer.Option(10_000, "--draws", help="Monte Carlo draws."),
    months: int = typer.Option(36, "--months", help="Contract horizon in months."),
    enrol_months: int = typer.Option(12, "--enrol-months", help="Months over which people enrol."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same numbers."),
    as_json: bool = json_option(),
    out: Path = out_option("the cash-flow fan charts (PNG, SVG) and cash_flow.csv"),
    xlsx: bool = xlsx_option("simulation.xlsx", "spend, each party's net cash, cash flow and what the rules pay"),
) -> None:
    """Simulate a contract's payments: spend against budget, each party's cash flow and chance of a loss.

    Examples:

        desist simulate --spec examples/specs/intermediate.toml \\
            --cohort examples/data/people.csv \\
            --history examples/data/history.csv --draws 2000

        desist simulate --spec spec.toml --cohort cohort.parquet \\
            --cost none=1200 --json --out sim/ --xlsx
    """
    require_out(out, xlsx=xlsx)
    contract = Contract.from_toml(spec_path)
    spec = contract.spec
    with output_folder(ctx, out) as folder:
        cohort, past = read_tables(cohort_path, history, covariates, data_map)
        effects = parse_pairs(effect, "effect", "OUTCOME=POINTS, e.g. --effect no_reoffence=0.05")
        chances = sim = inputs = None
        if contract.rules:
            with step(f"Simulating {draws:,} evaluations of the contract's rules", quiet=as_json):
                chances = rules_simulation(contract, cohort, past, effects.pop("reoffending", None), draws, seed)
        if contract.prices:
            inputs = simulation_inputs(
                spec, cohort, history=past, covariates=split_columns(covariates), costs=parse_costs(cost),
                tariff=Tariff.from_toml(tariff_path) if tariff_path is not None else None,
                sources={"cohort": cohort_path, "history": history, "tariff": tariff_path},
            )  # fmt: skip
            with step(f"Simulating {draws:,} draws of the contract for {len(cohort):,} people", quiet=as_json):
                sim = simulate_contract(
                    spec, cohort, inputs.tariff, inputs.structure, months=months, draws=draws, seed=seed,
                    probabilities=inputs.probabilities, segments=inputs.segments, costs=inputs.costs,
                    enrol_months=enrol_months, effects=effects,
                )  # fmt: skip
        structure = contract.structure if inputs is None else inputs.structure
        write_files(folder, sim, chances, structure, spec, xlsx=xlsx)
    files = written(folder)
    if as_json:
        emit(ctx, results(spec, sim, chances, structure), files)
        return
    show(contract, structure, sim, inputs, chances)
    terminal.files(files)


def show(
    contract: Contract,
    structure: PaymentStructure,
    sim: ContractSimulation | None,
    inputs: SimulationInputs | None,
    chances: RuleChances | None,
) -> None:
    """The payment structure, the simulation (with prices) and the rules' chances (with rules) for people."""
    show_structure(structure)
    if sim is not None and inputs is not None:
        show_simulation(sim, inputs, tables.outcome_names(contract.spec))
    if chances is not None:
        show_rule_chances(chances, contract.rules[0].measure)


def results(
    spec: MetricSpec, sim: ContractSimulation | None, chances: RuleChances | None, structure: PaymentStructure
) -> dict[str, Any]:
    """What ``--json`` prints: the simulation with the spec's name and the payment structure, and the rules."""
    rules = None if chances is None else chances.to_dict()
    if sim is None:
        return {"spec": spec.name, "rules": rules}
    return {**sim.to_dict(), "spec": spec.name, "structure": structure.to_dict(), "rules": rules}


def read_tables(
    cohort_path: Path | None, history: Path | None, covariates: str | None, data_map: Path | None = None
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The cohort and the history (from their options or ``--data-map``), every column a number; a difficulty
    model (covariates) needs the history."""
    cohort_path = mapped_tables(data_map, ("cohort",), cohort=cohort_path)["cohort"]
    cohort = read_data(cohort_path, "cohort", option="--cohort")
    check_numbers(cohort, list(cohort.columns), cohort_path, "--cohort")
    past, _ = read_history(history, data_map, needed=False)
    if covariates and past is None:
        raise option_error(
            "--covariates", "given with --history: it fits a difficulty model on the history", covariates
        )
    return cohort, past


def write_files(
    folder: OutputFolder | None,
    sim: ContractSimulation | None,
    chances: RuleChances | None,
    structure: PaymentStructure,
    spec: MetricSpec,
    *,
    xlsx: bool,
) -> None:
    """The cash-flow fan charts and quantiles, and with ``xlsx`` the workbook, into ``--out``."""
    if folder is None:
        return
    if sim is not None:
        for party in sim.parties:
            save_figure(sim.plot(party), folder, f"cash_flow_{party}")
        # Cumulative sums leave -2.8e-12 where a party's cash is 0.
        write_csv(exact_zeros(sim.to_frame()), folder, "cash_flow.csv", index=False)
    if xlsx:
        sheets = contract_sheets(sim, chances, structure, spec)
        write_excel(sheets, folder, "simulation.xlsx", title=f"Contract simulation for {spec.name}")


def show_structure(structure: PaymentStructure) -> None:
    """The payment structure in words, then its findings as sentences."""
    shares = structure.shares()
    terminal.heading(f"Payment structure: {structure.name}", first=True)
    facts = {
        "Contract value": f"{pounds(shares['contract_value'])} (service fee {pounds(structure.service_fee)}, "
        f"expected outcome payments {pounds(structure.outcome_budget)})",
        "Paid up front": f"{percent(shares['up_front'])} of the fee",
        "At risk against outcomes": f"{percent(shares['at_risk'])} of the contract",
        "Reaching the front line": percent(shares["front_line"]),
    }
    if structure.cap is not None:
        facts["Cap on outcome payments"] = pounds(structure.cap)
    terminal.facts(facts)
    terminal.findings(structure.check(), none="Within the sector's ask.")


def show_simulation(sim: ContractSimulation, inputs: SimulationInputs, outcomes: dict[str, str]) -> None:
    """The commissioner's spend against budget, each provider's outlook and the cost per outcome."""
    terminal.heading(f"What the commissioner would spend ({count(sim.draws)} simulated contracts)")
    spent = spend(sim)
    terminal.table(
        tables.spend_table(spent), columns=("budget", "mean", "q05", "q95", "overspend_chance"), caption=False
    )
    terminal.paragraph(f"{spent.sentence()} {spent.risk()}")
    terminal.heading("What each provider can expect")
    cost = None if inputs.costs is None else delivery_cost(inputs.costs, inputs.segments)
    for expected in outlooks(sim, cost).values():
        terminal.paragraph(f"{expected.sentence()} {expected.capital()}")
    if inputs.costs is None:
        terminal.paragraph("No delivery costs given (--cost or a 'cost' column): provider figures are income only.")
    terminal.heading("What the commissioner pays per outcome achieved")
    terminal.table(tables.cost_per_outcome_table(sim, outcomes), caption=False)


def show_rule_chances(chances: RuleChances, measure: str) -> None:
    """How often the contract's rules pay and claw back, when nothing changed and at the true effect."""
    a = chances.assumptions
    base = percent(a["base_rate"]) if measure == "binary" else number(a["base_rate"])
    effect = points(a["true_effect"]) if measure == "binary" else f"a rate ratio of {ratio(a['true_effect'])}"
    terminal.heading("How often the rules pay")
    terminal.paragraph(
        f"Over {count(a['draws'])} simulated evaluations: {count(a['n_per_tranche'])} people per tranche, a "
        f"comparison rate of {base}, a true effect of {effect}."
    )
    terminal.table(
        tables.rule_chances_table(chances), columns=["rule", "scenario", "p_pays", "p_clawback", "mean"], caption=False
    )
    terminal.paragraph(
        f"Anything paid: {percent(chances.chance_of_paying('none'))} of the time when nothing changed, "
        f"{percent(chances.chance_of_paying('effect'))} at the true effect."
    )


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)

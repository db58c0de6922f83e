"""``desist check CONTRACT``: read a contract (or metric spec) and say what it means, or what is wrong.

Prints the parsed spec in plain words (``--json``: as data). A bad spec is a
SpecError naming the key and the allowed values; the CLI prints it and exits 1.

Then the findings of ``validation.check_contract``: the design checks
(deadweight, binary reoffending, payment shares, power, margin gaps, small
segments, overlap), the chance the contract's own rules pay anything over its
whole life (every tranche, interim and final, pooled rules) when nothing changed
and at a true effect (``--effect``), with its Monte Carlo error, and the
management fee, with tables given as ``--data NAME=FILE`` (people, assessments,
pool, history); exit status 1 when any finding is an error. It writes no files.

Last, the assumed figures: every figure the contract's ``[assumed]`` table
marks as given by no source, with its value and the reason.

JSON (``--json``): the envelope of :mod:`desist.commands.common` with
``results``::

    {
      "valid": true,
      "spec": MetricSpec.to_dict() (metric, outcomes, reoffending, segments, payment),
      "findings": [{"code", "severity": "error" | "warning" | "info", "message", "evidence": {...}}, ...],
      "assumed": [{"key", "value", "reason"}, ...]
    }

The JSON is printed before the exit status 1 of an error finding.
"""

from __future__ import annotations

from pathlib import Path

import typer

from desist import terminal
from desist.commands.common import (
    cost_option,
    data_map_option,
    emit,
    json_option,
    mapped_tables,
    parse_costs,
    read_data,
    step,
)
from ground.checks import option_error
from ground.errors import naming
from pricing.contract import Contract
from validation.design import Finding, check_contract

# --data NAME: tables read against their schema; "history" is free-form (one 0/1 column per priced outcome).
DATA_TABLES = ("people", "assessments", "pool", "history")


def read_tables(items: list[str] | None, data_map: Path | None = None) -> dict[str, object]:
    """``["people=p.csv", "pool=pool.parquet"]`` and the ``--data-map`` file's tables -> the tables, read and checked.

    A table given by ``--data`` is read from its file, not from the mapping.
    """
    given = [item.partition("=")[0] for item in items or []]
    mapped = mapped_tables(data_map, **{name: None for name in DATA_TABLES if name not in given})
    tables: dict[str, object] = {
        name: read_data(source, name, option="--data-map", schema=name != "history")
        for name, source in mapped.items()
        if source is not None
    }
    for item in items or []:
        name, sep, path = item.partition("=")
        if not sep or name not in DATA_TABLES or not path or name in tables:
            raise option_error("--data", f"NAME=FILE with NAME one of {', '.join(DATA_TABLES)}, each once", item)
        tables[name] = read_data(path, name, option="--data", schema=name != "history")
    return tables


def show_check(contract: Contract, findings: list[Finding]) -> None:
    """The contract in plain words, then its design findings as sentences, most serious first."""
    terminal.heading("The contract in plain words", first=True)
    for line in contract.describe().splitlines():
        terminal.paragraph(line)
    terminal.paragraph("The spec is valid.")
    terminal.heading(f"Design checks: {len(findings)} finding{'' if len(findings) == 1 else 's'}")
    terminal.findings(findings, none="No findings.")
    assumed = assumed_figures(contract)
    terminal.heading(f"Assumed figures: {len(assumed)}")
    if not assumed:
        terminal.paragraph("None: the contract marks no figure as assumed ([assumed] names each one no source gives).")
    for figure in assumed:
        terminal.paragraph(f"- {figure['key']} = {figure['value']}: {figure['reason']}")


def assumed_figures(contract: Contract) -> list[dict[str, object]]:
    """The contract's assumed figures, values as JSON writes them (dates as YYYY-MM-DD)."""
    return [
        {**f, "value": f["value"].isoformat() if hasattr(f["value"], "isoformat") else f["value"]}
        for f in contract.assumed_figures()
    ]


def check(
    ctx: typer.Context,
    spec_path: Path = typer.Argument(..., metavar="SPEC", help="Metric spec (TOML) to check."),
    as_json: bool = json_option(),
    data: list[str] = typer.Option(
        None, "--data", help="NAME=FILE, NAME one of people, assessments, pool, history; repeat for each table."
    ),
    contract_days: int = typer.Option(None, "--contract-days", help="Contract length in days."),
    effect: float = typer.Option(None, "--effect", help="Expected effect on reoffending (-0.05 binary, 0.9 ratio)."),
    cost: list[str] = cost_option(),
    data_map: Path = data_map_option(),
) -> None:
    """Check a metric spec, print it in plain words, then its design findings.

    Exit status 1 when a finding is an error.

    Examples:

        desist check examples/specs/intermediate.toml

        desist check examples/specs/doncaster.toml \\
            --data people=examples/data/people.csv \\
            --data pool=examples/data/pool.csv --contract-days 1095 --json
    """
    contract = Contract.from_toml(spec_path)
    # One call uses every table; its messages name the table, the prefix names the files.
    with step("Reading the --data tables", quiet=as_json or not (data or data_map)):
        tables = read_tables(data, data_map)
    with naming(", ".join(data) if data else None, "--data"), step("Checking the design", quiet=as_json):
        findings = check_contract(
            contract, tables, contract_days=contract_days, expected_effect=effect, costs=parse_costs(cost) or None
        )
    if as_json:
        emit(
            ctx,
            {
                "valid": True,
                "spec": contract.to_dict(),
                "findings": [f.to_dict() for f in findings],
                "assumed": assumed_figures(contract),
            },
        )
    else:
        show_check(contract, findings)
    if any(f.severity == "error" for f in findings):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("check")(check)

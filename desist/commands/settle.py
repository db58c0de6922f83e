"""``desist settle CONTRACT --data NAME=FILE ... --as-of DATE --out DIR``: a contract settled in pounds.

Reads the contract and each ``--data`` table (people, offences, assessments,
comparison, pool; claims and spells for a rate card), settles it as of ``--as-of``
with :func:`pricing.settle_files`, prints each tranche and rule, the parties, a rate
card's cash flow by period and the exclusions, and writes to ``--out``:

- ``settlement.json``: ``Settlement.to_dict()`` (tranches, parties, exclusions, a rate card's
  cash flow by period, figures, audit);
- ``ledger.csv``: one row per person and payable outcome and per rule payment or clawback
  (tranche, kind, item, person_id, evidence, evidence_date, base_price, uplift, note, amount),
  and one per claim, accepted or rejected with its reason, and its payment period;
- ``settlement.xlsx`` with ``--xlsx``: what each tranche and rule pays, what each
  party receives and the ledger, one sheet each, after a Contents sheet;
- ``statement.html`` with ``--report`` (and ``statement.pdf`` with ``--pdf``): the settlement statement
  (:func:`desist.statement.settlement_statement`): a line to sign off, each tranche and rule in words and
  pounds, each party, the claims accepted and rejected with their reasons, the cash flow by period, who was
  left out and why, and the audit hashes;
- ``audit.json``: SHA-256 of the contract, of every input (paths relative to the
  folder) and of every output above, baseline version, desist's version, seeds,
  as-of date, command and figures; ``manifest.json`` holds its SHA-256.
  ``desist verify DIR/audit.json`` checks all of it (:mod:`pricing.audit`).

``--engine duckdb`` (or ``spark``) counts the offences and custody bed nights and scores the assessments on that
engine, reading Parquet or CSV offences, assessments and custody files from disk rather than into memory
(:mod:`pricing.settlement_engine`); the settlement is the same on every engine, byte for byte, so ``desist verify``
replays it on pandas.

A table the contract does not use is read, hashed and listed as unused, not refused; a table
named twice is refused. Events after ``--as-of`` and people who started after it are left out
and counted, as ``pricing.settle`` does in Python.

``--previous AUDIT.json`` (an earlier settlement of the same contract, written with ``--out``)
nets what it paid: one ``settled before`` ledger row per tranche and item, so this settlement
pays what is due now and the two form one running account (:mod:`pricing.running`); the
earlier record's path and SHA-256 go into ``audit.json``, and ``desist verify`` checks the chain.

JSON (``--json``): the envelope of :mod:`desist.commands.common` with ``results`` =
``Settlement.to_dict()``.
"""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any

import typer

from desist import tables, terminal
from desist.commands.common import (
    data_map_option,
    emit,
    json_option,
    mapped_files,
    out_option,
    output_folder,
    parse_date,
    pseudonymise_option,
    read_key,
    require_out,
    step,
    write_excel,
    write_text,
    written,
    xlsx_option,
)
from desist.format import Column, count, date, pounds
from desist.outputs import OutputFolder
from desist.report import find_chromium
from desist.statement import settlement_statement
from desist.workbook import settlement_sheets
from ground.checks import option_error
from pricing.audit import AUDIT, audit_text, file_sha256, output_texts, relative_to, settle_files
from pricing.settlement_data import TABLES


def parse_data(items: list[str] | None) -> dict[str, Path]:
    """``["people=p.csv"]`` -> ``{"people": Path("p.csv")}``; a table named twice is refused, never the last kept."""
    files: dict[str, Path] = {}
    for item in items or []:
        name, sep, path = item.partition("=")
        if not sep or name not in TABLES or not path:
            raise option_error("--data", f"NAME=FILE with NAME one of {', '.join(TABLES)}", item)
        if name in files:
            raise option_error(
                "--data", "NAME=FILE with each table given once", item,
                advice=f"The {name} table is also given as {name}={files[name]}.",
            )  # fmt: skip
        files[name] = Path(path)
    return files


def settle(
    ctx: typer.Context,
    contract: Path = typer.Argument(..., metavar="CONTRACT", help="Contract (TOML) to settle."),
    data: list[str] = typer.Option(None, "--data", help=f"NAME=FILE, NAME one of {', '.join(TABLES)}; repeat."),
    data_map: Path = data_map_option(),
    pseudonymise: Path = pseudonymise_option(),
    as_of: str = typer.Option(..., "--as-of", help="Settlement date, e.g. 2025-09-30."),
    previous: Path = typer.Option(
        None, "--previous", help="audit.json of an earlier settlement of this contract: what it paid is netted."
    ),
    as_json: bool = json_option(),
    out: Path = out_option("settlement.json, ledger.csv and audit.json"),
    xlsx: bool = xlsx_option("settlement.xlsx", "what each tranche and party is paid and the claims ledger"),
    statement: bool = typer.Option(
        False,
        "--report/--no-report",
        help="Also write statement.html to --out: the settlement statement a finance officer signs off.",
    ),
    pdf: bool = typer.Option(
        False, "--pdf/--no-pdf", help="With --report, also write statement.pdf, printed by headless Chromium (A4)."
    ),
    engine: str = typer.Option(
        "pandas",
        "--engine",
        help="Where offences and custody bed nights are counted and assessments scored: pandas (in memory), duckdb "
        "(out of core) or spark.",
    ),
) -> None:
    """Settle a contract on its data: tranches, parties, a claims ledger and an audit record.

    Examples:

        desist settle examples/specs/doncaster.toml --data people=examples/data/people.csv \\
            --data offences=examples/data/offences.csv --as-of 2025-09-30 --out settled/ --xlsx

        desist settle examples/specs/doncaster.toml --data people=examples/data/people.csv \\
            --data offences=examples/data/offences.csv --as-of 2026-03-31 --previous settled/audit.json --out later/

        desist settle contract.toml --data-map data.toml --as-of 2025-09-30 --out settled/ --report --pdf

        desist settle contract.toml --data people=people.parquet --data offences=offences.parquet \\
            --as-of 2025-09-30 --engine duckdb --out settled/
    """
    require_out(out, xlsx=xlsx, pdf=pdf, report=statement)
    if pdf and not statement:
        raise typer.BadParameter("prints the settlement statement: give --report too.", param_hint="'--pdf'")
    if pdf:
        find_chromium()
    when = parse_date(as_of, "as-of")
    inputs = {**mapped_files(data_map, TABLES), **parse_data(data)}
    parts = ["desist settle", str(contract), *[f"--data {d}" for d in data or []], f"--as-of {as_of}"]
    parts += [f"--previous {previous}"] if previous is not None else []
    parts += [f"--data-map {data_map}"] if data_map else []
    parts += [f"--engine {engine}"] if engine != "pandas" else []
    parts += ["--pseudonymise KEYFILE"] if pseudonymise else []  # the key file's place is not recorded
    command = " ".join(shlex.quote(p) if " " in p and not p.startswith(("desist", "--")) else p for p in parts)
    with output_folder(ctx, out) as folder:
        with step(f"Settling {contract} as of {as_of}", quiet=as_json):
            settlement = settle_files(
                contract, inputs or None, as_of=when, command=command, previous=previous, key=read_key(pseudonymise),
                engine=engine,
            )  # fmt: skip
        if folder is not None:
            settlement = relative_to(settlement, folder.out)
            with step("Writing the ledger and the audit record", quiet=as_json):
                write_records(settlement, folder, xlsx)
                if statement:
                    write_statement(settlement, folder, pdf)
    files = written(folder)
    if as_json:
        emit(ctx, settlement.to_dict(), files)
        return
    show_settlement(settlement, files)


def write_statement(settlement: Any, folder: OutputFolder, pdf: bool) -> None:
    """statement.html (and statement.pdf): the settlement statement, after the records it reads."""
    page = settlement_statement(settlement)
    page.write(folder.path("statement.html"))
    if pdf:
        page.to_pdf(folder.path("statement.pdf"))


def write_records(settlement: Any, folder: OutputFolder, xlsx: bool) -> None:
    """settlement.json, ledger.csv (and the workbook), then audit.json with the SHA-256 of each of them."""
    for name, text in output_texts(settlement).items():
        write_text(text, folder, name)
    if xlsx:
        notes = [f"Settled as of {settlement.as_of.isoformat()}; audit.json beside this workbook replays it."]
        title = f"Settlement of {settlement.contract}"
        write_excel(settlement_sheets(settlement), folder, "settlement.xlsx", title=title, notes=notes)
    outputs = {name: file_sha256(folder.path(name)) for name in list(folder.names)}
    write_text(audit_text(settlement, outputs), folder, AUDIT)


def total_words(pence: int) -> str:
    """A settlement's net total with its direction in words: "£442,400.00 paid", "£100,000.00 clawed back"."""
    amount = pounds(abs(pence) / 100, pence=True)
    if pence < 0:
        return f"{amount} clawed back (repaid by the providers to the commissioner)"
    return f"{amount} paid by the commissioner" if pence else "nothing paid"


def show_settlement(settlement: Any, files: list[str]) -> None:
    """The settlement for people: what each tranche pays and why, what each party receives, who was left out."""
    settlement_text(settlement, first=True)
    terminal.files(files)


def settlement_text(settlement: Any, *, first: bool = False) -> None:
    """A settlement on the terminal (``settle``, ``report`` and ``demo``): tranches, parties, who was left out."""
    terminal.heading(f"Settlement of '{settlement.contract}' as of {date(settlement.as_of)}", first=first)
    terminal.paragraph(f"In total: {total_words(settlement.total_pence)}.")
    earlier = settlement.audit.get("previous")
    if earlier:
        terminal.paragraph(
            f"Net of {pounds(earlier['paid_pence'] / 100, pence=True)} paid by the settlement as of "
            f"{earlier['as_of']} ({earlier['path']}): one 'settled before' ledger row per tranche and item."
        )
    shown = tables.settlement_table(settlement)
    every = shown.shown_columns()
    kinds = set(shown.frame["kind"])
    # The stage is a rule's (interim or final); a tariff pays as achieved.
    names = (
        ("tranche", "rule", "n_treated", "estimate", "threshold")
        if not {"tariff", "claims"} & kinds
        else ("tranche", "rule", "stage", "n_treated")
    )
    columns = {k: every[k] for k in names if k in every}
    if "threshold" in columns:
        columns["threshold"] = Column("Pays when the reduction is at least", "percent")
    if len(kinds) == 1 and "n_treated" in columns:  # nothing measured when no rule is due yet
        counted = {"tariff": "Payable outcomes", "claims": "Claims paid"}.get(next(iter(kinds)), "People")
        columns["n_treated"] = Column(counted, "count")
    columns.update({"met": every["met"], "amount": every["amount"]})
    terminal.table(replace(shown, columns=columns))
    if "estimate" in every:
        terminal.paragraph(
            "A rule decides on the reduction shown (its 95% CI in brackets); the amounts at the interval's ends are "
            "in settlement.json."
        )
    terminal.table(tables.settlement_parties_table(settlement))
    if len(settlement.cash_flow()):
        terminal.table(tables.settlement_cash_flow_table(settlement))
    for e in settlement.exclusions.itertuples():
        terminal.paragraph(f"Left out ({e.step}): {count(e.n)}, {e.reason}.")
    if settlement.audit.get("unused"):
        terminal.paragraph(
            f"Unused tables (read and hashed, not needed by this contract): {', '.join(settlement.audit['unused'])}."
        )


def register(app: typer.Typer) -> None:
    app.command("settle")(settle)

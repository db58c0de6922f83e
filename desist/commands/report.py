"""``desist report``: the evaluator's whole journey on files, written as one HTML report.

The pool's outcomes are taken to follow the MoJ measure (offences in 365 days
proven by conviction or caution within 182 more); say otherwise with
``--pool-disposals`` and ``--pool-counting``. The matched comparison measures
the cohort the same way as the pool, and the report says when that differs
from the measure the spec pays on.

Reads the cohort, its offences and the comparison pool (and, when given, the
eligible people, service contacts, assessments and a pricing history), checks
each against its schema, runs the appraisal (:func:`appraisal.appraise`: outcomes,
matched comparison, effects, payment thresholds, difficulty, tariffs, contract
simulation, screens, design checks) and writes ``report.html`` and ``story.json`` to ``--out``; with
``--xlsx`` also ``report.xlsx`` (:func:`desist.workbook.story_workbook`: the
answers, the evidence, tariffs, margins, cash flow and ledger, one sheet
each, after a Contents sheet) and with ``--pdf`` ``report.pdf`` (the report
printed by headless Chromium; without Chromium the command stops at once
with one message).

JSON (``--json``): ``results`` is the appraisal's ``to_dict()``
(:meth:`appraisal.Appraisal.to_dict`): ``spec``,
``outcome_rates``, ``reoffending``, ``matching``, ``effects`` (binary, count,
time), ``thresholds``, ``power``, ``tariffs``, ``simulation``, ``screens``,
``equality``, ``findings``, ``skipped``; ``files`` lists what was written.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import typer

from appraisal import DEFAULT_SPEC, READERS, STEPS, Appraisal, AppraisalInputs, appraise
from appraisal.result import screen_sentences
from desist import tables, terminal
from desist.commands.common import (
    cost_option,
    data_map_option,
    emit,
    json_option,
    mapped_tables,
    output_folder,
    parse_costs,
    parse_date,
    pseudonymise_option,
    read_data,
    read_key,
    require_out,
    split_columns,
    write_json,
    write_text,
    written,
    xlsx_option,
)
from desist.commands.evaluate import effect_table
from desist.commands.measure import show_reoffending
from desist.commands.power import rule_words
from desist.commands.settle import settlement_text
from desist.outputs import OutputFolder
from desist.panels import panels, readable_findings
from desist.sections import build_report
from desist.workbook import story_workbook
from ground.checks import option_error
from ground.errors import naming
from ground.tables import check_links
from ground.words import count, percent, points, pounds
from metrics.thresholds import default_rules
from outcomes.reoffending import COUNTINGS
from outcomes.spec import ReoffendingSpec
from pricing.contract import Contract
from pricing.publishing import pseudonymise


def story_progress(quiet: bool, first: str) -> Any:
    """A progress bar on stderr over ``first`` (reading the files, or making the world), the appraisal's steps and
    writing the report, once the story has run 2 seconds; nothing when quiet or not a terminal."""
    return terminal.progress(first, quiet=quiet, parts=(first, *STEPS, WRITING))


def story_xlsx_option() -> Any:
    """The ``--xlsx`` flag of ``report`` and ``demo``."""
    return xlsx_option("report.xlsx", "the answers, the evidence, tariffs, margins, cash flow and findings")


def pdf_option() -> Any:
    """The ``--pdf`` flag of ``report`` and ``demo``."""
    return typer.Option(
        False, "--pdf/--no-pdf", help="Also write report.pdf to the --out folder, printed by headless Chromium (A4)."
    )


def check_files(out: Path | None, *, xlsx: bool, pdf: bool) -> None:
    """Refuse ``--xlsx``/``--pdf`` without ``--out``, and ``--pdf`` without Chromium, before anything is computed."""
    require_out(out, xlsx=xlsx, pdf=pdf)
    if pdf:
        from desist.report import find_chromium

        find_chromium()


def reader_option() -> Any:
    """The ``--for`` option of ``report`` and ``demo``: whose panel comes first."""
    return typer.Option(
        None,
        "--for",
        help="Put this reader's answer first: commissioner, provider or evaluator (default: all three, in that order).",
    )


def check_reader(reader: str | None) -> None:
    """Refuse a ``--for`` that names no reader, before anything is computed."""
    if reader is not None and reader not in READERS:
        raise typer.BadParameter(f"must be one of {', '.join(READERS)}. Got {reader!r} instead.", param_hint="'--for'")


def story_pdf(pdf: bool) -> Any:
    """With ``--pdf``, Chromium started at once (:func:`desist.report.printing`): it gets ready while the story is
    computed, and :func:`write_appraisal` gives it the report to print; without, nothing (None)."""
    if not pdf:
        return nullcontext(None)
    from desist.report import printing

    return printing()


def write_appraisal(
    story: Appraisal,
    folder: OutputFolder,
    *,
    xlsx: bool = False,
    printer: Callable[[str, Path], None] | None = None,
    first: str | None = None,
) -> None:
    """Write the appraisal's ``report.html`` and ``story.json`` into the output folder.

    ``xlsx`` adds ``report.xlsx``; ``printer`` (from :func:`story_pdf`) prints ``report.pdf`` while the other
    files are written; ``first`` is the reader whose panel comes first.
    """
    page = build_report(story, first).write(folder.path("report.html"))
    if printer is not None:
        printer(page.read_text(encoding="utf-8"), folder.path("report.pdf"))
    write_json(story.to_dict(), folder, "story.json")
    if story.settlement is not None:
        # The claims ledger as desist settle writes it: one row per payment, with its evidence.
        write_text(story.settlement.ledger_csv(), folder, "ledger.csv")
    if xlsx:
        story_workbook(story, folder.path("report.xlsx"), first=first)


#: The first and last parts of the story's progress bar.
READING, WRITING = "reading the files", "writing the report"
#: The reoffending measures in words, as the payment rules' table names them.
MEASURE_WORDS = {"frequency": "Frequency of proven reoffences", "binary": "Proven reoffending rate"}


def show_story(story: Appraisal, files: list[str], *, first: bool = True, reader: str | None = None) -> None:
    """The appraisal for people on the terminal: each reader's answer (``reader``'s first), then one heading per
    block, tables as the report has them."""
    terminal.heading(f"Metric: {story.inputs.spec.name}", first=first)
    for answer in panels(story, reader).values():
        terminal.panel(answer)
    if story.outcome_rates is not None:
        terminal.table(tables.outcome_rates_table(story.outcome_rates), columns=("label", "rate", "n"))
    _show_reoffending(story)
    _show_verdict(story)
    _show_payment(story)
    _show_contract(story)
    _show_screens(story)
    if story.settlement is not None:
        settlement_text(story.settlement)
    terminal.heading("Design findings")
    terminal.findings(readable_findings(story), none="No design findings.")
    for step_name, why in story.skipped.items():
        terminal.paragraph(f"Not run: {step_name}: {why}.")
    terminal.files(files)


def _show_reoffending(story: Appraisal) -> None:
    show_reoffending(story.reoffending)
    for note in story.notes:
        terminal.paragraph(f"Note: {note}")


def _show_verdict(story: Appraisal) -> None:
    counts = story.matched.counts
    terminal.heading("The evaluation's verdict")
    terminal.paragraph(
        f"{count(counts.loc['matched', 'treated'])} of {count(counts.loc['all', 'treated'])} cohort members were "
        f"matched 1:1 to the national pool (caliper {story.options.caliper:g} SD of the logit)."
    )
    for verdict in story.verdicts().values():
        terminal.paragraph(f"{verdict.sentence()} {verdict.per_100()}")
    effects = effect_table(story.effects, {k: story.true_effect(k) for k in story.effects})
    # The groups' sizes are in the sentence on matching above.
    terminal.table(effects, columns=[c for c in ("scale", "estimate", "truth", "p_value") if c in effects.columns])
    if story.sensitivity is not None:
        for sentence in story.sensitivity.sentences():
            terminal.paragraph(sentence)


def _show_payment(story: Appraisal) -> None:
    if not story.thresholds:
        return
    terminal.heading("Payment rules")
    comparisons = {MEASURE_WORDS.get(k, k): c for k, c in story.thresholds.items()}
    terminal.table(
        tables.rules_table(comparisons, "Whether each rule pays, and how often it would pay when nothing changed"),
        columns=("measure", "rule", "met", "false_payment", "payment_probability"),
    )
    for measure in story.thresholds:
        for rule in default_rules(measure):
            terminal.paragraph(f"{rule.name}: {rule_words(rule)}.")
    mde = {k: p.to_dict() for k, p in story.power.items()}
    if {"binary", "frequency"} <= set(mde):
        terminal.paragraph(
            f"Smallest effects detectable with 80% power at {count(story.effects['binary'].n_treated)} matched "
            f"cohort members: {percent(abs(mde['frequency']['relative']))} fewer proven reoffences, or "
            f"{points(abs(mde['binary']['effect']))} off the proven reoffending rate."
        )


def _show_contract(story: Appraisal) -> None:
    spend = story.spend()
    if story.tariffs is None and spend is None:
        return
    terminal.heading("The contract")
    if story.tariffs is not None:
        gaps = "; ".join(
            f"{tables.TARIFF_NAMES.get(name, name)} {pounds(m.gap)}" for name, m in story.tariffs.margins.items()
        )
        terminal.paragraph(f"Creaming gap (margin per person, easiest minus hardest segment): {gaps}.")
    if spend is not None:
        terminal.paragraph(f"{spend.sentence()} {spend.risk()}")
        for outlook in story.outlooks().values():
            terminal.paragraph(f"{outlook.sentence()} {outlook.capital()}")


def _show_screens(story: Appraisal) -> None:
    if not story.screens:
        return
    terminal.heading("Screens for gaming")
    for sentence in screen_sentences(story):
        terminal.paragraph(sentence)


def report(
    ctx: typer.Context,
    people: Path = typer.Option(None, "--people", help="The programme cohort (people table)."),
    offences: Path = typer.Option(None, "--offences", help="Offence events of the cohort (offences table)."),
    pool: Path = typer.Option(None, "--pool", help="National comparison pool with outcomes (pool table)."),
    spec_path: Path = typer.Option(
        None, "--spec", help="Metric spec (TOML); default: the built-in intermediate-outcomes spec."
    ),
    eligible: Path = typer.Option(None, "--eligible", help="Everyone eligible, with 'enrolled' (creaming screen)."),
    services: Path = typer.Option(None, "--services", help="Service contacts with hours (parking screen)."),
    assessments: Path = typer.Option(None, "--assessments", help="Intermediate-outcome assessments."),
    history: Path = typer.Option(
        None,
        "--history",
        help="Past cohort with a 0/1 column per price key; default: "
        "the cohort's people whose outcome windows have closed.",
    ),
    data_map: Path = data_map_option(),
    pseudonymise: Path = pseudonymise_option(),
    as_of: str = typer.Option(None, "--as-of", help="The data's as-of date (YYYY-MM-DD); dates after it are errors."),
    pool_disposals: str = typer.Option(
        "conviction,caution", "--pool-disposals", help="Disposals that proved the pool's reoffences (comma-separated)."
    ),
    pool_counting: str = typer.Option(
        "offences", "--pool-counting", help="What the pool's reoffences count: offences or court_appearances."
    ),
    cost: list[str] = cost_option(),
    seed: int = typer.Option(0, "--seed", help="Seed of the contract simulation."),
    draws: int = typer.Option(2_000, "--draws", help="Contract simulation draws."),
    out: Path = typer.Option(
        Path("desist-report"),
        "--out",
        help="Folder for report.html, story.json and manifest.json (replaced whole if desist wrote it before).",
    ),
    as_json: bool = json_option(),
    xlsx: bool = story_xlsx_option(),
    pdf: bool = pdf_option(),
    reader: str = reader_option(),
) -> None:
    """Run the whole evaluation on files and write one self-contained HTML report.

    Examples:

        desist report --people examples/data/people.csv \\
            --offences examples/data/offences.csv \\
            --pool examples/data/pool.csv --as-of 2025-09-30 --out report/

        desist report --people people.csv --offences offences.csv \\
            --pool pool.parquet --eligible eligible.csv \\
            --services services.csv --assessments assessments.csv \\
            --cost none=450 --cost complex_needs=850 --out report/ --xlsx --pdf
    """
    measure = pool_measure(pool_disposals, pool_counting)
    when = parse_date(as_of, "as-of")
    check_files(out, xlsx=xlsx, pdf=pdf)
    check_reader(reader)
    with output_folder(ctx, out) as folder, story_progress(as_json, READING) as advance, story_pdf(pdf) as printer:
        paths = {"people": people, "offences": offences, "pool": pool, "history": history}
        paths |= {"eligible": eligible, "services": services, "assessments": assessments}
        paths = mapped_tables(data_map, ("people", "offences", "pool"), **paths)
        inputs = read_inputs(paths, spec_path, when, parse_costs(cost) or None, measure)
        # The appraisal's messages name its tables; the prefix names the files they came from.
        with naming(", ".join(str(paths[t]) for t in ("people", "offences", "pool")), "the input files"):
            story = shared(appraise(inputs, seed=seed, draws=draws, progress=advance), read_key(pseudonymise))
            advance(WRITING)
            write_appraisal(story, folder, xlsx=xlsx, printer=printer, first=reader)
    files = written(folder)
    if as_json:
        emit(ctx, story.to_dict(), files)
        return
    show_story(story, files, reader=reader)


def shared(story: Appraisal, key: bytes | None) -> Appraisal:
    """The appraisal with its settlement's person identifiers pseudonymised under ``key`` (None: as it is)."""
    if key is None or story.settlement is None:
        return story
    return replace(story, settlement=pseudonymise(story.settlement, key))


def pool_measure(disposals: str, counting: str) -> ReoffendingSpec:
    """How the pool's outcomes were measured, from ``--pool-disposals`` and ``--pool-counting``."""
    if counting not in COUNTINGS:
        raise option_error("--pool-counting", f"one of {', '.join(COUNTINGS)}", counting)
    return ReoffendingSpec(disposals=tuple(split_columns(disposals)), counting=counting)


def read_inputs(
    paths: dict[str, Path | None],
    spec_path: Path | None,
    when: pd.Timestamp | None,
    costs: dict[str, float] | None,
    measure: ReoffendingSpec,
) -> AppraisalInputs:
    """The appraisal's tables read from ``paths`` (by table; None where not given), each checked against its schema.

    Offences are checked against everyone eligible when given (else the cohort): ids that match no one would
    make every cohort member a non-reoffender.
    """
    # Read as a contract: one with tranches is settled as of --as-of and its life simulated, as the demo's is.
    contract = Contract.from_toml(spec_path or DEFAULT_SPEC)
    cohort = read_data(paths["people"], "people", option="--people", schema=True, as_of=when)
    optional = {
        name: read_data(path, name, option=f"--{name}", schema=True, as_of=when, empty=name == "services")
        for name in ("eligible", "services", "assessments")
        if (path := paths[name]) is not None
    }
    people = optional.get("eligible", cohort)
    history = paths["history"]
    inputs = AppraisalInputs(
        spec=contract.spec,
        contract=contract,
        people=cohort,
        offences=read_data(
            paths["offences"], "offences", option="--offences", schema=True, empty=True, as_of=when, people=people
        ),
        pool=read_data(paths["pool"], "pool", option="--pool", schema=True, as_of=when),
        history=read_data(history, "history", option="--history") if history is not None else None,
        as_of=when,
        costs=costs,
        pool_measure=measure,
        **optional,
    )
    with naming(paths["offences"], "--offences"):
        check_links(inputs.offences, people, table="offences", to_table="the people")
    return inputs


def register(app: typer.Typer) -> None:
    app.command("report")(report)

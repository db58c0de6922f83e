"""One Excel workbook for commissioners: tariffs, margins, cash flow, findings, as numbers formatted for reading.

:func:`write_workbook` writes :class:`Sheet`\\ s (each a :class:`desist.format.Table`
with a sentence saying what it holds) to one ``.xlsx``: a *Contents* sheet
first, listing every sheet with what it holds and a link to it; then one sheet
per table with its headings in words, the header row and first column frozen,
a filter on the header, and every cell holding the unrounded number (as
``--json`` has it) with a number format that shows it as the report does
(41.7%, £260,000). Rows counting fewer than 10 people are suppressed, as in
the report.

The ``*_sheets`` functions turn results into sheets: :func:`story_sheets`
(everything ``desist report`` and ``desist demo`` compute),
:func:`tariff_sheets` (``desist price``), :func:`contract_sheets` (``desist
simulate``: :func:`simulation_sheets`, the rules' chances and the payment
terms' findings), :func:`findings_sheet` and :func:`settlement_sheets`
(``desist settle``).

Examples
--------
>>> import pandas as pd, tempfile, pathlib
>>> from desist.format import COLUMNS, Table
>>> t = Table(pd.DataFrame({"segment": ["women"], "rate": [0.417], "ci_low": [0.398], "ci_high": [0.436]}),
...           {"segment": COLUMNS["segment"], "rate": COLUMNS["rate"]})
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> path = write_workbook(folder / "rates.xlsx", [Sheet("Rates", t, "Achievement rates by segment.")])
>>> import openpyxl
>>> book = openpyxl.load_workbook(path)
>>> book.sheetnames, book["Rates"]["B2"].value, book["Rates"]["B2"].number_format
(['Contents', 'Rates'], 0.417, '0.0%')
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from appraisal.answers import spend
from appraisal.result import Appraisal
from desist import tables
from desist.format import EXCEL_FORMATS, SUPPRESSION_THRESHOLD, Column, Table, humanise, value
from desist.panels import panels, readable_findings, supply_chain
from ground.checks import parameter_error
from outcomes.rates import Proportion

__all__ = [
    "Sheet",
    "contract_sheets",
    "findings_sheet",
    "settlement_sheets",
    "simulation_sheets",
    "story_sheets",
    "story_workbook",
    "tariff_sheets",
    "write_workbook",
]

#: Characters Excel refuses in a sheet name, and its longest name.
_BAD_NAME = re.compile(r"[\[\]:*?/\\]")
_MAX_NAME = 31
_HEADER_FILL = "DDE4EE"


@dataclass(frozen=True)
class Sheet:
    """One sheet: its name (at most 31 characters), its table, and what it holds in a sentence."""

    name: str
    table: Table
    about: str


def _check_names(sheets: Sequence[Sheet]) -> None:
    seen: set[str] = set()
    for sheet in sheets:
        name = sheet.name
        if not name or len(name) > _MAX_NAME or _BAD_NAME.search(name) or name.lower() in seen | {"contents"}:
            raise parameter_error(
                "sheets",
                "write_workbook",
                f"sheets with distinct names of 1 to {_MAX_NAME} characters, none of []:*?/\\ and none "
                "called 'Contents'",
                name,
            )
        seen.add(name.lower())


def _cell(v: Any) -> Any:
    """A value openpyxl writes as itself: numbers as floats, no NaN, dates as datetimes."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    return v


def _width(header: str, values: Sequence[Any], kind: str) -> float:
    shown = [len(value(v, kind)) if v is not None else 0 for v in values[:200]]
    return float(min(max([len(header) * 0.8, *shown, 8]) + 2, 60))


def _write_sheet(book: Any, sheet: Sheet) -> int:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    frame, kinds = sheet.table.numbers()
    ws = book.create_sheet(sheet.name)
    ws.append(list(frame.columns))
    rows = [[_cell(v) for v in record] for record in frame.itertuples(index=False)]
    for row in rows:
        ws.append(row)
    # Each cell converted once: the rows are written, and their columns read for number formats and widths.
    columns = list(zip(*rows)) if rows else [() for _ in frame.columns]
    for j, (header, kind, column) in enumerate(zip(frame.columns, kinds, columns), start=1):
        head = ws.cell(row=1, column=j)
        head.font = Font(bold=True)
        head.fill = PatternFill("solid", fgColor=_HEADER_FILL)
        head.alignment = Alignment(wrap_text=True, vertical="top")
        for i, v in enumerate(column, start=2):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                ws.cell(row=i, column=j).number_format = EXCEL_FORMATS[kind]
        ws.column_dimensions[get_column_letter(j)].width = _width(str(header), column, kind)
    ws.freeze_panes = "B2"
    if len(frame):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(frame.columns))}{len(frame) + 1}"
    return len(frame)


def _write_contents(book: Any, sheets: Sequence[Sheet], rows: Sequence[int], title: str, notes: Sequence[str]) -> None:
    from openpyxl.styles import Font
    from openpyxl.worksheet.hyperlink import Hyperlink

    ws = book.active
    ws.title = "Contents"
    ws["A1"] = title
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = f"Written {datetime.now(UTC).strftime('%d %B %Y, %H:%M UTC').lstrip('0')} by desist."
    lines = [
        "Every number is unrounded, as in the JSON output; its cell format shows it as the report does.",
        f"Rows counting fewer than {SUPPRESSION_THRESHOLD} people are suppressed, as is anything computed from them.",
        *notes,
    ]
    for i, line in enumerate(lines, start=3):
        ws.cell(row=i, column=1, value=line)
    top = 4 + len(lines)
    for j, header in enumerate(("Sheet", "What it holds", "Rows"), start=1):
        ws.cell(row=top, column=j, value=header).font = Font(bold=True)
    for i, (sheet, n) in enumerate(zip(sheets, rows), start=top + 1):
        link = ws.cell(row=i, column=1, value=sheet.name)
        link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{sheet.name}'!A1", display=sheet.name)
        link.font = Font(color="1F5F8B", underline="single")
        ws.cell(row=i, column=2, value=sheet.about)
        ws.cell(row=i, column=3, value=n).number_format = EXCEL_FORMATS["count"]
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 100
    ws.freeze_panes = f"A{top + 1}"


def write_workbook(
    path: str | Path, sheets: Sequence[Sheet], *, title: str = "desist results", notes: Sequence[str] = ()
) -> Path:
    """Write ``sheets`` to one ``.xlsx`` after a Contents sheet; return the path.

    Parameters
    ----------
    path : str or pathlib.Path
        The workbook to write (``.xlsx``).
    sheets : sequence of Sheet
        In the order they should appear.
    title : str
        The Contents sheet's heading.
    notes : sequence of str
        More lines for the Contents sheet (e.g. the data's as-of date).

    Raises
    ------
    ParameterError
        ``path`` does not end in ``.xlsx``, there is no sheet, or a sheet's
        name is empty, too long, repeated or has a character Excel refuses.
    """
    from openpyxl import Workbook

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise parameter_error("path", "write_workbook", "a file name ending in .xlsx", str(path))
    if not sheets:
        raise parameter_error("sheets", "write_workbook", "at least one Sheet", list(sheets))
    _check_names(sheets)
    book = Workbook()
    rows = [_write_sheet(book, sheet) for sheet in sheets]
    _write_contents(book, sheets, rows, title, notes)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def findings_sheet(findings: Sequence[Any]) -> Sheet:
    """The design findings, most serious first, as sentences with their severity and code."""
    return Sheet("Findings", tables.findings_table(findings), "What the design checks found, most serious first.")


def tariff_sheets(comparison: Any, spec: Any = None) -> list[Sheet]:
    """``desist price``: every tariff's prices, margins by segment, and creaming gaps (``TariffSet``).

    With the metric ``spec``, outcomes and segments are named by its labels.
    """
    outcomes = tables.outcome_names(spec) if spec is not None else None
    segments = tables.segment_names(spec) if spec is not None else None
    return [
        Sheet(
            "Tariffs",
            tables.prices_long_table(comparison.tariffs, outcomes, segments),
            "Price (£) of each outcome by segment, per tariff.",
        ),
        Sheet(
            "Margins",
            tables.margins_long_table(comparison.margins, segments),
            "Expected income, cost and margin per person by segment under each tariff, with 95% CIs.",
        ),
        Sheet(
            "Creaming gaps",
            tables.gaps_table(comparison, segments),
            "Margin per person in the easiest segment minus the hardest, per tariff: the reward for creaming.",
        ),
    ]


def simulation_sheets(simulation: Any, spec: Any = None) -> list[Sheet]:
    """``desist simulate``: spend against budget, each party's net cash, cash flow and cost per outcome.

    With the metric ``spec``, outcomes are named by its labels.
    """
    outcomes = tables.outcome_names(spec) if spec is not None else None
    return [
        Sheet(
            "Spend",
            tables.spend_table(spend(simulation)),
            "What the commissioner would spend against the budget over the simulated contracts.",
        ),
        Sheet(
            "Parties",
            tables.party_table(simulation),
            "Each party's net cash, chance of a loss and working capital over the contract.",
        ),
        Sheet(
            "Cash flow",
            tables.cash_flow_table(simulation),
            "Each party's monthly and cumulative net cash (£): mean and quantiles over simulated contracts.",
        ),
        Sheet(
            "Cost per outcome",
            tables.cost_per_outcome_table(simulation, outcomes),
            "What the commissioner pays per outcome achieved, over simulated contracts.",
        ),
    ]


def contract_sheets(
    simulation: Any = None, chances: Any = None, structure: Any = None, spec: Any = None
) -> list[Sheet]:
    """``desist simulate``: the simulation's sheets, what the rules would pay, and the payment terms' findings.

    Any of ``simulation`` (``pricing.ContractSimulation``), ``chances``
    (``pricing.chances.RuleChances``) and ``structure``
    (``pricing.PaymentStructure``, whose findings are listed) may be None.

    Examples
    --------
    >>> from pricing import PaymentStructure
    >>> [s.name for s in contract_sheets(structure=PaymentStructure(service_fee=1.0, up_front_share=0.5))]
    ['Findings']
    """
    sheets = [] if simulation is None else simulation_sheets(simulation, spec)
    if chances is not None:
        draws = chances.assumptions["draws"]
        about = (
            f"Chance each payment rule pays or claws back, and its mean amount, over {draws:,} simulated "
            "evaluations: when nothing changed and at the assumed effect."
        )
        sheets.append(Sheet("Rules", tables.rule_chances_table(chances), about))
    findings = [] if structure is None else structure.check()
    if findings:
        sheets.append(findings_sheet(findings))
    return sheets


def settlement_sheets(settlement: Any) -> list[Sheet]:
    """``desist settle``: what each tranche pays, what each party receives, and every claim (``pricing.Settlement``)."""
    return [
        Sheet(
            "Settlement",
            tables.settlement_table(settlement),
            f"What each tranche and rule pays as of {value(settlement.as_of, 'date')}, with the amounts had the "
            "estimate been at either end of its 95% CI.",
        ),
        Sheet("Parties paid", tables.settlement_parties_table(settlement), "What each party pays or receives."),
        Sheet(
            "Ledger",
            tables.ledger_table(settlement),
            "Every claim: tranche, outcome or rule, person, evidence and its date, price, uplift, amount.",
        ),
    ]


def _story_answer_sheets(story: Appraisal) -> list[Sheet]:
    sheets = [Sheet("Verdict", tables.verdict_table(story.verdicts()), "The evaluation's verdict per 100 people.")]
    spend, outlooks = story.spend(), story.outlooks()
    if spend is not None:
        sheets.append(Sheet("Spend", tables.spend_table(spend), "The commissioner's spend against the budget."))
    life = _life_table(story)
    if life is not None:
        about = "How often the payment rules pay over the contract's life when nothing changed, with 95% intervals."
        sheets.append(Sheet("Contract life", life, about))
    if outlooks:
        sheets.append(Sheet("Providers", tables.outlook_table(outlooks), "Each provider's income, margin and risk."))
    chain = supply_chain(story)
    if chain is not None:
        sheets.append(Sheet("Supply chain", _supply_chain_table(chain), "Each party's line, the prime first."))
    return sheets + [findings_sheet(readable_findings(story))]


def _life_table(story: Appraisal) -> Table | None:
    """Each rule's chance of paying over the contract's life when nothing changed, then any rule's, each with its
    95% Wilson interval and the lives simulated (None when the contract's life was not simulated)."""
    chances, life = story.chances, story.life_chance()
    if chances is None or life is None:
        return None
    none = chances.table[chances.table["scenario"] == "none"]
    each = [Proportion.of(round(p * life.n), life.n) for p in none["p_pays"]]
    frame = pd.DataFrame(
        {
            "rule": [*(humanise(r) for r in none["rule"]), "Any rule"],
            "p": [c.estimate for c in (*each, life)],
            "low": [c.ci_low for c in (*each, life)],
            "high": [c.ci_high for c in (*each, life)],
            "lives": life.n,
        }
    )
    columns = {
        "rule": tables.COLUMNS["rule"],
        "p": Column("Chance it pays when nothing changed", "percent", ci=("low", "high")),
        "lives": Column("Simulated lives", "count"),
    }
    return Table(frame, columns, "The chance of paying when nothing changed, over the contract's life")


def _supply_chain_table(chain: pd.DataFrame) -> Table:
    """Each party's line (:func:`desist.panels.supply_chain`) as a table."""
    columns = {
        "party": Column("Party", "text"),
        "receives": Column("Receives after the management fee", "pounds"),
        "fee_share": Column("Share of the fee", "percent"),
        "risk_share": Column("Share of the outcome money", "percent"),
        "at_risk": Column("Bears at risk", "pounds"),
        "working_capital": Column("Working capital, 1 contract in 20", "pounds"),
    }
    return Table(chain.rename_axis("party").reset_index(), columns, "The supply chain")


def _story_evidence_sheets(story: Appraisal) -> list[Sheet]:
    sheets = [
        Sheet(
            "Counts", tables.counts_table(story.reoffending.counts), "Who was counted, and who was left out and why."
        ),
        Sheet("Effects", tables.effects_table(story.effects), "Effects on reoffending with 95% CIs, scale in words."),
        Sheet("Payment rules", tables.rules_table(story.thresholds), "Each payment rule's decision and false payment."),
    ]
    if story.outcome_rates is not None:
        rates = tables.outcome_rates_table(story.outcome_rates)
        sheets.insert(2, Sheet("Outcomes", rates, "Share of people measured who achieved each outcome."))
    if story.sensitivity is not None:
        sheets.insert(
            2,
            Sheet(
                "Sensitivity",
                tables.sensitivity_table(story.sensitivity),
                "How strong hidden bias would have to be to change each verdict: Rosenbaum's Gamma and E-values.",
            ),
        )
    if story.equality is not None:
        equality = tables.equality_table(story.equality)
        sheets.append(Sheet("Equality", equality, "Enrolment, reoffending and payment rates by protected group."))
    for name, screen in story.screens.items():
        table = tables.funnel_table(screen) if name == "funnel" else tables.screen_table(screen)
        sheets.append(Sheet(humanise(name), table, f"The {name} screen by provider."))
    if story.providers is not None:
        sheets.append(
            Sheet(
                "Providers compared",
                tables.providers_table(story.providers),
                "Each provider's reoffending adjusted for its case-mix and shrunk, with 95% and rank intervals.",
            )
        )
    if story.measurement is not None:
        names = {k: o.label or humanise(k) for k, o in story.inputs.spec.outcomes.items()}
        sheets.append(
            Sheet(
                "Measurement",
                tables.measurement_table(story.measurement, names),
                "How each provider recorded each outcome against what its case-mix predicts.",
            )
        )
    return sheets


def story_sheets(story: Appraisal, first: str | None = None) -> list[Sheet]:
    """``desist report`` / ``desist demo``: each reader's answer (``first``'s first), the answers' numbers, the
    evidence, tariffs, margins, cash flow and ledger."""
    answers = Sheet(
        "Answers",
        tables.panels_table(panels(story, first)),
        "Each reader's answer in the report's words and figures: the commissioner, the provider, the evaluator.",
    )
    sheets = [answers, *_story_answer_sheets(story), *_story_evidence_sheets(story)]
    if story.tariffs is not None:
        sheets += tariff_sheets(story.tariffs, story.inputs.spec)
    if story.simulation is not None:
        sheets += [s for s in simulation_sheets(story.simulation, story.inputs.spec) if s.name != "Spend"]
    if story.settlement is not None:
        sheets += settlement_sheets(story.settlement)
    return sheets


def story_workbook(story: Appraisal, path: str | Path, *, first: str | None = None) -> Path:
    """Write an appraisal's workbook (:func:`story_sheets`, ``first``'s answer first) to ``path``."""
    inputs = story.inputs
    notes = [f"Metric: {inputs.spec.name}."]
    if inputs.as_of is not None:
        notes.append(f"Data as of {value(inputs.as_of, 'date')}.")
    return write_workbook(
        path, story_sheets(story, first), title="desist: the evaluation, the contract and the tariff", notes=notes
    )

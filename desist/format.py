"""Tables for people: how every table a person reads is headed and written.

Each number is written by :mod:`ground.words` (a rate "41.7%", money
"£260,000", float noise such as ``-2.8e-12`` an exact 0); this module adds
an interval "41.7% (39.8% to 43.6%)", dates, yes/no, and headings in words (a
column is headed "Programme group", not ``n_treated``), for the report, the
workbook and the command line's text alike.

A :class:`Table` keeps the raw numbers with a :class:`Column` per shown
column (its label and its *kind*: percent, points, pounds, count, ...), so the
report formats it as text (:meth:`Table.readable`) while the workbook writes
the same numbers with a matching Excel number format (:meth:`Table.numbers`,
:data:`EXCEL_FORMATS`). Rows counting fewer than
:data:`SUPPRESSION_THRESHOLD` people are suppressed in both.

Examples
--------
>>> value(0.4172, "percent"), value(-2.8e-12, "pounds")
('41.7%', '£0')
>>> interval(0.417, 0.398, 0.436, "percent")
'41.7% (39.8% to 43.6%)'
>>> label("n_treated")
'Programme group'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from ground.checks import Options, check_parameter, parameter_error
from ground.words import DASH, count, is_missing, number, p_value, percent, points, pounds, ratio

__all__ = [
    "COLUMNS",
    "EXCEL_FORMATS",
    "KINDS",
    "SUPPRESSED",
    "SUPPRESSION_THRESHOLD",
    "Column",
    "Table",
    "date",
    "exact_zeros",
    "humanise",
    "interval",
    "label",
    "readable",
    "suppress_small_cells",
    "value",
    "yes_no",
]

#: Cells counting fewer people than this are not shown (and nor is anything
#: computed from them), following the usual statistical disclosure practice.
SUPPRESSION_THRESHOLD = 10
SUPPRESSED = "suppressed (<10)"
#: Relative size below which a float is rounding noise of a zero (``-2.8e-12``
#: in a column of pounds in the millions).
NOISE = 1e-9


def yes_no(value: Any) -> str:
    """True/False as "yes"/"no".

    Examples
    --------
    >>> yes_no(True), yes_no(np.bool_(False))
    ('yes', 'no')
    """
    if is_missing(value):
        return DASH
    return "yes" if bool(value) else "no"


def date(value: Any) -> str:
    """A date as people write it: "30 September 2025".

    Examples
    --------
    >>> date("2025-09-30")
    '30 September 2025'
    """
    if is_missing(value):
        return DASH
    when = pd.Timestamp(value)
    return f"{when.day} {when.strftime('%B %Y')}"


def _text(value: Any) -> str:
    return DASH if is_missing(value) else str(value)


#: How each kind of number is written for people.
KINDS = {
    "percent": percent,
    "points": points,
    "pounds": pounds,
    "pence": lambda v: pounds(v, pence=True),
    "count": count,
    "ratio": ratio,
    "number": number,
    "p_value": p_value,
    "yes_no": yes_no,
    "date": date,
    "text": _text,
}

#: The Excel number format of each kind, so a workbook cell holds the raw
#: number and shows it as the report does.
EXCEL_FORMATS = {
    "percent": "0.0%",
    # A difference of proportions: shown as a signed percentage of people.
    "points": "+0.0%;-0.0%;0.0%",
    "pounds": '"£"#,##0;-"£"#,##0;"£"0',
    "pence": '"£"#,##0.00;-"£"#,##0.00;"£"0.00',
    "count": "#,##0",
    "ratio": "0.000",
    "number": "#,##0.0##",
    "p_value": "0.000",
    "yes_no": "@",
    "date": "d mmm yyyy",
    "text": "@",
}


def value(value: Any, kind: str) -> str:
    """``value`` written as its ``kind`` says; text (e.g. a suppression mark) passes through.

    Examples
    --------
    >>> value(0.5, "percent"), value("suppressed (<10)", "percent")
    ('50.0%', 'suppressed (<10)')
    """
    writer = KINDS.get(kind)
    if writer is None:
        raise parameter_error("kind", "value", f"one of {', '.join(KINDS)}", kind)
    if isinstance(value, str) and kind != "date":
        return value
    return writer(value)


def interval(estimate: Any, low: Any, high: Any, kind: str) -> str:
    """An estimate with its confidence interval: "41.7% (39.8% to 43.6%)".

    Examples
    --------
    >>> interval(-0.039, -0.086, 0.008, "points")
    '-3.9 points (-8.6 to 0.8 points)'
    >>> interval(1087040, 1066527, 1105915, "pounds")
    '£1,087,040 (£1,066,527 to £1,105,915)'
    """
    if isinstance(estimate, str):
        return estimate
    if is_missing(low) or is_missing(high):
        return value(estimate, kind)
    if kind == "points":
        lo, hi = (points(v).removesuffix(" points") for v in (low, high))
        return f"{points(estimate)} ({lo} to {hi} points)"
    return f"{value(estimate, kind)} ({value(low, kind)} to {value(high, kind)})"


#: Words for abbreviations that appear in column names.
_WORDS = {
    "ci": "95% CI",
    "se": "SE",
    "smd": "SMD",
    "auc": "AUC",
    "id": "ID",
    "ete": "ETE",
    "p": "P",
    "mc": "Monte Carlo",
    "ecdf": "eCDF",
    "n": "number",
    "q05": "5th percentile",
    "q25": "25th percentile",
    "q50": "median",
    "q75": "75th percentile",
    "q95": "95th percentile",
}


def humanise(name: Any) -> str:
    """A column name in words, for names :data:`COLUMNS` does not know.

    Examples
    --------
    >>> humanise("p_loss_se"), humanise("net_q05"), humanise("outside_99.8")
    ('P loss SE', 'Net 5th percentile', 'Outside 99.8')
    """
    words = [_WORDS.get(w.lower(), w) for w in str(name).replace("_", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Column:
    """How one column is shown: its heading and the kind of number it holds.

    ``ci`` names the columns of the estimate's confidence interval; the report
    writes them in the same cell ("41.7% (39.8% to 43.6%)"), the workbook as
    two more columns with the same number format.
    """

    label: str
    kind: str = "number"
    ci: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        check_parameter(self.kind, "kind", "Column", Options(*KINDS))


#: Headings and kinds of the columns desist's results use. A table may say
#: otherwise for its own columns; anything else gets :func:`humanise`.
COLUMNS: dict[str, Column] = {
    "n": Column("People", "count"),
    "n_treated": Column("Programme group", "count"),
    "n_control": Column("Comparison group", "count"),
    "people": Column("People", "count"),
    "achieved": Column("Achieved", "count"),
    "not_measurable": Column("Not measurable", "count"),
    "not_yet_measurable": Column("Window not closed", "count"),
    "rate": Column("Rate", "percent", ("ci_low", "ci_high")),
    "estimate": Column("Estimate", "number", ("ci_low", "ci_high")),
    "p_value": Column("p-value", "p_value"),
    "se": Column("Standard error", "number"),
    "label": Column("Outcome", "text"),
    "outcome": Column("Outcome", "text"),
    "segment": Column("Segment", "text"),
    "party": Column("Party", "text"),
    "unit": Column("Provider", "text"),
    "code": Column("Code", "text"),
    "severity": Column("Severity", "text"),
    "message": Column("What it means", "text"),
    "rule": Column("Rule", "text"),
    "description": Column("Pays when", "text"),
    "met": Column("Met", "yes_no"),
    "false_payment": Column("Chance it pays when nothing changed", "percent"),
    "payment_probability": Column("Chance it pays at the true effect", "percent"),
    "threshold": Column("Threshold", "percent"),
    "achievement": Column("Achievement", "percent"),
    "income_per_person": Column("Income per person", "pounds"),
    "cost_per_person": Column("Cost per person", "pounds"),
    "margin_per_person": Column("Margin per person", "pounds", ("ci_low", "ci_high")),
    "expected_income": Column("Expected income", "pounds"),
    "volume": Column("Volume", "count"),
    "observed": Column("Observed", "count"),
    "month": Column("Month", "text"),
    "kind": Column("Monthly or cumulative", "text"),
    "mean": Column("Mean", "pounds"),
    "q05": Column("5th percentile", "pounds"),
    "q25": Column("25th percentile", "pounds"),
    "q50": Column("Median", "pounds"),
    "q75": Column("75th percentile", "pounds"),
    "q95": Column("95th percentile", "pounds"),
}


def label(name: Any) -> str:
    """The heading of column ``name``: from :data:`COLUMNS`, else :func:`humanise`."""
    column = COLUMNS.get(str(name))
    return column.label if column is not None else humanise(name)


def suppress_small_cells(
    table: pd.DataFrame,
    n_columns: Sequence[str],
    threshold: int = SUPPRESSION_THRESHOLD,
    label_columns: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, int]:
    """Blank every row whose count in any of ``n_columns`` is 1 to ``threshold - 1``.

    The whole row goes but its labels, not only the count, because a rate and
    its CI give the count back. Zero counts are shown: they identify nobody.

    Parameters
    ----------
    table : pandas.DataFrame
        The table to show.
    n_columns : sequence of str
        Columns that hold counts of people.
    threshold : int
        Smallest count shown.
    label_columns : sequence of str, optional
        Columns that name the row and stay visible; by default the first column.

    Returns
    -------
    (pandas.DataFrame, int)
        The table for display (object dtype) and the number of rows suppressed.

    Examples
    --------
    >>> t = pd.DataFrame({"segment": ["women", "men"], "n": [7, 300], "rate": [0.4, 0.5]})
    >>> shown, k = suppress_small_cells(t, ["n"])
    >>> k, shown.loc[0, "rate"]
    (1, 'suppressed (<10)')
    """
    missing = [c for c in n_columns if c not in table.columns]
    if missing:
        raise parameter_error(
            "n_columns", "suppress_small_cells", f"columns of the table ({', '.join(map(str, table.columns))})", missing
        )
    counts = table[list(n_columns)].apply(pd.to_numeric, errors="coerce")
    small = ((counts > 0) & (counts < threshold)).any(axis=1).to_numpy()
    shown = table.astype(object)
    keep = list(table.columns[:1]) if label_columns is None else list(label_columns)
    blank = [c for c in table.columns if c not in keep]
    if small.any():  # pandas' masked assignment is slow even when it assigns nothing, and most tables are whole
        shown.loc[small, blank] = SUPPRESSED
    return shown, int(small.sum())


def exact_zeros(frame: pd.DataFrame, relative: float = NOISE) -> pd.DataFrame:
    """``frame`` with float noise of a zero set to exactly 0.

    A float column's values smaller than ``relative`` times its largest
    absolute value are rounding residue (``-2.8e-12`` among millions of
    pounds), so they become 0.0; nothing else changes.

    Examples
    --------
    >>> exact_zeros(pd.DataFrame({"mean": [-2.8e-12, 1_087_040.0]}))["mean"].tolist()
    [0.0, 1087040.0]
    """
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if not pd.api.types.is_float_dtype(column):
            continue
        scale = np.nanmax(np.abs(column.to_numpy(dtype=float))) if column.notna().any() else 0.0
        if scale > 0:
            out[name] = column.mask(column.abs() < relative * scale, 0.0)
    return out


@dataclass(frozen=True)
class Table:
    """Raw numbers and how to show them: the one table a report, a workbook and a terminal share.

    Attributes
    ----------
    frame : pandas.DataFrame
        The numbers, unrounded (as in the JSON output).
    columns : mapping of str -> Column
        The columns shown, in order, with their heading and kind (a CI's
        columns are named by the estimate's ``Column.ci``). Empty: every
        column, labelled by :func:`label` with its kind guessed from its dtype.
    caption : str
        What the table shows, in words.
    n_columns : tuple of str
        Columns counting people: rows with 1 to 9 in any of them are suppressed.
    label_columns : tuple of str
        Columns that still name a suppressed row (default: the first shown).
    """

    frame: pd.DataFrame
    columns: Mapping[str, Column] = field(default_factory=dict)
    caption: str = ""
    n_columns: tuple[str, ...] = ()
    label_columns: tuple[str, ...] = ()

    def shown_columns(self) -> dict[str, Column]:
        """The columns shown, each with its :class:`Column`."""
        if self.columns:
            needed = [c for name, column in self.columns.items() for c in (name, *(column.ci or ()))]
            absent = [c for c in needed if c not in self.frame.columns]
            if absent:
                raise parameter_error(
                    "columns", "Table", f"columns of the frame ({', '.join(map(str, self.frame.columns))})", absent
                )
            return dict(self.columns)
        return {str(c): COLUMNS.get(str(c)) or Column(humanise(c), _guess(self.frame[c])) for c in self.frame.columns}

    @cached_property
    def _suppressed(self) -> tuple[pd.DataFrame, int]:
        # Once per table: the report reads the rows it hides and the table shown, the workbook the numbers.
        columns = self.shown_columns()
        keep = list(self.label_columns) or list(columns)[:1]
        return suppress_small_cells(self.frame, self.n_columns, label_columns=keep)

    @property
    def suppressed_rows(self) -> int:
        """Rows hidden because they count fewer than 10 people."""
        return self._suppressed[1] if self.n_columns else 0

    def readable(self) -> pd.DataFrame:
        """The table as text for people: headings in words, numbers formatted, small cells suppressed."""
        shown = self._suppressed[0] if self.n_columns else self.frame.astype(object)
        out = {}
        for name, column in self.shown_columns().items():
            if column.ci is not None:
                low, high = column.ci
                out[column.label] = [
                    interval(v, lo, hi, column.kind) for v, lo, hi in zip(shown[name], shown[low], shown[high])
                ]
            else:
                out[column.label] = [value(v, column.kind) for v in shown[name]]
        return pd.DataFrame(out, index=range(len(shown)))

    def numbers(self) -> tuple[pd.DataFrame, list[str]]:
        """The raw numbers for a workbook: headings in words, a CI as two more columns.

        Returns the frame and each column's kind (for its number format).
        Suppressed cells hold the suppression mark.
        """
        shown = self._suppressed[0] if self.n_columns else self.frame.astype(object)
        out, kinds = {}, []
        for name, column in self.shown_columns().items():
            out[column.label] = shown[name].to_numpy()
            kinds.append(column.kind)
            if column.ci is not None:
                for end, words in zip(column.ci, ("95% CI from", "95% CI to")):
                    out[f"{column.label}: {words}"] = shown[end].to_numpy()
                    kinds.append(column.kind)
        return pd.DataFrame(out, index=range(len(shown))), kinds


def _guess(column: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(column):
        return "yes_no"
    if pd.api.types.is_integer_dtype(column):
        return "count"
    if pd.api.types.is_float_dtype(column):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(column):
        return "date"
    return "text"


def readable(frame: pd.DataFrame, columns: Mapping[str, Column] | None = None, n_columns: Sequence[str] = ()):
    """Shorthand for ``Table(frame, columns, n_columns=...).readable()``.

    Examples
    --------
    >>> t = pd.DataFrame({"segment": ["women"], "rate": [0.417], "ci_low": [0.398], "ci_high": [0.436], "n": [761]})
    >>> readable(t, {"segment": COLUMNS["segment"], "rate": COLUMNS["rate"], "n": COLUMNS["n"]}).iloc[0].tolist()
    ['women', '41.7% (39.8% to 43.6%)', '761']
    """
    return Table(frame, dict(columns or {}), n_columns=tuple(n_columns)).readable()

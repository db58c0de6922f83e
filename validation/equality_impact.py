"""Equality impact: enrolment, outcome and payment rates by protected group.

The table a prime contractor's Equality Impact Assessment needs: for each
protected characteristic (sex, ethnicity, age band, ...) and each of its
levels, the rate with a Wilson 95% CI, and the ratio to the reference level
with a 95% CI (Katz log method), plus a total row per measure.

Measures (each a bool / 0-1 column; rows where it is missing are left out of
that measure's denominator and counted in ``excluded``):

* ``enrolment``: enrolled / all eligible rows.
* ``outcome``: outcome achieved / enrolled rows (all rows when ``enrolled`` is
  None).
* ``payment``: payment made / enrolled rows.

Disclosure control
------------------
A cell is a (measure, group, level); a suppressed cell shows neither its count,
its denominator, its rate, CI nor ratio.

1. **Primary**: suppressed when its count, its complement (denominator minus
   count) or its denominator is under ``min_cell`` (default 10): the rate and
   denominator together would reveal all three.
2. **Linked**: the enrolment count of a level is the denominator of its outcome
   and payment rates, so a suppressed enrolment cell suppresses those too.
3. **Secondary (complementary)**: the levels of a group add up to the total
   row; if exactly one of them (total included) is hidden it could be
   recovered by subtraction, so the visible level with the smallest count is
   hidden as well (or the total, if no level is left). Steps 2-3 repeat until
   nothing changes (a hidden total can require a second cell in another group).
4. **Ratios**: a ratio divides by the reference level's rate, so when the
   reference is hidden no ratio in that group is shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from ground.checks import (
    InstanceOf,
    Interval,
    Options,
    check_parameter,
    column_names,
    parameter_error,
    require_columns,
    shorten,
)
from ground.errors import SchemaError
from ground.tables import check_known_columns
from validation.gaming import flag_values

MIN_CELL = 10
TOTAL = "all"
# Age bands of the published MoJ proven-reoffending tables' adult breakdown,
# with 18-24 kept whole as the "young adults" segment.
AGE_BANDS = ((18, 24), (25, 34), (35, 49), (50, 200))
VALUE_COLUMNS = ["n", "x", "rate", "ci_low", "ci_high", "ratio", "ratio_ci_low", "ratio_ci_high"]


def age_band(age: pd.Series) -> pd.Series:
    """Age bands 18-24, 25-34, 35-49, 50+ (ages under 18 get NaN)."""
    labels = [f"{lo}-{hi}" if hi < 200 else f"{lo}+" for lo, hi in AGE_BANDS]
    edges = [AGE_BANDS[0][0] - 0.5] + [hi + 0.5 for _, hi in AGE_BANDS]
    return pd.cut(age.astype(float), edges, labels=labels)


@dataclass(frozen=True)
class EqualityTable:
    """Rates by protected group with suppression applied.

    Attributes
    ----------
    table : DataFrame
        One row per measure, group and level (plus ``group == "all"`` totals):
        measure, group, level, reference (bool), n, x, rate, ci_low, ci_high,
        ratio, ratio_ci_low, ratio_ci_high, suppressed (bool), reason. Hidden
        values are NaN.
    reference : dict
        group -> reference level.
    min_cell : int
    excluded : dict
        measure -> rows left out of its denominator because the value was missing.
    """

    table: pd.DataFrame = field(repr=False)
    reference: dict[str, str]
    min_cell: int
    excluded: dict[str, int]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "min_cell": self.min_cell,
            "excluded": self.excluded,
            "table": self.table.astype(object).where(self.table.notna(), None).to_dict(orient="records"),
        }

    def summary(self) -> str:
        shown = self.table.copy()
        for col in ("rate", "ci_low", "ci_high"):
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else f"{100 * v:.1f}%")
        for col in ("ratio", "ratio_ci_low", "ratio_ci_high"):
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
        for col in ("n", "x"):
            shown[col] = shown[col].map(lambda v: "*" if pd.isna(v) else f"{int(v)}")
        lines = [
            f"Equality impact by {', '.join(self.reference)} (reference levels: "
            + ", ".join(f"{g}={lv}" for g, lv in self.reference.items())
            + ")",
            f"* suppressed: a count, complement or denominator under {self.min_cell}, "
            "or hidden so a suppressed value cannot be recovered from a total.",
        ]
        if any(self.excluded.values()):
            lines.append("Missing values left out: " + ", ".join(f"{m} {k}" for m, k in self.excluded.items() if k))
        lines += ["", shown.drop(columns=["suppressed"]).to_string(index=False)]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, measure: str = "enrolment", ax=None):
        """Ratios to the reference level with 95% CIs (suppressed cells omitted)."""
        import matplotlib.pyplot as plt

        d = self.table[
            (self.table["measure"] == measure) & (self.table["group"] != TOTAL) & self.table["ratio"].notna()
        ]
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.3 * len(d) + 1.5))
        ypos = np.arange(len(d))[::-1]
        err = np.vstack([d["ratio"] - d["ratio_ci_low"], d["ratio_ci_high"] - d["ratio"]])
        ax.errorbar(d["ratio"], ypos, xerr=err, fmt="o", capsize=2)
        ax.axvline(1.0, color="grey", lw=1)
        ax.set_yticks(ypos, [f"{g}: {lv}" for g, lv in zip(d["group"], d["level"])])
        ax.set_xscale("log")
        ax.set_xlabel(f"{measure} rate ratio to reference (95% CI)")
        return ax


def equality(
    people: pd.DataFrame,
    groups: Sequence[str] = ("sex", "ethnicity", "age_band"),
    *,
    enrolled: str | None = "enrolled",
    outcome: str | None = None,
    payment: str | None = None,
    reference: Mapping[str, str] | None = None,
    min_cell: int = MIN_CELL,
    age: str = "age",
) -> EqualityTable:
    """Enrolment, outcome and payment rates by protected group.

    Parameters
    ----------
    people : DataFrame
        One row per eligible person (or per enrolled person with
        ``enrolled=None``).
    groups : sequence of str, default ("sex", "ethnicity", "age_band")
        Columns to break down by. ``"age_band"`` is derived from ``age`` (bands
        18-24, 25-34, 35-49, 50+) when there is no such column.
    enrolled, outcome, payment : str or None
        Bool/0-1 columns; a measure whose column is None is left out.
    reference : mapping, optional
        group -> reference level; default: each group's largest level.
    min_cell : int, default 10
        Suppression threshold (see the module docstring for the rules).
    age : str, default "age"

    Returns
    -------
    EqualityTable

    Examples
    --------
    >>> eq = equality(world.eligible, outcome=None)  # doctest: +SKIP
    >>> print(eq.summary())  # doctest: +SKIP
    """
    caller = "equality"
    given = {"enrolment": enrolled, "outcome": outcome, "payment": payment}
    measures = {m: c for m, c in given.items() if c is not None}
    if not measures:
        raise parameter_error("enrolled", caller, "a column name when 'outcome' and 'payment' are None", None)
    for name, value in (("enrolled", enrolled), ("outcome", outcome), ("payment", payment), ("age", age)):
        check_parameter(value, name, caller, Options(None), InstanceOf(str, "a column name"))
    check_parameter(min_cell, "min_cell", caller, Interval(int, 1, None))
    groups = column_names(groups, "groups", caller)
    require_columns(people, [], table="people")
    # The columns the eligible schema knows (sex, ethnicity, age, enrolled) are read as the command line reads them.
    people = check_known_columns(people, "eligible", [*groups, age, *measures.values()], missing=True)
    frame = people
    if "age_band" in groups and "age_band" not in people.columns and age in people.columns:
        frame = people.assign(age_band=age_band(people[age]))
    require_columns(
        frame,
        {f"groups[{i}]": g for i, g in enumerate(groups)} | ({"enrolled": enrolled} if enrolled else {}),
        table="people",
        complete=True,
    )
    missing = {m: col for m, col in measures.items() if col not in frame.columns}
    if missing:
        raise SchemaError(
            f"{caller}: columns not in the people table: "
            + ", ".join(f"{col!r} ({m})" for m, col in missing.items())
            + f"; columns: {list(frame.columns)}",
            table="people",
        )
    flags = {m: flag_values(frame, col, m, "people", caller) for m, col in measures.items()}
    base = flags["enrolment"] == 1 if enrolled else np.ones(len(frame), dtype=bool)
    cells, excluded = [], {}
    for m, values in flags.items():
        eligible = base if m != "enrolment" else np.ones(len(frame), dtype=bool)
        in_denominator = ~np.isnan(values) & eligible
        excluded[m] = int((np.isnan(values) & eligible).sum())
        x = np.nan_to_num(values) * in_denominator
        cells.append(_cells(frame, groups, m, x, in_denominator))
    table = pd.concat(cells, ignore_index=True)
    ref = {g: _reference(frame, g, reference) for g in groups}
    table["reference"] = [ref.get(g) == lv for g, lv in zip(table["group"], table["level"])]
    table = _rates(table)
    table = _suppress(table, min_cell)
    cols = ["measure", "group", "level", "reference", *VALUE_COLUMNS, "suppressed", "reason"]
    return EqualityTable(table=table[cols], reference=ref, min_cell=min_cell, excluded=excluded)


def _reference(frame: pd.DataFrame, group: str, reference: Mapping[str, str] | None) -> str:
    counts = frame[group].astype(str).value_counts()
    if reference and group in reference:
        if str(reference[group]) not in counts.index:
            raise parameter_error(
                "reference", "equality", f"a level of {group!r} ({shorten(sorted(counts.index), 20)})",
                reference[group],
            )  # fmt: skip
        return str(reference[group])
    return str(counts.index[0])


def _cells(frame: pd.DataFrame, groups: list[str], measure: str, x: np.ndarray, n: np.ndarray) -> pd.DataFrame:
    parts = [pd.DataFrame({"measure": measure, "group": TOTAL, "level": TOTAL, "n": [n.sum()], "x": [x.sum()]})]
    for g in groups:
        key = frame[g].astype(str).to_numpy()
        agg = pd.DataFrame({"level": key, "n": n.astype(float), "x": x}).groupby("level").sum().reset_index()
        parts.append(agg.assign(measure=measure, group=g))
    return pd.concat(parts, ignore_index=True)


def _rates(table: pd.DataFrame) -> pd.DataFrame:
    n, x = table["n"].to_numpy(dtype=float), table["x"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = x / n
        lo, hi = proportion_confint(x, np.maximum(n, 1), alpha=0.05, method="wilson")
        key = table["measure"] + "\0" + table["group"]
        ref_rows = table[table["reference"]].assign(key=key[table["reference"]])
        ref_n = key.map(ref_rows.set_index("key")["n"]).to_numpy(dtype=float)
        ref_x = key.map(ref_rows.set_index("key")["x"]).to_numpy(dtype=float)
        ratio = rate / (ref_x / ref_n)
        se = np.sqrt(1 / x - 1 / n + 1 / ref_x - 1 / ref_n)
        # The reference level's ratio is 1 by definition, with no CI of its own.
        is_ref = table["reference"].to_numpy()
        ok = np.isfinite(se) & (x > 0) & (ref_x > 0) & ~is_ref
        ratio_lo, ratio_hi = ratio * np.exp(-1.96 * se), ratio * np.exp(1.96 * se)
    return table.assign(
        rate=rate,
        ci_low=np.where(n > 0, lo, np.nan),
        ci_high=np.where(n > 0, hi, np.nan),
        ratio=np.where(is_ref, 1.0, np.where(ok, ratio, np.nan)),
        ratio_ci_low=np.where(ok, ratio_lo, np.nan),
        ratio_ci_high=np.where(ok, ratio_hi, np.nan),
    )


def _suppress(table: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    n, x = table["n"].to_numpy(dtype=float), table["x"].to_numpy(dtype=float)
    reason = np.where(
        n < min_cell,
        f"denominator < {min_cell}",
        np.where(x < min_cell, f"count < {min_cell}", np.where(n - x < min_cell, f"complement < {min_cell}", "")),
    ).astype(object)
    hidden = reason != ""
    measure, group, level = (table[c].to_numpy() for c in ("measure", "group", "level"))
    changed = True
    while changed:
        changed = False
        # Linked: an enrolment count is the outcome/payment denominator.
        for i in np.flatnonzero(hidden & (measure == "enrolment")):
            linked = (measure != "enrolment") & (group == group[i]) & (level == level[i]) & ~hidden
            reason[linked], hidden[linked] = "linked to a suppressed enrolment count", True
            changed |= bool(linked.any())
        # Secondary: each group's levels plus the total must not hide exactly one cell.
        for m in np.unique(measure):
            total = np.flatnonzero((measure == m) & (group == TOTAL))
            for g in np.unique(group[(measure == m) & (group != TOTAL)]):
                members = np.concatenate([np.flatnonzero((measure == m) & (group == g)), total])
                if hidden[members].sum() != 1:
                    continue
                visible = members[~hidden[members]]
                levels = visible[visible != total[0]]
                pick = levels[np.lexsort((n[levels], x[levels]))[0]] if levels.size else total[0]
                reason[pick], hidden[pick] = "secondary: protects a suppressed cell in the same group", True
                changed = True
    out = table.assign(suppressed=hidden, reason=reason)
    out.loc[hidden, VALUE_COLUMNS] = np.nan
    # Ratios: without a visible reference rate, a ratio would reveal it.
    ref_hidden = out[out["reference"] & out["suppressed"]][["measure", "group"]]
    blank = out.set_index(["measure", "group"]).index.isin(pd.MultiIndex.from_frame(ref_hidden))
    out.loc[blank, ["ratio", "ratio_ci_low", "ratio_ci_high"]] = np.nan
    return out

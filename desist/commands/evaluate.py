"""``desist evaluate``: matched comparison of a programme cohort with a pool.

Fits the propensity model, matches (MatchIt's nearest-neighbour rules), prints
the sample sizes, the balance table before and after, and the effect on the
outcome with its CI. ``--out DIR`` writes ``balance.csv``, ``pairs.csv``,
``weights.csv``, ``effect.json`` and ``love_plot.png``.

The file is read by its suffix (CSV, Parquet, Excel) with
``ground.reading.read_frame``, without a schema: an evaluation file may be any
one-row-per-unit table, not one of the project's named tables. Covariates and
the outcome that hold numbers with a few stray words in them (age ``"abc"``)
are reported with their rows rather than matched as categories.

JSON (``--json``): the envelope of :mod:`desist.commands.common` with
``results``::

    {
      "counts": {"treated": {"all", "matched", "unmatched", "discarded"}, "control": {...}},
      "exclusions": [{"group", "reason", "n"}, ...],
      "options": {"ratio", "replace", "caliper", "std_caliper", "caliper_width", "link",
                  "order", "exact", "distance"},
      "balance": {"<covariate or level>": {"before_mean_treated", "before_mean_control",
                  "before_smd", "before_var_ratio", "before_ecdf_mean", "before_ecdf_max",
                  "after_...": same}},
      "effect": {"estimate", "se", "ci_low", "ci_high", "p_value", "n_treated", "n_control",
                 "method", "kind", "outcome", "scale", "mean_treated", "mean_control", "alpha",
                 "statement", ...}
    }
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import typer

from desist import format as numbers
from desist import terminal
from desist.commands.common import (
    check_numbers,
    data_map_option,
    emit,
    json_option,
    mapped_tables,
    out_option,
    output_folder,
    read_data,
    save_figure,
    split_columns,
    step,
    write_csv,
    write_json,
    written,
)
from desist.format import COLUMNS, Column, Table, count, humanise, interval
from desist.outputs import OutputFolder
from ground.checks import Options, check_parameter, outcome_not_covariate
from ground.errors import naming
from metrics.effects import check_effect_options
from metrics.matching import LINKS, match


def evaluate(
    ctx: typer.Context,
    data: Path = typer.Option(None, "--data", help="CSV, Parquet or Excel file, one row per unit."),
    data_map: Path = data_map_option(),
    treatment: str = typer.Option(..., "--treatment", help="0/1 column: 1 = in the programme."),
    covariates: str = typer.Option(..., "--covariates", help="Comma-separated covariates."),
    outcome: str = typer.Option(..., "--outcome", help="Outcome column (duration for --kind time)."),
    kind: str = typer.Option("mean", "--kind", help="mean, binary, count or time."),
    event: str = typer.Option(None, "--event", help="Event 0/1 column for --kind time."),
    ratio: int = typer.Option(1, "--ratio", min=1, help="Controls per treated unit."),
    replace: bool = typer.Option(False, "--replace/--no-replace", help="Match with replacement, or without."),
    caliper: float = typer.Option(None, "--caliper", help="Caliper in SDs of the distance."),
    link: str = typer.Option("logit", "--link", help="logit (probability) or linear_logit."),
    exact: str = typer.Option(None, "--exact", help="Comma-separated columns to match exactly."),
    as_json: bool = json_option(),
    out: Path = out_option("balance.csv, pairs.csv, weights.csv, effect.json and love_plot.png"),
) -> None:
    """Match programme participants to a comparison pool and estimate the effect.

    Examples:

        desist evaluate --data tests/data/lalonde.csv --treatment treat \\
            --covariates age,educ,race,married,nodegree,re74,re75 \\
            --outcome re78 --caliper 0.2

        desist evaluate --data cohort.parquet --treatment in_programme \\
            --covariates age,sex,ogrs_score --outcome reoffended \\
            --kind binary --ratio 3 --replace --json --out evaluation/
    """
    # option mistakes are reported before the (possibly long) matching runs
    check_effect_options(kind, event, "desist evaluate")
    check_parameter(link, "link", "desist evaluate", Options(*LINKS))
    data = mapped_tables(data_map, ("data",), data=data)["data"]
    columns = split_columns(covariates)
    outcome_not_covariate(outcome, columns, "desist evaluate")  # the library's check, before the long matching
    with output_folder(ctx, out) as folder:
        with step(f"Reading {data}", quiet=as_json):
            df = read_data(data, "data", option="--data")
        check_numbers(df, columns, data, "--data", numeric=(treatment, outcome) + ((event,) if event else ()))
        with naming(data, "--data"):
            with step(f"Matching in {len(df):,} rows of {data.name}", quiet=as_json):
                exactly = split_columns(exact) or None
                m = match(
                    df, treatment, columns, ratio=ratio, replace=replace, caliper=caliper, link=link, exact=exactly
                )
            with step(f"Estimating the effect on {outcome}", quiet=as_json):
                eff = m.effect(outcome, kind=kind, event=event)
        if folder is not None:
            _write_outputs(folder, m, eff)
    files = written(folder)
    if as_json:
        balance = flat_balance(m.balance()).to_dict(orient="index")
        emit(ctx, {**m.to_dict(), "balance": balance, "effect": eff.to_dict()}, files)
        return
    show_evaluation(m, eff, files)


def show_evaluation(m: Any, eff: Any, files: list[str]) -> None:
    """The matched comparison for people: who was matched, balance before and after, and the effect."""
    title, *how = m.summary().split("\n\n")[0].splitlines()
    terminal.heading(title, first=True)
    for line in how:
        terminal.paragraph(line.strip())
    counts = m.counts.rename_axis("who").reset_index()
    counts["who"] = [GROUP_WORDS.get(w, humanise(w)) for w in counts["who"]]
    who = {"who": Column("", "text"), "treated": COLUMNS["n_treated"], "control": Column("Comparison pool", "count")}
    terminal.table(Table(counts, who, "Sample sizes"))
    for row in m.exclusions.itertuples():
        if row.n:
            group = "programme group" if row.group == "treated" else "comparison pool"
            terminal.paragraph(f"Left out of the {group}: {count(row.n)} ({row.reason}).")
    if m.propensity is not None:
        for note in m.propensity.notes:
            terminal.paragraph(f"Propensity model: {note}")
    _show_balance(m)
    terminal.heading("Effect on the programme group (ATT)")
    terminal.table(effect_table({eff.kind: eff}), caption=False)
    terminal.paragraph(f"Method: {eff.method}.")
    terminal.files(files)


#: Rows of the sample sizes in words.
GROUP_WORDS = {"all": "Everyone", "matched": "Matched", "unmatched": "Not matched", "discarded": "Discarded"}


def _show_balance(m: Any) -> None:
    balance = m.balance(thresholds={"smd": 0.1})
    judged = balance.drop(index="distance", errors="ignore")
    off = [str(v) for v in judged.index[~judged[("after", "balanced")].to_numpy(dtype=bool)]]
    terminal.heading("Balance")
    terminal.paragraph(
        f"{len(judged) - len(off)} of {len(judged)} variables within a standardised mean difference of 0.1 after "
        f"matching{' (not: ' + ', '.join(off) + ')' if off else ''}. The SMD divides by the programme group's SD "
        "in the full sample; binary variables have no variance ratio."
    )
    flat = flat_balance(balance.drop(columns="balanced", level=1)).rename_axis("variable").reset_index()
    flat["variable"] = ["Propensity score" if v == "distance" else str(v) for v in flat["variable"]]
    columns = {
        "variable": Column("Variable", "text"),
        "before_smd": Column("SMD before", "number"),
        "after_smd": Column("SMD after", "number"),
        "after_mean_treated": Column("Mean, programme group", "number"),
        "after_mean_control": Column("Mean, matched comparison", "number"),
        "after_var_ratio": Column("Variance ratio after", "ratio"),
    }
    terminal.table(Table(flat, columns), caption=False)


#: The scale of each effect in words, by ``Effect.scale``; ``{outcome}`` is the outcome's name.
SCALE_WORDS = {
    "risk ratio": "Risk ratio of {outcome} (1 = no change)",
    "odds ratio": "Odds ratio of {outcome} (1 = no change)",
    "rate ratio": "Rate ratio of {outcome} (1 = no change)",
    "hazard ratio": "Hazard ratio of {outcome} (1 = no change)",
}


def effect_scale(effect: Any) -> tuple[str, str]:
    """An effect's scale in words and the kind its numbers are written as (``desist.format`` kinds).

    A difference in a 0/1 outcome is in percentage points of people; a
    difference in means is in the outcome's own units; a ratio is a ratio.
    """
    if effect.scale == "difference":
        if effect.kind == "binary":
            return f"Difference in the {effect.outcome} rate (percentage points)", "points"
        return f"Difference in mean {effect.outcome}", "number"
    return SCALE_WORDS.get(effect.scale, f"{effect.scale.capitalize()} of {{outcome}}").format(
        outcome=effect.outcome
    ), "ratio"


def effect_table(effects: Mapping[str, Any], truths: Mapping[str, float | None] | None = None) -> Table:
    """Each effect on its scale in words: estimate with its 95% CI, p-value, n, and the true effect when known."""
    truths = {k: v for k, v in (truths or {}).items() if v is not None}
    rows = []
    for name, e in effects.items():
        scale, kind = effect_scale(e)
        rows.append(
            {
                "scale": scale,
                "estimate": interval(e.estimate, e.ci_low, e.ci_high, kind),
                "truth": numbers.value(truths[name], kind) if name in truths else "",
                "p_value": e.p_value,
                "n_treated": e.n_treated,
                "n_control": e.n_control,
            }
        )
    columns = {
        "scale": Column("Effect, on its scale", "text"),
        "estimate": Column("Estimate (95% CI)", "text"),
        **({"truth": Column("True effect", "text")} if truths else {}),
        "p_value": COLUMNS["p_value"],
        "n_treated": COLUMNS["n_treated"],
        "n_control": COLUMNS["n_control"],
    }
    return Table(
        pd.DataFrame(rows), columns, "Effect of the programme (programme group against its matched comparison)"
    )


def flat_balance(balance: pd.DataFrame) -> pd.DataFrame:
    """The balance table with one level of columns: ``before_smd``, ``after_smd``, ..."""
    flat = balance.copy()
    flat.columns = [f"{s}_{k}" for s, k in flat.columns]
    return flat


def _write_outputs(folder: OutputFolder, m, eff) -> None:
    write_csv(flat_balance(m.balance()), folder, "balance.csv")
    write_csv(m.pairs, folder, "pairs.csv", index=False)
    write_csv(m.weights.to_frame(), folder, "weights.csv")
    write_json(eff.to_dict(), folder, "effect.json")
    save_figure(m.plot_balance(), folder, "love_plot", ("png",))


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)

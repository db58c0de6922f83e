"""``desist evaluate``: matched comparison of a programme cohort with a pool.

Fits the propensity model, matches (MatchIt's nearest-neighbour rules), prints
the sample sizes, the balance table before and after, and the effect on the
outcome with its CI. ``--out DIR`` writes ``balance.csv``, ``pairs.csv``,
``weights.csv``, ``effect.json`` and ``love_plot.png``.

The file is read by its suffix (CSV, Parquet, Excel) with
``desist.io.read_frame``, without a schema: an evaluation file may be any
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
                 "method", "kind", "outcome", "scale", "mean_treated", "mean_control", "level",
                 "statement", ...}
    }
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from desist.commands.common import (
    check_numbers,
    emit,
    json_option,
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
from desist.outputs import OutputFolder
from ground.errors import ParameterError, naming
from metrics import match
from metrics.effects import KINDS


def evaluate(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", help="CSV, Parquet or Excel file, one row per unit."),
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
    for option, value, allowed in (("kind", kind, KINDS), ("link", link, ("logit", "linear_logit"))):
        if value not in allowed:
            raise ParameterError(
                f"--{option} must be one of {', '.join(allowed)}. Got {value!r} instead.", parameter=option
            )
    if kind == "time" and event is None:
        raise ParameterError(
            "--kind time needs --event: the 0/1 column saying whether the event "
            "happened (0 = censored at the --outcome duration).",
            parameter="event",
        )
    with output_folder(ctx, out) as folder:
        with step(f"Reading {data.name}", quiet=as_json):
            df = read_data(data, "data", option="--data")
        columns = split_columns(covariates)
        check_numbers(df, columns, data, "--data", numeric=(treatment, outcome) + ((event,) if event else ()))
        with naming(data, "--data"):
            with step(f"Matching in {len(df):,} rows of {data.name}", quiet=as_json):
                m = match(
                    df,
                    treatment,
                    columns,
                    ratio=ratio,
                    replace=replace,
                    caliper=caliper,
                    link=link,
                    exact=split_columns(exact) or None,
                )
            with step(f"Estimating the effect on {outcome}", quiet=as_json):
                eff = m.effect(outcome, kind=kind, event=event)
        balance = flat_balance(m.balance())
        if folder is not None:
            _write_outputs(folder, m, balance, eff)
    files = written(folder)
    if as_json:
        emit(ctx, {**m.to_dict(), "balance": balance.to_dict(orient="index"), "effect": eff.to_dict()}, files)
        return
    typer.echo(m.summary())
    typer.echo("")
    typer.echo("Effect on the treated (ATT):")
    typer.echo("  " + eff.statement())
    typer.echo(f"  method: {eff.method}")
    if files:
        typer.echo(f"\nWrote {', '.join(Path(f).name for f in files)} in {out}")


def flat_balance(balance: pd.DataFrame) -> pd.DataFrame:
    """The balance table with one level of columns: ``before_smd``, ``after_smd``, ..."""
    flat = balance.copy()
    flat.columns = [f"{s}_{k}" for s, k in flat.columns]
    return flat


def _write_outputs(folder: OutputFolder, m, balance: pd.DataFrame, eff) -> None:
    write_csv(balance, folder, "balance.csv")
    write_csv(m.pairs, folder, "pairs.csv", index=False)
    write_csv(m.weights.to_frame(), folder, "weights.csv")
    write_json(eff.to_dict(), folder, "effect.json")
    save_figure(m.plot_balance(), folder, "love_plot", ("png",))


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)

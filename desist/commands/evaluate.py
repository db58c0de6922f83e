"""``desist evaluate``: matched comparison of a programme cohort with a pool.

Fits the propensity model, matches (MatchIt's nearest-neighbour rules), prints
the sample sizes, the balance table before and after, and the effect on the
outcome with its CI. ``--json`` prints the same as data; ``--out DIR`` writes
``balance.csv``, ``pairs.csv``, ``weights.csv``, ``effect.json`` and
``love_plot.png``.

The file is read by its suffix (CSV, Parquet, Excel) with
``desist.io.read_frame``, without a schema: an evaluation file may be any
one-row-per-unit table, not one of the project's named tables.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import typer

from desist.io import read_frame
from metrics import match
from metrics.effects import KINDS
from validation.errors import ModelError

def _columns(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def evaluate(
    data: Path = typer.Option(..., "--data", help="CSV, Parquet or Excel file, one row per unit."),
    treatment: str = typer.Option(..., "--treatment", help="0/1 column: 1 = in the programme."),
    covariates: str = typer.Option(..., "--covariates", help="Comma-separated covariates."),
    outcome: str = typer.Option(..., "--outcome", help="Outcome column (duration for --kind time)."),
    kind: str = typer.Option("mean", "--kind", help="mean, binary, count or time."),
    event: str = typer.Option(None, "--event", help="Event 0/1 column for --kind time."),
    ratio: int = typer.Option(1, "--ratio", min=1, help="Controls per treated unit."),
    replace: bool = typer.Option(False, "--replace", help="Match with replacement."),
    caliper: float = typer.Option(None, "--caliper", help="Caliper in SDs of the distance."),
    link: str = typer.Option("logit", "--link", help="logit (probability) or linear_logit."),
    exact: str = typer.Option(None, "--exact", help="Comma-separated columns to match exactly."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    out: Path = typer.Option(None, "--out", help="Directory for CSV/JSON/PNG outputs."),
) -> None:
    """Match programme participants to a comparison pool and estimate the effect.

    Examples:

        desist evaluate --data lalonde.csv --treatment treat \\
            --covariates age,educ,race,married,nodegree,re74,re75 --outcome re78 --caliper 0.2

        desist evaluate --data cohort.parquet --treatment in_programme --covariates age,sex,ogrs_score \\
            --outcome reoffended --kind binary --ratio 3 --replace --json
    """
    # option mistakes are reported before the (possibly long) matching runs
    if kind not in KINDS:
        raise ModelError(f"--kind must be one of {', '.join(KINDS)}. Got {kind!r} instead.")
    if kind == "time" and event is None:
        raise ModelError("--kind time needs --event: the 0/1 column saying whether the event "
                         "happened (0 = censored at the --outcome duration).")
    df = read_frame(data)
    m = match(df, treatment, _columns(covariates), ratio=ratio, replace=replace, caliper=caliper,
              link=link, exact=_columns(exact) or None)
    eff = m.effect(outcome, kind=kind, event=event)
    balance = m.balance()
    if out is not None:
        _write_outputs(out, m, balance, eff)
    if as_json:
        flat = balance.copy()
        flat.columns = [f"{s}_{k}" for s, k in flat.columns]
        typer.echo(json.dumps({
            "counts": m.counts.to_dict(),
            "exclusions": m.exclusions.to_dict(orient="records"),
            "options": m.options,
            "balance": json.loads(flat.to_json(orient="index")),
            "effect": eff.to_dict(),
        }, indent=2, default=_plain))
        return
    typer.echo(m.summary())
    typer.echo("")
    typer.echo("Effect on the treated (ATT):")
    typer.echo("  " + eff.statement())
    typer.echo(f"  method: {eff.method}")


def _plain(value):
    return value.item() if hasattr(value, "item") else str(value)


def _write_outputs(out: Path, m, balance: pd.DataFrame, eff) -> None:
    import matplotlib

    matplotlib.use("Agg")
    out.mkdir(parents=True, exist_ok=True)
    flat = balance.copy()
    flat.columns = [f"{s}_{k}" for s, k in flat.columns]
    flat.to_csv(out / "balance.csv")
    m.pairs.to_csv(out / "pairs.csv", index=False)
    m.weights.to_frame().to_csv(out / "weights.csv")
    (out / "effect.json").write_text(json.dumps(eff.to_dict(), indent=2, default=_plain))
    ax = m.plot_balance()
    ax.figure.savefig(out / "love_plot.png", dpi=120, bbox_inches="tight")


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)

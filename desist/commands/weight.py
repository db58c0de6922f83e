"""``desist weight``: rake a table's weights to population margins.

The margins file is TOML: one ``[margins.<column>]`` table per margin, level =
target (counts, or shares summing to 1), and optionally a top-level ``total``
(the population that shares are scaled to) and ``weights`` (a column of base
weights)::

    total = 500000
    weights = "base_weight"

    [margins.sex]
    female = 0.15
    male = 0.85

    [margins.age_band]
    "18-24" = 0.25
    "25-49" = 0.55
    "50+" = 0.20

The data file is read by its suffix (CSV, Parquet, Excel) without a schema:
raking works on any columns. ``--out DIR`` writes ``weights.csv`` (the id
column or ``row``, and ``weight``), ``margins.csv`` and ``weighting.json``.

JSON (``--json``): the envelope of :mod:`desist.commands.common` with
``results`` = ``cohorts.weights.WeightingResult.to_dict()`` plus the weights::

    {
      "method": "rake", "n", "total", "ess", "design_effect", "max_weight", "min_weight",
      "iterations", "converged", "details": {...},
      "margins": [{"margin", "level", "target", "before", "after", ...}, ...],
      "weights": [w_0, w_1, ...],     # one per data row, in file order
      "ids": [...]                    # with --id: that column, in the same order
    }
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from cohorts.weights import WeightingResult, margins_from_toml, rake
from desist.commands.common import emit, json_option, out_option, output_dir, read_data, write_json
from ground.errors import SpecError, naming


def weight(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", help="Table to weight (CSV, Parquet or Excel)."),
    margins: Path = typer.Option(
        ..., "--margins", help="Margins file (TOML): a margins.<column> table of level = target per column."
    ),
    weights_column: str = typer.Option(None, "--weights", help="Column of base weights (overrides the file's)."),
    total: float = typer.Option(None, "--total", help="Population total for share targets (overrides the file's)."),
    tol: float = typer.Option(1e-10, "--tol", help="Convergence tolerance (survey::rake's epsilon)."),
    max_iter: int = typer.Option(1000, "--max-iter", help="Maximum raking passes."),
    id_column: str = typer.Option(None, "--id", help="Column to write next to each weight (default: row number)."),
    out: Path = out_option("weights.csv, margins.csv and weighting.json"),
    as_json: bool = json_option(),
) -> None:
    """Rake weights to population margins and print the margins before and after.

    Examples:

        desist weight --data examples/data/people.csv \\
            --margins examples/margins.toml --id person_id

        desist weight --data sample.parquet --margins margins.toml \\
            --id person_id --out weights/ --json
    """
    spec = margins_from_toml(margins)
    table = read_data(data, "data", option="--data")
    base_column = weights_column or spec["weights"]
    if base_column is not None and base_column not in table.columns:
        raise SpecError(
            f"Base-weight column {base_column!r} is not in {data}. Columns: {list(table.columns)}.", key="weights"
        )
    if id_column is not None and id_column not in table.columns:
        raise SpecError(f"--id column {id_column!r} is not in {data}. Columns: {list(table.columns)}.", key="id")
    with naming(data, "--data"):
        result = rake(
            table,
            spec["margins"],
            weights=None if base_column is None else table[base_column],
            total=total if total is not None else spec["total"],
            tol=tol,
            max_iter=max_iter,
        )
    files = write_outputs(result, table, out, id_column) if out is not None else []
    if as_json:
        ids = {"ids": table[id_column].tolist()} if id_column else {}
        emit(ctx, {**result.to_dict(), "weights": result.weights.tolist(), **ids}, files)
    else:
        typer.echo(result.summary())
        if out is not None:
            typer.echo(f"\nWrote weights.csv, margins.csv and weighting.json in {out.resolve()}")


def write_outputs(result: WeightingResult, table: pd.DataFrame, out: Path, id_column: str | None) -> list[str]:
    output_dir(out)
    ids = table[id_column] if id_column else pd.Series(range(len(table)), index=table.index, name="row")
    pd.DataFrame({ids.name: ids.to_numpy(), "weight": result.weights.to_numpy()}).to_csv(
        out / "weights.csv", index=False, float_format="%.17g"
    )
    result.margins.to_csv(out / "margins.csv", index=False)
    return [str(out / "weights.csv"), str(out / "margins.csv"), write_json(result.to_dict(), out / "weighting.json")]


def register(app: typer.Typer) -> None:
    app.command("weight")(weight)

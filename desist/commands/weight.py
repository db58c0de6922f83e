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
from desist import terminal
from desist.commands.common import (
    data_map_option,
    emit,
    json_option,
    mapped_tables,
    out_option,
    output_folder,
    read_data,
    step,
    write_csv,
    write_json,
    written,
)
from desist.format import COLUMNS, Column, Table, yes_no
from desist.outputs import OutputFolder
from ground.checks import require_columns
from ground.errors import DesistError, ParameterError, naming
from ground.words import count, number


def weight(
    ctx: typer.Context,
    data: Path = typer.Option(None, "--data", help="Table to weight (CSV, Parquet or Excel)."),
    data_map: Path = data_map_option(),
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
    data = mapped_tables(data_map, ("data",), data=data)["data"]
    with output_folder(ctx, out) as folder:
        spec = margins_from_toml(margins)
        table = read_data(data, "data", option="--data")
        base_column = weights_column or spec["weights"]
        named = {"--weights": base_column, "--id": id_column}
        with naming(data, "--data"):
            require_columns(table, {k: v for k, v in named.items() if v is not None}, table="data")
        with step(f"Raking {len(table):,} rows of {data} to the margins", quiet=as_json):
            result = rake_files(table, spec, data, margins, base_column, total, tol, max_iter)
        if folder is not None:
            write_outputs(result, table, folder, id_column)
    files = written(folder)
    if as_json:
        ids = {"ids": table[id_column].tolist()} if id_column else {}
        emit(ctx, {**result.to_dict(), "weights": result.weights.tolist(), **ids}, files)
    else:
        show_weights(result, files)


def show_weights(result: WeightingResult, files: list[str]) -> None:
    """The weights' size and spread, then each margin's target, before and after, in words and as shares."""
    figures = result.to_dict()
    terminal.heading(f"Weights ({result.method})", first=True)
    terminal.facts(
        {
            "People": count(figures["n"]),
            "Population total": number(figures["total"]),
            "Effective sample size (Kish)": number(figures["ess"]),
            "Design effect": number(figures["design_effect"]),
            "Largest and smallest weight": f"{number(figures['max_weight'])} and {number(figures['min_weight'])}",
            "Converged": f"{yes_no(figures['converged'])}, after {count(figures['iterations'])} passes",
        }
    )
    columns = {
        "margin": Column("Margin", "text"),
        "level": Column("Level", "text"),
        "n": COLUMNS["people"],
        "share_target": Column("Target share", "percent"),
        "share_before": Column("Share before", "percent"),
        "share_after": Column("Share after", "percent"),
        "target": Column("Target", "number"),
        "after": Column("Weighted total after", "number"),
    }
    terminal.table(Table(result.margins, columns, "Margins before and after raking", n_columns=("n",)))
    terminal.files(files)


def rake_files(
    table: pd.DataFrame,
    spec: dict,
    data: Path,
    margins: Path,
    base_column: str | None,
    total: float | None,
    tol: float,
    max_iter: int,
) -> WeightingResult:
    """Rake, naming the file to blame: the margins file for its targets, the data file for its rows."""
    try:
        return rake(
            table,
            spec["margins"],
            weights=None if base_column is None else table[base_column],
            total=total if total is not None else spec["total"],
            tol=tol,
            max_iter=max_iter,
        )
    except ParameterError as exc:
        blamed = {
            "margins": f"{margins} (--margins)",
            "total": "--total" if total is not None else f"{margins} (--margins)",
            "weights": f"{data} (--data, base weights)",
        }.get(exc.parameter, "")
        exc.args = (f"{blamed}: {exc}" if blamed else str(exc),)
        raise
    except DesistError as exc:
        with naming(data, "--data"):
            raise exc from None


def write_outputs(result: WeightingResult, table: pd.DataFrame, folder: OutputFolder, id_column: str | None) -> None:
    ids = table[id_column] if id_column else pd.Series(range(1, len(table) + 1), index=table.index, name="row")
    frame = pd.DataFrame({ids.name: ids.to_numpy(), "weight": result.weights.to_numpy()})
    write_csv(frame, folder, "weights.csv", index=False, float_format="%.17g")
    write_csv(result.margins, folder, "margins.csv", index=False)
    write_json(result.to_dict(), folder, "weighting.json")


def register(app: typer.Typer) -> None:
    app.command("weight")(weight)

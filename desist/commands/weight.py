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
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import typer

from cohorts.weights import WeightingResult, margins_from_toml, rake
from validation.errors import SchemaError, SpecError

_READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet,
            ".xlsx": pd.read_excel, ".xlsm": pd.read_excel}


def read_data(path: Path) -> pd.DataFrame:
    """Read any table by its suffix (no schema: raking works on any columns)."""
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise SchemaError(f"{path}: unknown file type {path.suffix or '(no suffix)'!r}; desist reads "
                          f"{', '.join(_READERS)}.", table="data", source=str(path))
    try:
        return reader(path)
    except (OSError, ValueError) as exc:
        raise SchemaError(f"{path}: cannot read: {exc}", table="data", source=str(path)) from exc


def weight(
    data: Path = typer.Option(..., "--data", help="Table to weight (CSV, Parquet or Excel)."),
    margins: Path = typer.Option(..., "--margins", help="Margins file (TOML): [margins.<column>] level = target."),
    weights_column: str = typer.Option(None, "--weights", help="Column of base weights (overrides the file's)."),
    total: float = typer.Option(None, "--total", help="Population total for share targets (overrides the file's)."),
    tol: float = typer.Option(1e-10, "--tol", help="Convergence tolerance (survey::rake's epsilon)."),
    max_iter: int = typer.Option(1000, "--max-iter", help="Maximum raking passes."),
    id_column: str = typer.Option(None, "--id", help="Column to write next to each weight (default: row number)."),
    out: Path = typer.Option(None, "--out", help="Folder for weights.csv, margins.csv and weighting.json."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Rake weights to population margins and print the margins before and after.

    Examples:

        desist weight --data sample.csv --margins margins.toml

        desist weight --data sample.parquet --margins margins.toml --id person_id --out weights/ --json
    """
    spec = margins_from_toml(margins)
    table = read_data(data)
    base_column = weights_column or spec["weights"]
    if base_column is not None and base_column not in table.columns:
        raise SpecError(f"Base-weight column {base_column!r} is not in {data}. Columns: {list(table.columns)}.",
                        key="weights")
    if id_column is not None and id_column not in table.columns:
        raise SpecError(f"--id column {id_column!r} is not in {data}. Columns: {list(table.columns)}.", key="id")
    result = rake(
        table, spec["margins"],
        weights=None if base_column is None else table[base_column],
        total=total if total is not None else spec["total"],
        tol=tol, max_iter=max_iter,
    )
    if out is not None:
        write_outputs(result, table, out, id_column)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        typer.echo(result.summary())
        if out is not None:
            typer.echo(f"\nWrote weights.csv, margins.csv and weighting.json in {out.resolve()}")


def write_outputs(result: WeightingResult, table: pd.DataFrame, out: Path, id_column: str | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    ids = table[id_column] if id_column else pd.Series(range(len(table)), index=table.index, name="row")
    pd.DataFrame({ids.name: ids.to_numpy(), "weight": result.weights.to_numpy()}).to_csv(
        out / "weights.csv", index=False, float_format="%.17g")
    result.margins.to_csv(out / "margins.csv", index=False)
    (out / "weighting.json").write_text(json.dumps(result.to_dict(), indent=2), encoding="utf-8")


def register(app: typer.Typer) -> None:
    app.command("weight")(weight)

"""Checks on the input tables that every outcomes function shares.

The full table schemas live in ``validation.schemas``; these are the few
checks the outcome calculations cannot run without, with the same error
wording (table, column, rule, rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from validation.errors import SchemaError


def require_columns(df: pd.DataFrame, table: str, columns: tuple[str, ...]) -> None:
    """Raise SchemaError naming every required column that ``df`` lacks."""
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"The '{table}' table must be a pandas DataFrame. Got {type(df).__name__} instead.", table=table)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaError(
            f"The '{table}' table must have the columns {', '.join(columns)}. "
            f"Missing: {', '.join(missing)} (it has {', '.join(map(str, df.columns))}).",
            table=table,
        )


def as_dates(values: pd.Series, table: str, column: str) -> pd.Series:
    """The column as datetime64; unparseable values raise with their rows.

    Missing values (NaT/None) are kept as NaT: each caller decides what a
    missing date means and counts it.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    parsed = pd.to_datetime(values, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy() & values.notna().to_numpy())
    if bad.size:
        shown = ", ".join(f"row {r}: {values.iloc[r]!r}" for r in bad[:10])
        raise SchemaError(
            f"The '{column}' column of the '{table}' table must hold dates. "
            f"{bad.size} value(s) are not dates ({shown}{', ...' if bad.size > 10 else ''}).",
            table=table,
        )
    return parsed


def unique_people(people: pd.DataFrame, table: str = "people") -> None:
    """Raise SchemaError when a person_id appears more than once."""
    dup = people["person_id"].duplicated(keep=False).to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)
        shown = ", ".join(f"row {r}: {people['person_id'].iloc[r]!r}" for r in rows[:10])
        raise SchemaError(
            f"The 'person_id' column of the '{table}' table must be unique (one row per person). "
            f"{rows.size} rows share an id ({shown}{', ...' if rows.size > 10 else ''}).",
            table=table,
        )

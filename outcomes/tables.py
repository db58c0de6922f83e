"""Checks on the input tables that every outcomes function shares.

The full table schemas live in ``ground.tables``; these are the few
checks the outcome calculations cannot run without, with the same error
wording (table, column, rule, rows counted from 1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ground.checks import rows_text
from ground.errors import SchemaError


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
        shown = rows_text(bad, values.iloc[bad].tolist())
        raise SchemaError(
            f"The '{column}' column of the '{table}' table must hold dates. "
            f"{bad.size} value(s) are not dates: {shown}.",
            table=table,
        )
    return parsed


def unique_people(people: pd.DataFrame, table: str = "people") -> None:
    """Raise SchemaError when a person_id appears more than once."""
    dup = people["person_id"].duplicated(keep=False).to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)
        shown = rows_text(rows, people["person_id"].iloc[rows].tolist())
        raise SchemaError(
            f"The 'person_id' column of the '{table}' table must be unique (one row per person). "
            f"{rows.size} rows share an id: {shown}.",
            table=table,
        )

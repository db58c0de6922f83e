"""Checks on the input tables that every outcomes function shares.

The full table schemas live in ``ground.tables``; these are the few
checks the outcome calculations cannot run without, with the same error
wording (table, column, rule, rows counted from 1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ground.checks import rows_text
from ground.dates import parse_dates
from ground.errors import SchemaError


def as_dates(values: pd.Series, table: str, column: str) -> pd.Series:
    """The column as datetime64, read as the table schemas read dates; other values raise with their rows.

    ISO dates (``YYYY-MM-DD``) and datetime values are dates; timezone-aware
    values keep their local date and time (:func:`ground.dates.parse_dates`).
    Missing values (NaT/None) are kept as NaT: each caller decides what a
    missing date means and counts it.

    Parameters
    ----------
    values : pandas.Series
        The column.
    table, column : str
        Named in the error.

    Examples
    --------
    >>> as_dates(pd.Series(["2024-01-05", None]), "people", "start_date").tolist()
    [Timestamp('2024-01-05 00:00:00'), NaT]
    >>> as_dates(pd.Series(["2024-01-05", "05/01/2024"]), "people", "start_date")
    Traceback (most recent call last):
    ...
    ground.errors.SchemaError: The 'start_date' column of the 'people' table must hold dates: ... row 2 ('05/01/2024').
    """
    parsed, bad, rule = parse_dates(values)
    bad = np.flatnonzero(bad)
    if bad.size:
        shown = rows_text(bad, values.iloc[bad].tolist())
        raise SchemaError(
            f"The '{column}' column of the '{table}' table must hold dates: {rule}. "
            f"{bad.size} value(s) are not (data rows counted from 1): {shown}.",
            table=table,
        )
    return pd.Series(parsed.to_numpy(), index=values.index, name=values.name)


def unique_people(people: pd.DataFrame, table: str = "people") -> None:
    """Raise SchemaError when a person_id appears more than once.

    Parameters
    ----------
    people : pandas.DataFrame
        With a ``person_id`` column; ids compare as text.
    table : str
        Named in the error.

    Examples
    --------
    >>> unique_people(pd.DataFrame({"person_id": [7, "7", 8]}))
    Traceback (most recent call last):
    ...
    ground.errors.SchemaError: The 'person_id' column of the 'people' table must be unique ... row 2 ('7').
    """
    # ids compare as text, as every table's schema reads them: 7 and "7" are one person
    dup = people["person_id"].astype("str").duplicated(keep=False).to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)
        shown = rows_text(rows, people["person_id"].iloc[rows].tolist())
        raise SchemaError(
            f"The 'person_id' column of the '{table}' table must be unique (one row per person). "
            f"{rows.size} rows share an id: {shown}.",
            table=table,
        )
